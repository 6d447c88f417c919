import fc from 'fast-check';
import { Utf8Validator, isValidUtf8 } from './utf8.js';
import type * as TextModule from './text.js';
import { decodeUtf8, decodeUtf8Fallback, encodeUtf8, encodeUtf8Fallback } from './text.js';
import { propertySettings } from '@rfc6455/test-support';

const settings = propertySettings(process.env);

/** The reference: Node's WHATWG TextDecoder, fatal, in stream mode (it reports errors eagerly). */
function referenceStates(chunks: Uint8Array[]): ('ok' | 'throws')[] {
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const results: ('ok' | 'throws')[] = [];
  let failed = false;
  for (const chunk of chunks) {
    if (!failed) {
      try {
        decoder.decode(chunk, { stream: true });
      } catch {
        failed = true;
      }
    }
    results.push(failed ? 'throws' : 'ok');
  }
  if (!failed) {
    try {
      decoder.decode();
    } catch {
      failed = true;
    }
  }
  results.push(failed ? 'throws' : 'ok');
  return results;
}

function validatorStates(chunks: Uint8Array[]): ('ok' | 'throws')[] {
  const v = new Utf8Validator();
  const results: ('ok' | 'throws')[] = [];
  for (const chunk of chunks) {
    v.push(chunk);
    results.push(v.state === 'invalid' ? 'throws' : 'ok');
  }
  results.push(v.finish() ? 'ok' : 'throws');
  return results;
}

const hex = (s: string) => Uint8Array.from(s.split(' ').map((h) => parseInt(h, 16)));

/** Bytes biased towards the interesting UTF-8 boundaries. */
const utf8ishByte = fc.oneof(
  fc.integer({ min: 0, max: 0x7f }),
  fc.integer({ min: 0x80, max: 0xbf }),
  fc.constantFrom(
    0xc0,
    0xc1,
    0xc2,
    0xdf,
    0xe0,
    0xed,
    0xee,
    0xef,
    0xf0,
    0xf1,
    0xf4,
    0xf5,
    0xff,
    0x9f,
    0xa0,
    0x8f,
    0x90,
  ),
);
const utf8ishBytes = fc.oneof(
  fc.array(utf8ishByte, { maxLength: 40 }).map((a) => Uint8Array.from(a)),
  fc.string({ unit: 'binary', maxLength: 30 }).map((s) => new TextEncoder().encode(s)),
  // Valid text with one byte replaced.
  fc
    .tuple(fc.string({ unit: 'binary', minLength: 1, maxLength: 30 }), fc.nat(), fc.nat(255))
    .map(([s, at, b]) => {
      const e = new TextEncoder().encode(s);
      e[at % e.length] = b;
      return e;
    }),
  // Long mostly-ASCII runs exercise the word-wide fast path.
  fc
    .tuple(fc.nat(200), fc.array(utf8ishByte, { maxLength: 8 }), fc.nat(200))
    .map(([a, mid, b]) =>
      Uint8Array.from([...new Array<number>(a).fill(0x61), ...mid, ...new Array<number>(b).fill(0x62)]),
    ),
);

describe('8.1 Handling Errors in UTF-8-Encoded Data', () => {
  test('accepts the edges of every range', () => {
    for (const s of [
      '',
      '00',
      '7f',
      'c2 80',
      'df bf',
      'e0 a0 80',
      'ed 9f bf',
      'ee 80 80',
      'ef bf bf',
      'f0 90 80 80',
      'f4 8f bf bf',
      'ce ba e1 bd b9 cf 83 ce bc ce b5',
    ]) {
      expect(isValidUtf8(s === '' ? new Uint8Array(0) : hex(s))).toBe(true);
    }
  });

  test('rejects overlongs, surrogates, code points above U+10FFFF and stray bytes', () => {
    for (const s of [
      'c0 80',
      'c1 bf',
      'e0 9f bf',
      'ed a0 80',
      'ed bf bf',
      'f0 8f bf bf',
      'f4 90 80 80',
      'f5 80 80 80',
      'ff',
      '80',
      'c2 41',
    ]) {
      expect(isValidUtf8(hex(s))).toBe(false);
    }
  });

  test('fails at the first bad byte, mid-stream, and stays failed', () => {
    const v = new Utf8Validator();
    expect(v.push(hex('41 ce ba'))).toBe(-1);
    expect(v.push(hex('f4'))).toBe(-1);
    expect(v.state).toBe('incomplete');
    // ED A0 is a surrogate: wrong at the A0, before the sequence could complete.
    // F4 wants a continuation byte: the 41 at index 0 is the first bad byte.
    expect(v.push(hex('41 42'))).toBe(0);
    expect(v.state).toBe('invalid');
    expect(v.push(hex('41'))).toBe(0);
    v.reset();
    expect(v.push(hex('41 42 ed a0 80'))).toBe(3);
  });

  test('reports incomplete text at the end of a message', () => {
    const v = new Utf8Validator();
    expect(v.push(hex('e2 82'))).toBe(-1);
    expect(v.state).toBe('incomplete');
    expect(v.finish()).toBe(false);
    // finish() resets for the next message.
    expect(v.state).toBe('valid');
    expect(v.push(hex('e2 82'))).toBe(-1);
    expect(v.push(hex('ac'))).toBe(-1);
    expect(v.finish()).toBe(true);
  });

  test('validates a range of a larger buffer', () => {
    const v = new Utf8Validator();
    expect(v.push(hex('ff 41 42 ff'), 1, 3)).toBe(-1);
    expect(v.state).toBe('valid');
  });

  test('agrees with TextDecoder (fatal) on arbitrary bytes, whole', () => {
    fc.assert(
      fc.property(utf8ishBytes, (data) => {
        expect(validatorStates([data])).toEqual(referenceStates([data]));
      }),
      { ...settings, numRuns: settings.numRuns * 5 },
    );
  });

  test('agrees with TextDecoder (fatal) at every split point, failing at the same chunk', () => {
    fc.assert(
      fc.property(utf8ishBytes, (data) => {
        for (let cut = 0; cut <= data.length; cut++) {
          const chunks = [data.subarray(0, cut), data.subarray(cut)];
          expect(validatorStates(chunks)).toEqual(referenceStates(chunks));
        }
      }),
      settings,
    );
  });

  test('agrees with TextDecoder (fatal) fed one byte at a time: fails at the first bad byte', () => {
    fc.assert(
      fc.property(utf8ishBytes, (data) => {
        const chunks = Array.from(data, (_, i) => data.subarray(i, i + 1));
        expect(validatorStates(chunks)).toEqual(referenceStates(chunks));
      }),
      settings,
    );
  });
});

/** Strings of any UTF-16 code units (lone surrogates too) or of any code points. */
const anyString = fc.oneof(
  fc
    .array(fc.integer({ min: 0, max: 0xffff }), { maxLength: 40 })
    .map((units) => String.fromCharCode(...units)),
  fc.string({ unit: 'binary', maxLength: 40 }),
);

describe('UTF-8 encode and decode', () => {
  test('the pure encoder matches TextEncoder, lone surrogates included', () => {
    fc.assert(
      fc.property(anyString, (s) => {
        expect(encodeUtf8Fallback(s)).toEqual(new TextEncoder().encode(s));
      }),
      settings,
    );
    for (const s of ['\ud800', 'a\udc00b', '\udbff\udfff', '\udfff\ud800', '€𐍈']) {
      expect(encodeUtf8Fallback(s)).toEqual(new TextEncoder().encode(s));
    }
    expect(encodeUtf8('€')).toEqual(hex('e2 82 ac'));
  });

  test('the pure decoder matches TextDecoder, invalid input included', () => {
    fc.assert(
      fc.property(utf8ishBytes, (data) => {
        expect(decodeUtf8Fallback(data)).toBe(new TextDecoder().decode(data));
      }),
      settings,
    );
    const big = new TextEncoder().encode('é'.repeat(10000));
    expect(decodeUtf8Fallback(big)).toBe('é'.repeat(10000));
    expect(decodeUtf8(hex('e2 82 ac'))).toBe('€');
  });
});

describe('a runtime without TextEncoder and TextDecoder', () => {
  test('encodeUtf8/decodeUtf8 fall back to the pure versions', () => {
    const saved = { TextEncoder: globalThis.TextEncoder, TextDecoder: globalThis.TextDecoder };
    const g = globalThis as { TextEncoder?: unknown; TextDecoder?: unknown };
    delete g.TextEncoder;
    delete g.TextDecoder;
    try {
      jest.isolateModules(() => {
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const bare = require('./text.js') as typeof TextModule;
        expect(bare.encodeUtf8('\u03ba\u1f79\u03c3\u03bc\u03b5 \ud800')).toEqual(
          hex('ce ba e1 bd b9 cf 83 ce bc ce b5 20 ef bf bd'),
        );
        expect(bare.decodeUtf8(hex('ce ba e2 82 ac ff'))).toBe('κ€\ufffd');
      });
    } finally {
      Object.assign(globalThis, saved);
    }
    expect(typeof globalThis.TextEncoder).toBe('function');
  });
});
