// createWebSocketStream: a Duplex over a WebSocket, on both sides of a real connection.
import { pipeline } from 'node:stream/promises';
import { Readable, Writable } from 'node:stream';
import type { Duplex } from 'node:stream';
import { WebSocket, createWebSocketStream } from './index.js';
import { closeServer, closed, listen, opened } from './testing/helpers.js';
import { RawPeer, assertNoHandlesLeft, snapshotHandles } from './testing/raw-peer.js';
import { frame } from '@rfc6455/test-support';

/** A server whose every connection is wrapped in a stream piped into itself (an echo). */
async function streamEchoServer() {
  const s = await listen();
  const serverCloses: Promise<[number, string]>[] = [];
  s.wss.on('connection', (ws) => {
    serverCloses.push(closed(ws));
    const duplex = createWebSocketStream(ws);
    duplex.on('error', () => {});
    duplex.pipe(duplex);
  });
  return { ...s, serverCloses };
}

function readBytes(duplex: Duplex, n: number): Promise<Buffer> {
  return new Promise((resolve) => {
    const parts: Buffer[] = [];
    let total = 0;
    const on = (chunk: Buffer): void => {
      parts.push(chunk);
      total += chunk.length;
      if (total >= n) {
        duplex.off('data', on);
        resolve(Buffer.concat(parts));
      }
    };
    duplex.on('data', on);
  });
}

describe('createWebSocketStream', () => {
  test('writes before open wait for it; bytes come back in order; end() closes with 1000 on both sides', async () => {
    const before = snapshotHandles();
    const { wss, url, serverCloses } = await streamEchoServer();
    const ws = new WebSocket(url);
    const duplex = createWebSocketStream(ws);
    expect(ws.readyState).toBe(WebSocket.CONNECTING);
    duplex.write(Buffer.from('abc'));
    duplex.write('déf');
    const back = await readBytes(duplex, Buffer.byteLength('abcdéf'));
    expect(back.toString()).toBe('abcdéf');
    const ended = new Promise<void>((resolve) => duplex.once('end', () => resolve()));
    const streamClosed = new Promise<void>((resolve) => duplex.once('close', () => resolve()));
    const wsClosed = closed(ws);
    duplex.end();
    expect(await wsClosed).toEqual([1000, '']);
    await ended;
    await streamClosed;
    expect(await serverCloses[0]).toEqual([1000, '']);
    await closeServer(wss);
    await assertNoHandlesLeft(before);
  });

  test('pipeline: a 1 MiB readable through the socket and back, intact', async () => {
    const { wss, url } = await streamEchoServer();
    const ws = new WebSocket(url);
    const duplex = createWebSocketStream(ws, { highWaterMark: 16 * 1024 });
    const source = Buffer.alloc(1 << 20);
    for (let i = 0; i < source.length; i++) source[i] = (i * 7 + (i >> 9)) & 0xff;
    const chunks: Buffer[] = [];
    for (let off = 0; off < source.length; off += 10_000) chunks.push(source.subarray(off, off + 10_000));
    const received: Buffer[] = [];
    let total = 0;
    const sink = new Writable({
      write(chunk: Buffer, _enc, cb) {
        received.push(chunk);
        total += chunk.length;
        // Everything is back: ending our side closes the WebSocket, which ends the readable side.
        if (total === source.length) duplex.end();
        cb();
      },
    });
    await Promise.all([pipeline(Readable.from(chunks), duplex, { end: false }), pipeline(duplex, sink)]);
    expect(Buffer.concat(received).equals(source)).toBe(true);
    expect(ws.readyState).toBe(WebSocket.CLOSED);
    await closeServer(wss);
  });

  test('a reader that does not read pauses the socket; reading again delivers everything in order', async () => {
    const { wss, url } = await listen();
    const count = 200;
    const payload = Buffer.alloc(4096, 1);
    wss.on('connection', (ws) => {
      for (let i = 0; i < count; i++) {
        payload.writeUInt32BE(i, 0);
        ws.send(Buffer.from(payload));
      }
    });
    const ws = new WebSocket(url);
    const duplex = createWebSocketStream(ws, { highWaterMark: 8 * 1024 });
    await opened(ws);
    // Nobody reads: the stream fills past its highWaterMark and pauses the WebSocket.
    await new Promise<void>((resolve) => {
      const check = (): void => (ws.isPaused ? resolve() : void setTimeout(check, 5));
      check();
    });
    expect(duplex.readableLength).toBeGreaterThanOrEqual(8 * 1024);
    const all = await readBytes(duplex, count * payload.length);
    const seq: number[] = [];
    for (let i = 0; i < count; i++) seq.push(all.readUInt32BE(i * payload.length));
    expect(seq).toEqual(Array.from({ length: count }, (_, i) => i));
    expect(ws.isPaused).toBe(false);
    const done = closed(ws);
    duplex.destroy();
    expect((await done)[0]).toBe(1006);
    await closeServer(wss);
  });

  test('destroy() terminates the WebSocket (1006 on both sides); a peer error destroys the stream with it', async () => {
    const before = snapshotHandles();
    const { wss, url, port } = await listen();
    const serverSide = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
    const ws = new WebSocket(url);
    const duplex = createWebSocketStream(ws);
    await opened(ws);
    const server = await serverSide;
    const serverClosed = closed(server);
    const streamClosed = new Promise<void>((resolve) => duplex.once('close', () => resolve()));
    duplex.destroy();
    await streamClosed;
    expect(ws.readyState).toBe(WebSocket.CLOSED);
    expect((await serverClosed)[0]).toBe(1006);

    // A protocol violation from the peer (an unmasked frame to a server, RFC 6455 5.1).
    const serverSide2 = new Promise<WebSocket>((resolve) => wss.once('connection', resolve));
    const peer = await RawPeer.open(port);
    const duplex2 = createWebSocketStream(await serverSide2);
    const error = new Promise<Error>((resolve) => duplex2.once('error', resolve));
    await peer.write(frame({ opcode: 1, payload: 'A', mask: false }));
    const err = (await error) as Error & { closeCode?: number };
    expect(err.closeCode).toBe(1002);
    expect(duplex2.destroyed).toBe(true);
    expect((await peer.closeFrame()).code).toBe(1002);
    await peer.closed;
    await closeServer(wss);
    await assertNoHandlesLeft(before);
  });

  test('readableObjectMode: text messages read as strings, binary as Buffers (whatever binaryType was)', async () => {
    const { wss, url } = await listen();
    wss.on('connection', (ws) => {
      ws.send('text');
      ws.send(Buffer.from([1, 2]));
      ws.close(1000);
    });
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    const duplex = createWebSocketStream(ws, { readableObjectMode: true });
    expect(ws.binaryType).toBe('nodebuffer');
    const items: unknown[] = [];
    for await (const item of duplex) items.push(item);
    expect(items).toEqual(['text', Buffer.from([1, 2])]);
    expect(ws.readyState).toBe(WebSocket.CLOSED);
    await closeServer(wss);
  });

  test('a handshake that fails: the stream is destroyed with that error; pending writes fail', async () => {
    const { wss, url } = await listen({ verifyClient: () => false });
    const ws = new WebSocket(url);
    const duplex = createWebSocketStream(ws);
    const failed = new Promise<Error>((resolve) => duplex.once('error', resolve));
    const writeResult = new Promise<Error | null | undefined>((resolve) =>
      duplex.write('never', (err) => resolve(err)),
    );
    expect((await failed).message).toBe('Unexpected server response: 401 Unauthorized');
    expect(await writeResult).toBeInstanceOf(Error);
    expect(duplex.destroyed).toBe(true);
    expect(ws.readyState).toBe(WebSocket.CLOSED);
    await closeServer(wss);
  });

  test('misuse throws with what to pass', () => {
    expect(() => createWebSocketStream({} as WebSocket)).toThrow(/pass a WebSocket from @rfc6455\/node/);
  });
});
