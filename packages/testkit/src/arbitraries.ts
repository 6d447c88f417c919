// @rfc6455/testkit/arbitraries: fast-check generators for WebSocket traffic from a client, for anyone
// writing properties about a WebSocket implementation. A Scenario is what the fuzzer sends: valid messages
// of every kind, fragmented at every boundary, with control frames between the fragments, and an ending
// that is either a clean close or one protocol violation (the codec's table of them, with the close code
// each one earns).
import { PROTOCOL_ERRORS, type ProtocolErrorKind } from '@rfc6455/codec';
import fc from 'fast-check';

import { OP_BINARY, OP_CLOSE, OP_CONTINUATION, OP_PING, OP_PONG, OP_TEXT, type WireFrame } from './wire.js';

const utf8 = new TextEncoder();

/** Valid UTF-8: any code point (lone surrogates are not code points, so they never appear). */
export function textPayload(maxLength = 200): fc.Arbitrary<Uint8Array> {
  return fc.string({ unit: 'binary', maxLength }).map((s) => utf8.encode(s));
}

/** Bytes, mostly short, sometimes exactly at the 7-bit / 16-bit / 64-bit length boundaries. */
export function binaryPayload(maxLength = 300): fc.Arbitrary<Uint8Array> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.uint8Array({ maxLength }) },
    {
      weight: 1,
      arbitrary: fc
        .constantFrom(125, 126, 127, 65535, 65536)
        .chain((length) => fc.integer({ min: 0, max: 255 }).map((fill) => new Uint8Array(length).fill(fill))),
    },
  );
}

/** Control frame payloads: 0 to 125 bytes. */
export function controlPayload(): fc.Arbitrary<Uint8Array> {
  return fc.uint8Array({ maxLength: 125 });
}

/** Byte sequences that can never appear in UTF-8 (RFC 3629): overlong, surrogate, too big, stray bytes. */
export const INVALID_UTF8_SEQUENCES: readonly (readonly number[])[] = [
  [0xff],
  [0xfe],
  [0x80],
  [0xc0, 0x80],
  [0xc1, 0xbf],
  [0xe0, 0x80, 0x80],
  [0xed, 0xa0, 0x80],
  [0xf4, 0x90, 0x80, 0x80],
  [0xf8, 0x88, 0x80, 0x80, 0x80],
  [0xe2, 0x82, 0x41],
];

/** Sequences cut short: invalid only because the message ends there. */
export const TRUNCATED_UTF8_SEQUENCES: readonly (readonly number[])[] = [
  [0xc3],
  [0xe2, 0x82],
  [0xf0, 0x9f, 0x98],
];

function concat(...parts: ArrayLike<number>[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** Valid text with one invalid UTF-8 sequence at a random position (a code point boundary). */
export function invalidUtf8(): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(fc.string({ unit: 'binary', maxLength: 40 }), fc.string({ unit: 'binary', maxLength: 40 }))
    .chain(([before, after]) =>
      fc
        .constantFrom(...INVALID_UTF8_SEQUENCES)
        .map((bad) => concat(utf8.encode(before), bad, utf8.encode(after))),
    );
}

/** Valid text that ends inside a multi-byte sequence. */
export function incompleteUtf8(): fc.Arbitrary<Uint8Array> {
  return fc
    .tuple(fc.string({ unit: 'binary', maxLength: 40 }), fc.constantFrom(...TRUNCATED_UTF8_SEQUENCES))
    .map(([text, cut]) => concat(utf8.encode(text), cut));
}

/** Where a payload of `length` bytes is cut into fragments: sizes that add up to it (empty ones too). */
export function fragmentSizes(length: number, maxFragments = 5): fc.Arbitrary<number[]> {
  return fc.array(fc.integer({ min: 0, max: length }), { maxLength: maxFragments - 1 }).map((cuts) => {
    const points = [0, ...cuts.sort((a, b) => a - b), length];
    return points.slice(1).map((p, i) => p - points[i]!);
  });
}

/** A data message: its opcode, its bytes, its fragment sizes, and pings sent between the fragments. */
export interface MessageStep {
  kind: 'message';
  opcode: typeof OP_TEXT | typeof OP_BINARY;
  data: Uint8Array;
  fragments: number[];
  /** pings[i] is sent after fragment i (null: none); control frames may come between fragments. */
  pings: (Uint8Array | null)[];
}

export interface PingStep {
  kind: 'ping';
  payload: Uint8Array;
}

export type Step = MessageStep | PingStep;

type Payload = Pick<MessageStep, 'opcode' | 'data'>;

export function messageStep(): fc.Arbitrary<MessageStep> {
  return fc
    .oneof(
      textPayload().map((data): Payload => ({ opcode: OP_TEXT, data })),
      binaryPayload().map((data): Payload => ({ opcode: OP_BINARY, data })),
    )
    .chain(({ opcode, data }) =>
      fragmentSizes(data.length).chain((fragments) =>
        fc
          .array(fc.option(controlPayload(), { freq: 3 }), {
            minLength: fragments.length,
            maxLength: fragments.length,
          })
          .map((pings) => ({ kind: 'message' as const, opcode, data, fragments, pings })),
      ),
    );
}

export function step(): fc.Arbitrary<Step> {
  return fc.oneof(
    { weight: 4, arbitrary: messageStep() },
    { weight: 1, arbitrary: controlPayload().map((payload) => ({ kind: 'ping' as const, payload })) },
  );
}

/** One protocol violation: the frames that commit it and the close code it must earn. */
export interface Violation {
  kind: ProtocolErrorKind;
  code: number;
  /** Frames with mask 0 are masked with the scenario's keys; `mask: null` ones are sent unmasked. */
  frames: WireFrame[];
}

const masked = (opcode: number, payload: Uint8Array, fin = true, rsv = 0): WireFrame => ({
  fin,
  rsv,
  opcode,
  payload,
  mask: 0,
});

const CLOSE_CODES_NEVER_ON_THE_WIRE = [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535];

function closePayload(code: number, reason: ArrayLike<number>): Uint8Array {
  return concat([code >>> 8, code & 0xff], reason);
}

/**
 * The violations a server without extensions must answer with a close, by the codec's table. Left out:
 * 'length-top-bit' (ws answers it with 1009), the size limits and the extension ones (they depend on
 * options and negotiation), 'masked-frame' (only a server can commit it).
 */
export const FUZZED_VIOLATIONS = [
  'reserved-opcode',
  'reserved-bits',
  'rsv1-not-negotiated',
  'unmasked-frame',
  'fragmented-control',
  'control-too-long',
  'unexpected-continuation',
  'expected-continuation',
  'close-payload-length',
  'invalid-close-code',
  'invalid-close-reason',
  'invalid-utf8',
  'incomplete-utf8',
] as const satisfies readonly ProtocolErrorKind[];

export function violation(
  kinds: readonly (typeof FUZZED_VIOLATIONS)[number][] = FUZZED_VIOLATIONS,
): fc.Arbitrary<Violation> {
  const small = fc.uint8Array({ maxLength: 20 });
  const builders: Record<(typeof FUZZED_VIOLATIONS)[number], fc.Arbitrary<WireFrame[]>> = {
    'reserved-opcode': fc
      .tuple(fc.constantFrom(3, 4, 5, 6, 7, 11, 12, 13, 14, 15), small)
      .map(([op, p]) => [masked(op, p)]),
    'reserved-bits': fc
      .tuple(fc.constantFrom(1, 2, 3), textPayload(20))
      .map(([rsv, p]) => [masked(OP_TEXT, p, true, rsv)]),
    'rsv1-not-negotiated': fc
      .tuple(fc.constantFrom(OP_TEXT, OP_BINARY), textPayload(20))
      .map(([op, p]) => [masked(op, p, true, 4)]),
    'unmasked-frame': textPayload(20).map((p) => [{ ...masked(OP_TEXT, p), mask: null }]),
    'fragmented-control': controlPayload().map((p) => [masked(OP_PING, p, false)]),
    'control-too-long': fc
      .tuple(fc.constantFrom(OP_PING, OP_PONG), fc.uint8Array({ minLength: 126, maxLength: 200 }))
      .map(([op, p]) => [masked(op, p)]),
    'unexpected-continuation': small.map((p) => [masked(OP_CONTINUATION, p)]),
    'expected-continuation': fc
      .tuple(textPayload(20), fc.constantFrom(OP_TEXT, OP_BINARY), small)
      .map(([first, op, second]) => [masked(OP_TEXT, first, false), masked(op, second)]),
    'close-payload-length': fc
      .integer({ min: 0, max: 255 })
      .map((b) => [masked(OP_CLOSE, new Uint8Array([b]))]),
    'invalid-close-code': fc
      .constantFrom(...CLOSE_CODES_NEVER_ON_THE_WIRE)
      .map((code) => [masked(OP_CLOSE, closePayload(code, []))]),
    'invalid-close-reason': fc
      .constantFrom(...INVALID_UTF8_SEQUENCES)
      .map((bad) => [masked(OP_CLOSE, closePayload(1000, bad))]),
    'invalid-utf8': invalidUtf8().chain((data) => textFragments(data)),
    'incomplete-utf8': incompleteUtf8().chain((data) => textFragments(data)),
  };
  return fc
    .constantFrom(...kinds)
    .chain((kind) => builders[kind].map((frames) => ({ kind, code: PROTOCOL_ERRORS[kind].code, frames })));
}

function textFragments(data: Uint8Array): fc.Arbitrary<WireFrame[]> {
  return fragmentSizes(data.length, 3).map((sizes) => {
    let at = 0;
    return sizes.map((size, i) => {
      const frame = masked(
        i === 0 ? OP_TEXT : OP_CONTINUATION,
        data.slice(at, at + size),
        i === sizes.length - 1,
      );
      at += size;
      return frame;
    });
  });
}

export type Ending =
  { kind: 'close'; code: number; reason: Uint8Array } | { kind: 'violation'; violation: Violation };

/** A clean close from the client: a code it may send and a short valid reason. */
export function cleanClose(): fc.Arbitrary<Ending> {
  return fc
    .tuple(fc.constantFrom(1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 4999), textPayload(20))
    .map(([code, reason]) => ({ kind: 'close' as const, code, reason }));
}

export interface Scenario {
  steps: Step[];
  ending: Ending;
  /** Masking keys, used in turn for the frames. */
  masks: number[];
  /** How the bytes are cut into TCP writes (the rest goes in one last write). */
  writes: number[];
}

export function scenario(): fc.Arbitrary<Scenario> {
  return fc.record({
    steps: fc.array(step(), { maxLength: 6 }),
    ending: fc.oneof(
      cleanClose(),
      violation().map((v) => ({ kind: 'violation' as const, violation: v })),
    ),
    masks: fc.array(fc.nat({ max: 0xffffffff }), { minLength: 1, maxLength: 4 }),
    writes: fc.array(fc.integer({ min: 1, max: 64 }), { maxLength: 4 }),
  });
}

/** What an echo server must answer to a scenario. */
export interface Expectation {
  /** The messages, in order, with their opcodes. */
  messages: { opcode: number; data: Uint8Array }[];
  /** The payload of every ping, in order: each needs a pong with the same payload. */
  pongs: Uint8Array[];
  /** The close codes the server's close frame may carry (null: a close frame without a code). */
  closeCodes: (number | null)[];
}

/** The frames a scenario sends, in order, masked with its keys (unmasked where a violation says so). */
export function framesOf(s: Scenario): WireFrame[] {
  const frames: WireFrame[] = [];
  for (const st of s.steps) {
    if (st.kind === 'ping') {
      frames.push(masked(OP_PING, st.payload));
      continue;
    }
    let at = 0;
    st.fragments.forEach((size, i) => {
      const last = i === st.fragments.length - 1;
      frames.push(masked(i === 0 ? st.opcode : OP_CONTINUATION, st.data.slice(at, at + size), last));
      at += size;
      const ping = st.pings[i];
      if (ping != null) frames.push(masked(OP_PING, ping));
    });
  }
  if (s.ending.kind === 'close') frames.push(masked(OP_CLOSE, closePayload(s.ending.code, s.ending.reason)));
  else frames.push(...s.ending.violation.frames);
  return frames.map((f, i) => (f.mask === null ? f : { ...f, mask: s.masks[i % s.masks.length]! }));
}

export function expectationOf(s: Scenario): Expectation {
  const messages: Expectation['messages'] = [];
  const pongs: Uint8Array[] = [];
  for (const st of s.steps) {
    if (st.kind === 'ping') {
      pongs.push(st.payload);
    } else {
      for (const ping of st.pings) if (ping != null) pongs.push(ping);
      messages.push({ opcode: st.opcode, data: st.data });
    }
  }
  const closeCodes = s.ending.kind === 'close' ? [s.ending.code, 1000, null] : [s.ending.violation.code];
  return { messages, pongs, closeCodes };
}
