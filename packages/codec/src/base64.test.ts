import fc from 'fast-check';
import { base64Decode, base64Encode } from './base64.js';

const FC = { seed: 42, numRuns: Number(process.env.FC_RUNS ?? 100) };
const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

describe('base64 (RFC 4648 section 10 vectors)', () => {
  test.each([
    ['', ''],
    ['f', 'Zg=='],
    ['fo', 'Zm8='],
    ['foo', 'Zm9v'],
    ['foob', 'Zm9vYg=='],
    ['fooba', 'Zm9vYmE='],
    ['foobar', 'Zm9vYmFy'],
  ])('%j <-> %j', (plain, encoded) => {
    expect(base64Encode(ascii(plain))).toBe(encoded);
    expect(base64Decode(encoded)).toEqual(ascii(plain));
  });

  test('uses + and / for 62 and 63', () => {
    expect(base64Encode(Uint8Array.of(0xfb, 0xff))).toBe('+/8=');
    expect(base64Decode('+/8=')).toEqual(Uint8Array.of(0xfb, 0xff));
  });
});

describe('base64Decode is strict', () => {
  test.each([
    ['Zg', 'length not a multiple of 4'],
    ['Zg=', 'length not a multiple of 4'],
    ['Zg===', 'length not a multiple of 4'],
    ['Z===', 'three pad characters'],
    ['====', 'only padding'],
    ['Zg=a', 'padding before data'],
    ['Z=g=', 'padding in the middle'],
    ['Zg==Zg==', 'padding inside'],
    ['Zm 9', 'whitespace'],
    ['Zm9v\n', 'newline'],
    ['Zm9-', 'base64url alphabet'],
    ['Zm9_', 'base64url alphabet'],
    ['Zm9\u00e9', 'non-ASCII'],
    ['Zh==', 'non-zero pad bits (one byte)'],
    ['Zm9=', 'non-zero pad bits (two bytes)'],
  ])('rejects %j (%s)', (text) => {
    expect(base64Decode(text)).toBeNull();
  });

  test('non-zero pad bits are accepted only when asked for', () => {
    expect(base64Decode('Zh==', { allowNonZeroPadBits: true })).toEqual(ascii('f'));
    expect(base64Decode('Zm9=', { allowNonZeroPadBits: true })).toEqual(ascii('fo'));
  });

  test('round trip and agreement with node on random bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        const text = base64Encode(bytes);
        expect(text).toBe(Buffer.from(bytes).toString('base64'));
        expect(base64Decode(text)).toEqual(bytes);
      }),
      FC,
    );
  });

  test('random strings decode only when they are canonical base64', () => {
    const chars = fc.constantFrom(...'AZaz09+/=-_ \n'.split(''));
    fc.assert(
      fc.property(
        fc.array(chars, { maxLength: 16 }).map((a) => a.join('')),
        (text) => {
          const decoded = base64Decode(text);
          if (decoded !== null) expect(base64Encode(decoded)).toBe(text);
          else
            expect(
              /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(text) &&
                Buffer.from(text, 'base64').toString('base64') === text,
            ).toBe(false);
        },
      ),
      FC,
    );
  });
});
