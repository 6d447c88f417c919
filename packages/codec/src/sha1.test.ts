import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { sha1 } from './sha1.js';

const FC = { seed: 42, numRuns: Number(process.env.FC_RUNS ?? 100) };
const hex = (b: Uint8Array): string => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
const ascii = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));

describe('sha1', () => {
  test.each([
    ['', 'da39a3ee5e6b4b0d3255bfef95601890afd80709'],
    ['abc', 'a9993e364706816aba3e25717850c26c9cd0d89d'],
    ['abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq', '84983e441c3bd26ebaae4aa1f95129e5e54670f1'],
    ['The quick brown fox jumps over the lazy dog', '2fd4e1c67a2d28fced849ee1bb76e7391b93eb12'],
  ])('FIPS / well-known vector %j', (input, digest) => {
    expect(hex(sha1(ascii(input)))).toBe(digest);
  });

  test('one million "a" (FIPS 180 vector)', () => {
    expect(hex(sha1(new Uint8Array(1_000_000).fill(0x61)))).toBe('34aa973cd4c4daa4f61eeb2bdbad27316534016f');
  });

  test('every length around the padding boundaries agrees with node:crypto', () => {
    for (let n = 0; n <= 200; n++) {
      const data = Uint8Array.from({ length: n }, (_, i) => (i * 31 + n) & 0xff);
      expect(hex(sha1(data))).toBe(createHash('sha1').update(data).digest('hex'));
    }
  });

  test('agrees with node:crypto on random inputs', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 1000 }), (data) => {
        expect(hex(sha1(data))).toBe(createHash('sha1').update(data).digest('hex'));
      }),
      FC,
    );
  });

  test('hashes a view at its offset, not the whole buffer', () => {
    const buffer = ascii('xxabcxx');
    expect(hex(sha1(buffer.subarray(2, 5)))).toBe('a9993e364706816aba3e25717850c26c9cd0d89d');
  });
});
