import { PROTOCOL_ERRORS } from '@rfc6455/codec';
import { propertySettings } from '@rfc6455/test-support';
import fc from 'fast-check';

import {
  expectationOf,
  fragmentSizes,
  framesOf,
  FUZZED_VIOLATIONS,
  incompleteUtf8,
  invalidUtf8,
  scenario,
  textPayload,
  violation,
} from './arbitraries.js';
import { judge } from './fuzz.js';
import { encodeFrame, OP_CLOSE, readFrames, type WireFrame } from './wire.js';

const settings = propertySettings(process.env);
const strict = new TextDecoder('utf-8', { fatal: true });

test('text payloads are valid UTF-8; invalid and incomplete ones never are', () => {
  fc.assert(
    fc.property(textPayload(), (p) => void strict.decode(p)),
    settings,
  );
  fc.assert(
    fc.property(invalidUtf8(), (p) => expect(() => strict.decode(p)).toThrow()),
    settings,
  );
  fc.assert(
    fc.property(incompleteUtf8(), (p) => expect(() => strict.decode(p)).toThrow()),
    settings,
  );
});

test('fragment sizes add up to the payload length', () => {
  fc.assert(
    fc.property(
      fc.nat(1000).chain((n) => fc.tuple(fc.constant(n), fragmentSizes(n))),
      ([n, sizes]) => {
        expect(sizes.reduce((a, b) => a + b, 0)).toBe(n);
        expect(sizes.length).toBeGreaterThanOrEqual(1);
      },
    ),
    settings,
  );
});

test("every violation earns the codec's close code, and every kind is generated", () => {
  const seen = new Set<string>();
  fc.assert(
    fc.property(violation(), (v) => {
      seen.add(v.kind);
      expect(v.code).toBe(PROTOCOL_ERRORS[v.kind].code);
      expect(v.frames.length).toBeGreaterThan(0);
    }),
    { ...settings, numRuns: 500 },
  );
  expect([...seen].sort()).toEqual([...FUZZED_VIOLATIONS].sort());
});

test('frames read back as they were written (masks removed)', () => {
  const frame: fc.Arbitrary<WireFrame> = fc.record({
    fin: fc.boolean(),
    rsv: fc.integer({ min: 0, max: 7 }),
    opcode: fc.integer({ min: 0, max: 15 }),
    payload: fc.oneof(
      fc.uint8Array({ maxLength: 200 }),
      fc.constantFrom(125, 126, 65535, 65536).map((n) => new Uint8Array(n).fill(7)),
    ),
    mask: fc.option(fc.nat({ max: 0xffffffff })),
  });
  fc.assert(
    fc.property(fc.array(frame, { maxLength: 3 }), (frames) => {
      const bytes = new Uint8Array(Buffer.concat(frames.map(encodeFrame)));
      const { frames: back, used } = readFrames(bytes);
      expect(used).toBe(bytes.length);
      expect(back.map((f) => ({ ...f, payload: Buffer.from(f.payload).toString('hex') }))).toEqual(
        frames.map((f) => ({
          fin: f.fin,
          rsv: f.rsv,
          opcode: f.opcode,
          masked: f.mask !== null,
          payload: Buffer.from(f.payload).toString('hex'),
        })),
      );
      // A cut anywhere leaves the partial frame unread.
      if (bytes.length > 0)
        expect(readFrames(bytes.subarray(0, bytes.length - 1)).frames.length).toBeLessThan(frames.length);
    }),
    { ...settings, numRuns: 50 },
  );
});

test('the judge accepts the ideal answer to any scenario and catches a wrong close code', () => {
  fc.assert(
    fc.property(scenario(), (s) => {
      const want = expectationOf(s);
      const frame = (opcode: number, payload: Uint8Array) => ({
        fin: true,
        rsv: 0,
        opcode,
        masked: false,
        payload,
      });
      const code = want.closeCodes[0]!;
      const ideal = [
        ...want.messages.map((m) => frame(m.opcode, m.data)),
        ...want.pongs.map((p) => frame(0xa, p)),
        frame(OP_CLOSE, new Uint8Array([code >> 8, code & 0xff])),
      ];
      expect(judge(s, { frames: ideal, closed: true })).toEqual([]);
      const wrong = ideal.slice(0, -1).concat(frame(OP_CLOSE, new Uint8Array([0x0f, 0xa0])));
      expect(judge(s, { frames: wrong, closed: true }).join('\n')).toMatch(/closed with 4000/);
      expect(judge(s, { frames: ideal, closed: false })).toEqual([
        'the server did not close the TCP connection',
      ]);
      expect(framesOf(s).length).toBeGreaterThan(0);
    }),
    settings,
  );
});
