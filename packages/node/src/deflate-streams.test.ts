// permessage-deflate messages made the ways RFC 7692 allows but zlib streams do not produce by
// themselves: messages that end with a final (BFINAL=1) block (7.2.3.4), two deflate streams in one
// message, and, on the hostile side, messages cut inside a block. A raw peer writes the frames; we
// receive them, as a server and as a client. Ours only: ws 8.23 loses the window after a final block
// (the next message that refers back fails with Z_DATA_ERROR, 'invalid distance too far back').
import { createHash } from 'node:crypto';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';
import { OURS, listenWith, next, shutdown } from './testing/differential.js';
import type { DiffSocket } from './testing/differential.js';
import { RawPeer } from './testing/raw-peer.js';
import { frame, FrameReader } from '@rfc6455/test-support';
import type { ParsedFrame } from '@rfc6455/test-support';

const WINDOW = 1 << 15;
const DEFLATE_OFFER = 'Sec-WebSocket-Extensions: permessage-deflate\r\n';

type Ending = 'sync' | 'final' | 'final-bare';

/**
 * A sender with context takeover built from one-shot zlib calls: every message is a new deflate
 * stream whose dictionary is the last 32 KiB sent, so it refers back across the previous message's
 * end, which is what RFC 7692 7.2.2 lets it do whatever that message ended with.
 */
class Sender {
  private history = Buffer.alloc(0);

  /** One part of a message: `sync` ends with a sync flush (tail removed, 7.2.1); `final` with a
   *  final block and the 0x00 that 7.2.1 leaves of the empty stored block (7.2.3.4); `final-bare`
   *  with the final block alone. */
  part(data: Buffer, ending: Ending): Buffer {
    const options: zlib.ZlibOptions = {
      finishFlush: ending === 'sync' ? zlib.constants.Z_SYNC_FLUSH : zlib.constants.Z_FINISH,
    };
    if (this.history.byteLength > 0) options.dictionary = this.history;
    let z = zlib.deflateRawSync(data, options);
    if (ending === 'sync') {
      expect(z.subarray(-4)).toEqual(Buffer.from([0, 0, 0xff, 0xff]));
      z = z.subarray(0, -4);
    } else if (ending === 'final') {
      z = Buffer.concat([z, Buffer.from([0x00])]);
    }
    const all = Buffer.concat([this.history, data]);
    this.history = all.subarray(Math.max(0, all.byteLength - WINDOW));
    return z;
  }
}

const PHRASE =
  'permessage-deflate keeps its sliding window from one message to the next, final block or not; ';

function text(i: number): Buffer {
  return Buffer.from(`message ${i}: ${PHRASE.repeat(3)}${String(i).repeat(i)}`);
}

/** The messages and their payloads (frames of one message as a list), made once for both roles. */
function script(): { expected: string[]; messages: Buffer[][] } {
  const s = new Sender();
  const endings: Ending[] = ['sync', 'final', 'sync', 'sync', 'final-bare', 'sync', 'final', 'final', 'sync'];
  const expected: string[] = [];
  const messages: Buffer[][] = [];
  endings.forEach((ending, i) => {
    const t = text(i);
    const z = s.part(t, ending);
    // Every message after the first refers back into earlier ones (it is far smaller than the text).
    if (i > 0) expect(z.byteLength).toBeLessThan(t.byteLength / 4);
    expected.push(t.toString());
    // Some messages in two frames, cut anywhere.
    messages.push(i % 3 === 1 ? [z.subarray(0, 3), z.subarray(3)] : [z]);
  });
  // Two deflate streams in one message (the second follows the padded final block, 7.2.1), three frames.
  const a = Buffer.from(`first half ${PHRASE}`);
  const b = Buffer.from(`second half ${PHRASE}`);
  const z = Buffer.concat([s.part(a, 'final-bare'), s.part(b, 'sync')]);
  expected.push(`${a.toString()}${b.toString()}`);
  messages.push([z.subarray(0, 2), z.subarray(2, z.byteLength - 2), z.subarray(z.byteLength - 2)]);
  // And one more ordinary message after it.
  const t = text(20);
  expected.push(t.toString());
  messages.push([s.part(t, 'sync')]);
  return { expected, messages };
}

/** The frames of one compressed text message: RSV1 on the first only (RFC 7692 6.1). */
function frames(parts: Buffer[], mask: boolean): Uint8Array[] {
  return parts.map((payload, i) =>
    frame({ opcode: i === 0 ? 1 : 0, payload, fin: i === parts.length - 1, rsv1: i === 0, mask }),
  );
}

/** A raw server: answers one upgrade with permessage-deflate, then hands over the socket. */
async function rawServer(): Promise<{
  server: net.Server;
  url: string;
  accepted: Promise<{ socket: net.Socket; reader: FrameReader; received: ParsedFrame[] }>;
}> {
  const server = net.createServer();
  const accepted = new Promise<{ socket: net.Socket; reader: FrameReader; received: ParsedFrame[] }>(
    (resolve) =>
      server.once('connection', (socket) => {
        let head = Buffer.alloc(0);
        const reader = new FrameReader();
        const received: ParsedFrame[] = [];
        const onData = (chunk: Buffer): void => {
          head = Buffer.concat([head, chunk]);
          const end = head.indexOf('\r\n\r\n');
          if (end === -1) return;
          socket.off('data', onData);
          const key = /sec-websocket-key: *(\S+)/i.exec(head.toString('latin1'))![1]!;
          const accept = createHash('sha1')
            .update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
            .digest('base64');
          socket.write(
            'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
              `Sec-WebSocket-Accept: ${accept}\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n`,
          );
          // The client's frames are masked; FrameReader skips the key, so unmask here.
          socket.on('data', (c: Buffer) => received.push(...reader.push(c)));
          resolve({ socket, reader, received });
        };
        socket.on('data', onData);
        socket.on('error', () => {});
      }),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { server, url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`, accepted };
}

/** Collects messages as text until `count` arrived or the socket closed. */
function collect(ws: DiffSocket, count: number): Promise<{ got: string[]; closed: number | null }> {
  return new Promise((resolve) => {
    const got: string[] = [];
    let closed: number | null = null;
    ws.on('message', (data: Buffer) => {
      got.push(String(data));
      if (got.length === count) resolve({ got, closed });
    });
    ws.on('error', () => {});
    ws.on('close', (code: number) => {
      closed = code;
      resolve({ got, closed });
    });
  });
}

const lib = OURS;

describe('messages that end with a final deflate block (RFC 7692 7.2.3.4)', () => {
  test('server role: every message from a raw client arrives intact', async () => {
    const { expected, messages } = script();
    const { wss, port } = await listenWith(lib, { perMessageDeflate: true });
    const connected = next<[DiffSocket]>(wss, 'connection');
    const peer = await RawPeer.open(port, '/', DEFLATE_OFFER);
    expect(peer.head).toMatch(/sec-websocket-extensions: permessage-deflate/i);
    const [ws] = await connected;
    const result = collect(ws, expected.length);
    for (const parts of messages) await peer.write(Buffer.concat(frames(parts, true)));
    const { got, closed } = await result;
    expect(closed).toBeNull();
    expect(got).toEqual(expected);
    peer.socket.destroy();
    await shutdown(wss);
  });

  test('client role: every message from a raw server arrives intact', async () => {
    const { expected, messages } = script();
    const { server, url, accepted } = await rawServer();
    const ws = new lib.WebSocket(url);
    const result = collect(ws, expected.length);
    await next(ws, 'open');
    expect(ws.extensions).toMatch(/permessage-deflate/);
    const { socket } = await accepted;
    for (const parts of messages) socket.write(Buffer.concat(frames(parts, false)));
    const { got, closed } = await result;
    expect(closed).toBeNull();
    expect(got).toEqual(expected);
    ws.terminate();
    socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
});

/**
 * A binary message that stops in the middle of a stored block: no sync-flush boundary. (Inflating it
 * with the tail appended reads the tail as 4 more bytes of data, so it comes out truncated and wrong.)
 */
function cutMessage(): Buffer {
  const whole = Buffer.from(Array.from({ length: 300 }, (_, i) => `word${(i * 7) % 13} `).join(''));
  const z = zlib.deflateRawSync(whole, { level: 0, finishFlush: zlib.constants.Z_SYNC_FLUSH });
  return z.subarray(0, Math.floor(z.byteLength / 2));
}

describe('a compressed message cut inside a deflate block', () => {
  test('server role: closed with 1007, no truncated message delivered', async () => {
    const { wss, port } = await listenWith(lib, { perMessageDeflate: true });
    const connected = next<[DiffSocket]>(wss, 'connection');
    const peer = await RawPeer.open(port, '/', DEFLATE_OFFER);
    const [ws] = await connected;
    const result = collect(ws, 1);
    const errors: { code?: string }[] = [];
    ws.on('error', (err: { code?: string }) => errors.push(err));
    await peer.write(frame({ opcode: 2, payload: cutMessage(), rsv1: true }));
    const close = await peer.closeFrame();
    expect(close.code).toBe(1007);
    expect(close.reason).toMatch(/could not be inflated/);
    const { got, closed } = await result;
    expect(got).toEqual([]);
    // The application sees a failed connection (1006, as in ws); 1007 went to the peer.
    expect(closed).toBe(1006);
    expect(errors.map((e) => e.code)).toEqual(['WS_ERR_INFLATE_FAILED']);
    peer.socket.destroy();
    await shutdown(wss);
  });

  test('client role: closed with 1007, no truncated message delivered', async () => {
    const { server, url, accepted } = await rawServer();
    const ws = new lib.WebSocket(url);
    const result = collect(ws, 1);
    await next(ws, 'open');
    const { socket, received } = await accepted;
    socket.write(frame({ opcode: 2, payload: cutMessage(), rsv1: true, mask: false }));
    // The client answers with its close frame and waits for the server to end TCP (RFC 6455 7.1.1).
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (received.some((f) => f.opcode === 8)) resolve();
        else socket.once('data', () => setImmediate(check));
      };
      check();
    });
    socket.end();
    const { got, closed } = await result;
    expect(got).toEqual([]);
    expect(closed).toBe(1006);
    const sent = received.find((f) => f.opcode === 8)!;
    // FrameReader skips the client's masking key; it sits just before the payload.
    const key = Buffer.from(sent.payload.buffer, sent.payload.byteOffset - 4, 4);
    expect(((sent.payload[0]! ^ key[0]!) << 8) | (sent.payload[1]! ^ key[1]!)).toBe(1007);
    socket.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
});
