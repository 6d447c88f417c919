// keepalive, handshakeTimeout and closeTimeout, with 50 ms timers over 127.0.0.1 sockets. Every wait is
// bounded (RawClient.until: 5 s); nothing asserts how long anything took.
import { createHash } from 'node:crypto';
import net from 'node:net';
import { WebSocketServer, WebSocket as WsWebSocket } from 'ws';
import { closeOf, upgradeRequest } from '@rfc6455/test-support';
import { HandshakeError, accept, connect } from './index.js';
import { RawClient, once, streamsServer, tcpConnect, toByteStream } from './testing/helpers.js';

async function openRaw(port: number): Promise<RawClient> {
  const raw = await RawClient.open(port);
  raw.write(upgradeRequest());
  await raw.until(() => raw.head !== '', 'the 101');
  expect(raw.head).toMatch(/^HTTP\/1\.1 101 /);
  return raw;
}

/** A TCP server on 127.0.0.1 that hands each socket to `onSocket` and never speaks by itself. */
async function silentServer(onSocket: (socket: net.Socket) => void = () => {}) {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    onSocket(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('keepalive', () => {
  test('the server pings every interval and a peer that answers stays open', async () => {
    const server = await streamsServer({ keepalive: { interval: 50, timeout: 200 } });
    const client = new WsWebSocket(server.url); // ws answers every ping with a pong
    let pings = 0;
    client.on('ping', () => pings++);
    await new Promise((resolve) => client.once('open', resolve));
    const ws = await server.next();
    const deadline = Date.now() + 5000;
    while (pings < 6 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(pings).toBeGreaterThanOrEqual(6); // six intervals: past the 200 ms pong timeout three times
    expect([ws.readyState, client.readyState]).toEqual([1, 1]);
    const closed = once<CloseEvent>(ws, 'close');
    client.close(1000);
    expect((await closed).code).toBe(1000);
    await server.close();
  });

  test('the client pings every interval too', async () => {
    const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise<void>((resolve) => wss.once('listening', resolve));
    const port = (wss.address() as net.AddressInfo).port;
    let pings = 0;
    wss.on('connection', (peer) => peer.on('ping', () => pings++));
    const ws = await connect(toByteStream(await tcpConnect(port)), `ws://127.0.0.1:${port}/`, {
      keepalive: { interval: 50 },
    });
    const deadline = Date.now() + 5000;
    while (pings < 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(pings).toBeGreaterThanOrEqual(4);
    expect(ws.readyState).toBe(1);
    ws.close();
    expect(await ws.closed).toEqual({ closeCode: 1005, reason: '' });
    await new Promise<void>((resolve) => wss.close(() => resolve()));
  });

  test('a peer that never answers the pings is dropped after the timeout: 1006, the stream ended', async () => {
    const server = await streamsServer({ keepalive: { interval: 50, timeout: 50 } });
    const raw = await openRaw(server.port); // reads, never answers
    const ws = await server.next();
    const error = once<Event>(ws, 'error');
    const closed = once<CloseEvent>(ws, 'close');
    const ev = await closed;
    await error;
    expect([ev.code, ev.wasClean]).toEqual([1006, false]);
    await expect(ws.closed).rejects.toMatchObject({ name: 'WebSocketError', closeCode: 1006 });
    await raw.until(() => raw.ended, 'the server to end the TCP connection');
    const opcodes = raw.frames.frames.map((f) => f.opcode);
    expect(opcodes.length).toBeGreaterThan(0);
    expect(opcodes.every((op) => op === 9)).toBe(true); // pings only: no close frame, the peer is gone
    await server.close();
  });
});

describe('handshakeTimeout', () => {
  test('accept() rejects and ends the stream when the request never comes', async () => {
    const server = await streamsServer({ handshakeTimeout: 50 });
    const raw = await RawClient.open(server.port);
    raw.write('GET / HTTP/1.1\r\n'); // the head never ends
    await raw.until(() => server.failures.length === 1, 'accept() to reject');
    expect(server.failures[0]).toBeInstanceOf(HandshakeError);
    expect(server.failures[0]!.message).toMatch(/more than 50 ms/);
    await raw.until(() => raw.ended, 'the server to end the TCP connection');
    expect(raw.raw.byteLength).toBe(0);
    expect(server.sockets).toHaveLength(0);
    await server.close();
  });

  test('connect() rejects and ends the stream when the answer never comes', async () => {
    let request = '';
    let ended = false;
    const server = await silentServer((socket) => {
      socket.on('data', (d: Buffer) => (request += d.toString('latin1')));
      socket.on('end', () => (ended = true));
      socket.on('close', () => (ended = true));
    });
    const socket = await tcpConnect(server.port);
    const opening = connect(toByteStream(socket), `ws://127.0.0.1:${server.port}/`, {
      handshakeTimeout: 50,
    });
    await expect(opening).rejects.toBeInstanceOf(HandshakeError);
    await expect(opening).rejects.toThrow(/more than 50 ms/);
    const raw = new RawClient(socket); // only for its bounded wait
    await raw.until(() => ended, 'the client to end the TCP connection');
    expect(request).toMatch(/^GET \/ HTTP\/1\.1\r\n/);
    await server.close();
  });

  test('accept() over an in-memory stream pair: rejects, cancels the readable and aborts the writable', async () => {
    const ended: string[] = [];
    const readable = new ReadableStream<Uint8Array>({
      start: (c) => c.enqueue(new TextEncoder().encode('GET / HTTP/1.1\r\n')), // the head never ends
      cancel: () => void ended.push('readable cancelled'),
    });
    const writable = new WritableStream<Uint8Array>({
      write: () => void ended.push('written'),
      abort: () => void ended.push('writable aborted'),
    });
    await expect(accept({ readable, writable }, { handshakeTimeout: 50 })).rejects.toThrow(/more than 50 ms/);
    expect(ended.sort()).toEqual(['readable cancelled', 'writable aborted']);
  });
});

describe('closeTimeout', () => {
  test('a server whose close the peer never answers ends the TCP connection after closeTimeout', async () => {
    const server = await streamsServer({ closeTimeout: 50 });
    const raw = await openRaw(server.port); // never answers the close, never ends TCP
    const ws = await server.next();
    const closed = once<CloseEvent>(ws, 'close');
    ws.close(1000, 'bye');
    await raw.until(() => raw.ended, 'the server to end the TCP connection');
    const close = raw.frames.frames.find((f) => f.opcode === 8)!;
    expect(closeOf(close.payload)).toEqual([1000, 'bye']);
    const ev = await closed;
    expect([ev.code, ev.wasClean]).toEqual([1006, false]);
    await server.close();
  });

  test('a client whose server never ends TCP after the closing handshake ends it after closeTimeout', async () => {
    // A server that answers the upgrade and the close frame, and then keeps the TCP connection open.
    let serverSideEnded = false;
    const server = await silentServer((socket) => {
      let upgraded = false;
      socket.on('data', (d: Buffer) => {
        if (!upgraded) {
          upgraded = true;
          const key = /Sec-WebSocket-Key: (\S+)/i.exec(d.toString('latin1'))![1]!;
          const acceptKey = createHash('sha1')
            .update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11')
            .digest('base64');
          socket.write(
            'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
              `Sec-WebSocket-Accept: ${acceptKey}\r\n\r\n`,
          );
        } else if ((d[0]! & 0x0f) === 8) socket.write(Buffer.from([0x88, 0x02, 0x03, 0xe8]));
      });
      socket.on('end', () => (serverSideEnded = true));
      socket.on('close', () => (serverSideEnded = true));
    });
    const socket = await tcpConnect(server.port);
    const ws = await connect(toByteStream(socket), `ws://127.0.0.1:${server.port}/`, {
      closeTimeout: 50,
      perMessageDeflate: false,
    });
    const closed = once<CloseEvent>(ws, 'close');
    ws.close(1000);
    const ev = await closed; // only once the stream has ended: the closing handshake itself was clean
    expect([ev.code, ev.wasClean]).toEqual([1000, true]);
    const raw = new RawClient(socket); // only for its bounded wait
    await raw.until(() => serverSideEnded, 'the client to end the TCP connection');
    await server.close();
  });
});
