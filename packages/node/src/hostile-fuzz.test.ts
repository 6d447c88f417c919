// A property drives the real server over sockets: arbitrary mixtures of valid and broken frames,
// cut at random points, ended by a clean close, a half-close or a reset at a random moment. The
// server never throws, ends every connection once with a legal close code or 1006, and keeps
// serving. Fixed seed; FC_RUNS / FC_SEED widen or vary the search.
import zlib from 'node:zlib';
import fc from 'fast-check';
import type { WebSocketServer } from './index.js';
import { closeServer, echoServer } from './testing/helpers.js';
import { RawPeer, assertNoHandlesLeft, assertServes, observe, snapshotHandles } from './testing/raw-peer.js';
import type { Observed } from './testing/raw-peer.js';
import { closePayload, frame, propertySettings } from '@rfc6455/test-support';
import type { FrameSpec } from '@rfc6455/test-support';

const MAX_PAYLOAD = 64 * 1024;

/** Close codes a server may report (RFC 6455 7.4.1, 7.4.2; 1005/1006 are never on the wire). */
function legalReported(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1005 && code <= 1014) || (code >= 3000 && code <= 4999);
}
/** Close codes a server may put in its own close frame (1005, 1006, 1015 are reserved). */
function legalSent(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

const deflated = (data: Uint8Array): Buffer =>
  zlib.deflateRawSync(data, { finishFlush: zlib.constants.Z_SYNC_FLUSH }).subarray(0, -4);

const validCode = fc.oneof(
  fc.constantFrom(1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011),
  fc.integer({ min: 3000, max: 4999 }),
);
const invalidCode = fc.oneof(
  fc.constantFrom(0, 999, 1004, 1005, 1006, 1015, 1016, 2999, 5000),
  fc.integer({ min: 5000, max: 65535 }),
);

/** Frames a client could send; roughly half break a rule. */
const frameSpec: fc.Arbitrary<readonly FrameSpec[]> = fc.oneof(
  // valid
  fc.string({ maxLength: 300 }).map((s) => [{ opcode: 1, payload: s }]),
  fc.uint8Array({ maxLength: 2000 }).map((b) => [{ opcode: 2, payload: b }]),
  fc.uint8Array({ maxLength: 125 }).map((b) => [{ opcode: 9, payload: b }]),
  fc.uint8Array({ maxLength: 125 }).map((b) => [{ opcode: 10, payload: b }]),
  fc
    .tuple(validCode, fc.string({ maxLength: 30 }))
    .map(([c, r]) => [{ opcode: 8, payload: closePayload(c, r) }]),
  fc.string({ maxLength: 3000 }).map((s) => [{ opcode: 1, rsv1: true, payload: deflated(Buffer.from(s)) }]),
  fc.tuple(fc.string({ maxLength: 100 }), fc.string({ maxLength: 100 })).map(([a, b]) => [
    { opcode: 1, fin: false, payload: a },
    { opcode: 9, payload: 'between' },
    { opcode: 0, payload: b },
  ]),
  // broken
  fc.constantFrom(3, 4, 5, 6, 7, 11, 12, 13, 14, 15).map((op) => [{ opcode: op, payload: 'x' }]),
  fc
    .constantFrom<Partial<FrameSpec>>({ rsv2: true }, { rsv3: true }, { rsv1: true, opcode: 9 })
    .map((bits) => [{ opcode: 2, payload: 'bits', ...bits }]),
  fc.uint8Array({ maxLength: 50 }).map((b) => [{ opcode: 2, payload: b, mask: false }]),
  fc.uint8Array({ minLength: 126, maxLength: 300 }).map((b) => [{ opcode: 9, payload: b }]),
  fc.constant([{ opcode: 9, fin: false, payload: 'p' }]),
  fc.constant([{ opcode: 0, payload: 'orphan' }]),
  fc.constant([
    { opcode: 1, fin: false, payload: 'a' },
    { opcode: 2, payload: 'b' },
  ]),
  fc
    .uint8Array({ minLength: 1, maxLength: 20 })
    .map((b) => [{ opcode: 1, payload: Buffer.concat([b, Buffer.from([0xff])]) }]),
  invalidCode.map((c) => [{ opcode: 8, payload: closePayload(c) }]),
  fc.constant([{ opcode: 8, payload: Buffer.from([3]) }]),
  fc.constant([{ opcode: 8, payload: Buffer.from([0x03, 0xe8, 0xc3]) }]),
  fc.bigInt({ min: BigInt(MAX_PAYLOAD + 1), max: 2n ** 63n - 1n }).map((n) => [{ opcode: 2, length: n }]),
  fc.uint8Array({ minLength: 1, maxLength: 100 }).map((b) => [{ opcode: 2, rsv1: true, payload: b }]),
  fc.constant([{ opcode: 2, rsv1: true, payload: deflated(Buffer.alloc(200_000)) }]),
);

/** Raw bytes that are not frames at all. */
const garbage = fc.uint8Array({ minLength: 1, maxLength: 64 }).map((b) => Buffer.from(b));

const scenario = fc.record({
  parts: fc.array(
    fc.oneof(
      { weight: 6, arbitrary: frameSpec.map((specs) => Buffer.concat(specs.map(frame))) },
      { weight: 1, arbitrary: garbage },
    ),
    {
      maxLength: 8,
    },
  ),
  cuts: fc.array(fc.integer({ min: 1, max: 4096 }), { maxLength: 12 }),
  ending: fc.constantFrom('close-then-end', 'end', 'reset', 'reset-midway'),
  midway: fc.double({ min: 0, max: 1, noNaN: true }),
});

describe('fuzzing the server over real sockets', () => {
  let wss: WebSocketServer;
  let port: number;
  let url: string;
  let before: ReturnType<typeof snapshotHandles>;
  const byPath = new Map<string, Observed>();
  let run = 0;

  beforeAll(async () => {
    before = snapshotHandles();
    ({ wss, port, url } = await echoServer({
      perMessageDeflate: true,
      maxPayload: MAX_PAYLOAD,
      handshakeTimeout: 2000,
    }));
    wss.on('connection', (ws, req) => byPath.set(req.url ?? '', observe(ws)));
  });

  afterAll(async () => {
    await closeServer(wss);
    expect(wss.clients!.size).toBe(0);
    await assertNoHandlesLeft(before);
  });

  test('the server never throws, ends each connection once with a legal code or 1006, and keeps serving', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ parts, cuts, ending, midway }) => {
        const path = `/fuzz/${run++}`;
        const peer = await RawPeer.open(port, path, 'Sec-WebSocket-Extensions: permessage-deflate\r\n');
        const seen = byPath.get(path)!;
        expect(seen).toBeDefined();
        let wire = Buffer.concat(parts);
        if (ending === 'close-then-end')
          wire = Buffer.concat([wire, frame({ opcode: 8, payload: closePayload(1000) })]);
        const stopAt = ending === 'reset-midway' ? Math.floor(wire.length * midway) : wire.length;
        let off = 0;
        let i = 0;
        while (off < stopAt && !peer.socket.destroyed && peer.socket.writable) {
          const end = Math.min(stopAt, off + (cuts.length > 0 ? cuts[i++ % cuts.length]! : stopAt));
          peer.socket.write(wire.subarray(off, end));
          off = end;
          await new Promise((r) => setImmediate(r));
        }
        if (ending === 'reset' || ending === 'reset-midway') peer.socket.resetAndDestroy();
        else if (!peer.socket.destroyed) peer.socket.end();
        await seen.closed;
        await peer.closed;
        // One close, with a code the server may report; at most one error.
        expect(seen.closes.length).toBe(1);
        const { code, wasClean } = seen.closes[0]!;
        expect(legalReported(code)).toBe(true);
        if (code === 1006) expect(wasClean).toBe(false);
        expect(seen.errors.length).toBeLessThanOrEqual(1);
        // Whatever close frame the server wrote carries a code it may send.
        const sent = peer.reader.frames.find((f) => f.opcode === 8);
        if (sent && sent.payload.length >= 2) expect(legalSent(sent.payload.readUInt16BE(0))).toBe(true);
        byPath.delete(path);
      }),
      propertySettings(process.env, 3),
    );
    await assertServes(url);
  }, 60_000);
});
