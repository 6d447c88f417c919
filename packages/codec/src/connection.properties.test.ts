// Properties of the connection: chunking invariance, a client and a server talking, hostile input.
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import fc from 'fast-check';
import { Connection } from './connection.js';
import type { ConnectionOptions, Event } from './connection.js';
import type { PerMessageDeflate } from './permessage-deflate.js';
import { isValidCloseCode as isReceivableCloseCode } from './close.js';
import { Opcode } from './frames.js';
import { closeOf, concatBytes, frame, propertySettings, readFrames } from '@rfc6455/test-support';

/** What one send call queued: the call, then takeOutput(). */
function sent(conn: Connection, send: (conn: Connection) => void): Uint8Array[] {
  send(conn);
  return conn.takeOutput();
}

const settings = propertySettings(process.env);

/** Deterministic masking keys from a seed (a small LCG), so shrinking replays exactly. */
function seededFill(seed: number): (bytes: Uint8Array) => void {
  let state = seed >>> 0;
  return (bytes) => {
    for (let i = 0; i < bytes.length; i++) {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      bytes[i] = state >>> 24;
    }
  };
}

/** Splits bytes at the given points (taken modulo the length), copying each piece: the codec unmasks in place. */
function split(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => (bytes.length === 0 ? 0 : c % (bytes.length + 1))))].sort(
    (a, b) => a - b,
  );
  const pieces: Uint8Array[] = [];
  let pos = 0;
  for (const p of [...points, bytes.length]) {
    pieces.push(bytes.slice(pos, p));
    pos = p;
  }
  return pieces;
}

/** Events with payloads as base64 strings: Jest's deep equality is slow on large typed arrays. */
type Plain = Record<string, unknown>;
function plain(events: Event[]): Plain[] {
  return events.map((e) => ('data' in e ? { ...e, data: Buffer.from(e.data).toString('base64') } : { ...e }));
}

function feed(conn: Connection, pieces: Uint8Array[]): Event[] {
  const events: Event[] = [];
  for (const piece of pieces) events.push(...conn.receive(piece));
  return events;
}

/** A message payload cut into fragment payloads. */
const fragments = split;

/** permessage-deflate on node:zlib, no context takeover: inflates when the message is whole. */
function zlibDeflate(): PerMessageDeflate {
  let pending: Uint8Array[] = [];
  return {
    params: {
      serverNoContextTakeover: true,
      clientNoContextTakeover: true,
      serverMaxWindowBits: 15,
      clientMaxWindowBits: 15,
    },
    threshold: 16,
    compressor: {
      compress(data) {
        const out = deflateRawSync(data, { finishFlush: 2 });
        return out.subarray(0, out.length - 4);
      },
    },
    decompressor: {
      decompress(data, fin, maxOutput) {
        pending.push(data.slice());
        if (!fin) return { ok: true, data: [] };
        const input = concatBytes([...pending, Uint8Array.of(0, 0, 0xff, 0xff)]);
        pending = [];
        try {
          return {
            ok: true,
            data: [inflateRawSync(input, { finishFlush: 2, maxOutputLength: Math.max(1, maxOutput) })],
          };
        } catch (error) {
          const tooBig = (error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
          return { ok: false, reason: tooBig ? 'too-big' : 'corrupt', message: String(error) };
        }
      },
    },
  };
}

const smallBytes = fc.uint8Array({ maxLength: 200 });
const textBytes = fc.string({ unit: 'binary', maxLength: 100 }).map((s) => new TextEncoder().encode(s));
const bigBytes = fc.integer({ min: 65536, max: 70000 }).map((n) => new Uint8Array(n).map((_, i) => i * 31));

type Action =
  | { type: 'message'; kind: 'text' | 'binary'; data: Uint8Array; cuts: number[]; pings: Uint8Array[] }
  | { type: 'ping'; data: Uint8Array }
  | { type: 'pong'; data: Uint8Array };

const action: fc.Arbitrary<Action> = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.record({
      type: fc.constant('message' as const),
      kind: fc.constant('text' as const),
      data: textBytes,
      cuts: fc.array(fc.nat(), { maxLength: 4 }),
      pings: fc.array(fc.uint8Array({ maxLength: 20 }), { maxLength: 2 }),
    }),
  },
  {
    weight: 6,
    arbitrary: fc.record({
      type: fc.constant('message' as const),
      kind: fc.constant('binary' as const),
      data: fc.oneof({ weight: 12, arbitrary: smallBytes }, { weight: 1, arbitrary: bigBytes }),
      cuts: fc.array(fc.nat(), { maxLength: 4 }),
      pings: fc.array(fc.uint8Array({ maxLength: 20 }), { maxLength: 2 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ type: fc.constant('ping' as const), data: fc.uint8Array({ maxLength: 125 }) }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ type: fc.constant('pong' as const), data: fc.uint8Array({ maxLength: 125 }) }),
  },
);

/** The bytes `sender` writes for an action; fragmented messages carry pings between their frames. */
function perform(sender: Connection, a: Action): Uint8Array[] {
  if (a.type === 'ping') sender.sendPing(a.data);
  else if (a.type === 'pong') sender.sendPong(a.data);
  else {
    const pieces = fragments(a.data, a.cuts);
    if (pieces.length === 1 && a.pings.length === 0) {
      if (a.kind === 'text') sender.sendText(a.data);
      else sender.sendBinary(a.data);
    } else {
      pieces.forEach((piece, i) => {
        sender.sendFragment(a.kind, piece, i === pieces.length - 1);
        const ping = a.pings[i];
        if (ping !== undefined && i < pieces.length - 1) sender.sendPing(ping);
      });
    }
  }
  return sender.takeOutput();
}

/** What the receiver should report for an action, in order. */
function expectedEvents(a: Action): Event[] {
  if (a.type === 'ping' || a.type === 'pong') return [{ type: a.type, data: a.data }];
  const pieces = fragments(a.data, a.cuts);
  const pings = a.pings.slice(0, pieces.length - 1).map((data): Event => ({ type: 'ping', data }));
  return [...pings, { type: a.kind, data: a.data }];
}

describe('any split of the same byte stream yields the same events', () => {
  test('client frames into a server: whole, random splits, one byte at a time', () => {
    fc.assert(
      fc.property(
        fc.array(action, { maxLength: 8 }),
        fc.option(fc.constantFrom(1000, 1001, 3000, 4999), { nil: undefined }),
        fc.uint8Array({ maxLength: 20 }),
        fc.array(fc.nat(), { maxLength: 12 }),
        fc.nat(),
        fc.boolean(),
        (actions, closeCode, tail, cuts, seed, streaming) => {
          const sender = new Connection({ role: 'client', randomFill: seededFill(seed) });
          const parts: Uint8Array[] = [];
          for (const a of actions) parts.push(...perform(sender, a));
          if (closeCode !== undefined) parts.push(...sent(sender, (c) => c.sendClose(closeCode, 'bye')));
          parts.push(tail); // trailing bytes: ignored after a close, else a partial or bad frame
          const wire = concatBytes(parts);
          const options: ConnectionOptions = { role: 'server', streaming };
          const whole = new Connection(options);
          const expected = whole.receive(wire.slice());
          const expectedOutput = concatBytes(whole.takeOutput());
          if (!streaming) {
            const messages = actions.flatMap(expectedEvents);
            expect(plain(expected.slice(0, messages.length))).toEqual(plain(messages));
          }
          const pieces = new Connection(options);
          const plainExpected = plain(expected);
          expect(plain(feed(pieces, split(wire, cuts)))).toEqual(plainExpected);
          expect(concatBytes(pieces.takeOutput()).length).toBe(expectedOutput.length);
          expect(pieces.state).toBe(whole.state);
          if (wire.length <= 4000) {
            const bytewise = new Connection(options);
            expect(
              plain(
                feed(
                  bytewise,
                  split(
                    wire,
                    Array.from(wire, (_, i) => i),
                  ),
                ),
              ),
            ).toEqual(plainExpected);
          }
        },
      ),
      settings,
    );
  });
});

describe('a client and a server exchange arbitrary messages and close cleanly', () => {
  test('fragmented arbitrarily, with interleaved pings, random chunking, with and without compression', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.boolean(), action, fc.boolean()), { maxLength: 10 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.boolean(),
        fc.constantFrom(1000, 1001, 1011, 3000, 4321, undefined),
        fc.boolean(),
        fc.nat(),
        (script, cuts, closeFromClient, closeCode, compress, seed) => {
          const deflate = (): { perMessageDeflate?: PerMessageDeflate } =>
            compress ? { perMessageDeflate: zlibDeflate() } : {};
          const clientConn = new Connection({ role: 'client', randomFill: seededFill(seed), ...deflate() });
          const serverConn = new Connection({ role: 'server', ...deflate() });
          const peers = { client: clientConn, server: serverConn };
          const pending = { client: [] as Uint8Array[], server: [] as Uint8Array[] }; // bytes on the way TO each side
          const received = { client: [] as Event[], server: [] as Event[] };
          const expected = { client: [] as Event[], server: [] as Event[] };
          const deliver = (to: 'client' | 'server') => {
            const bytes = concatBytes(pending[to]);
            pending[to] = [];
            const conn = peers[to];
            received[to].push(...feed(conn, split(bytes, cuts)));
            const output = conn.takeOutput();
            if (output.length > 0) pending[to === 'client' ? 'server' : 'client'].push(concatBytes(output));
          };
          for (const [fromClient, a, flush] of script) {
            const from = fromClient ? 'client' : 'server';
            const to = fromClient ? 'server' : 'client';
            pending[to].push(...perform(peers[from], a));
            expected[to].push(...expectedEvents(a));
            if (flush) {
              deliver(to);
              deliver(from);
            }
          }
          // Close: the closer's frame, then the answer (queued by the codec), then the answer's delivery.
          const closer = closeFromClient ? 'client' : 'server';
          const other = closeFromClient ? 'server' : 'client';
          pending[other].push(
            ...sent(peers[closer], (c) => c.sendClose(closeCode, closeCode === undefined ? '' : 'done')),
          );
          deliver(other);
          deliver(closer);
          deliver(other);
          deliver(closer);
          const code = closeCode ?? 1005;
          const reason = closeCode === undefined ? '' : 'done';
          for (const side of ['client', 'server'] as const) {
            const events = received[side];
            // Pongs answer pings, but only the latest pending ping is sure to be answered.
            const messages = events.filter((e) => e.type !== 'pong' && e.type !== 'close');
            expect(plain(messages)).toEqual(plain(expected[side].filter((e) => e.type !== 'pong')));
            const closes = events.filter((e) => e.type === 'close');
            expect(closes).toEqual([
              side === closer
                ? { type: 'close', code, reason: '', initiator: 'local', wasClean: true }
                : { type: 'close', code, reason, initiator: 'peer', wasClean: true },
            ]);
            expect(last(events)?.type).toBe('close');
            expect(peers[side].state).toBe('CLOSED');
          }
          // Pongs sent explicitly arrive; auto-pongs answer at least the last ping of each delivery.
          expect(received.server.filter((e) => e.type === 'pong').length).toBeGreaterThanOrEqual(
            expected.server.filter((e) => e.type === 'pong').length,
          );
          expect(serverConn.shouldCloseTransport).toBe(true);
          expect(clientConn.shouldCloseTransport).toBe(false);
        },
      ),
      settings,
    );
  });
});

function last<T>(list: T[]): T | undefined {
  return list[list.length - 1];
}

describe('hostile input', () => {
  const legalFailCodes = new Set([1002, 1007, 1009, 1006]);
  const frameish = fc.oneof(
    // Valid-looking frames with random header bits and payloads.
    fc
      .record({
        opcode: fc.nat(15),
        fin: fc.boolean(),
        rsv1: fc.boolean(),
        rsv2: fc.boolean(),
        rsv3: fc.boolean(),
        masked: fc.boolean(),
        payload: fc.oneof(fc.uint8Array({ maxLength: 140 }), textBytes),
      })
      .map((f) => frame({ ...f, mask: f.masked ? 0x01020304 : false })),
    fc.uint8Array({ maxLength: 30 }),
  );

  test('garbage fed to an OPEN server ends in one close event with a legal code, never an exception', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.uint8Array({ maxLength: 300 }), fc.array(frameish, { maxLength: 8 }).map(concatBytes)),
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.boolean(),
        fc.boolean(),
        (wire, cuts, streaming, deflate) => {
          const conn = new Connection({
            role: 'server',
            streaming,
            maxFramePayload: 100,
            ...(deflate ? { perMessageDeflate: zlibDeflate() } : {}),
          });
          const events = [...feed(conn, split(wire, cuts)), ...conn.receiveEof()];
          const closes = events.filter((e) => e.type === 'close');
          expect(closes).toHaveLength(1);
          expect(last(events)).toBe(closes[0]);
          const close = closes[0]!;
          if (close.wasClean) {
            expect(close.initiator).toBe('peer');
            expect(close.code === 1005 || isReceivableCloseCode(close.code)).toBe(true);
          } else {
            expect(legalFailCodes.has(close.code)).toBe(true);
          }
          expect(conn.state).toBe('CLOSED');
          // The codec's own output: pongs, then one close frame last (none when the stream just ended).
          const frames = readFrames(conn.takeOutput());
          const closeFrames = frames.filter((f) => f.opcode === Opcode.Close);
          if (close.code === 1006) {
            expect(closeFrames).toHaveLength(0);
          } else {
            expect(closeFrames).toHaveLength(1);
            expect(last(frames)!.opcode).toBe(Opcode.Close);
            if (!close.wasClean) expect(closeOf(closeFrames[0]!.payload)[0]).toBe(close.code);
          }
        },
      ),
      { ...settings, numRuns: settings.numRuns * 3 },
    );
  });

  test('a server fed a valid frame with one random byte changed never throws', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 60 }), fc.nat(), fc.nat(255), (payload, at, value) => {
        const wire = frame({ opcode: Opcode.Text, payload });
        wire[at % wire.length] = value;
        const conn = new Connection({ role: 'server' });
        const events = [...conn.receive(wire), ...conn.receiveEof()];
        expect(events.filter((e) => e.type === 'close')).toHaveLength(1);
      }),
      settings,
    );
  });
});
