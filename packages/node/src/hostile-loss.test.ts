// Faults and losses: TCP resets and half-closes at every stage, on both ends (RFC 6455 7.1.5,
// 7.4.1: 1006 when the closing handshake did not complete), and the guarantees that nothing sent
// or received is lost around a close (RFC 6455 7.1.2: data before the close frame is delivered).
import net from 'node:net';
import { computeAccept } from '@rfc6455/codec';
import { WebSocket } from './index.js';
import { closeServer, echoServer } from './testing/helpers.js';
import {
  RawPeer,
  assertNoHandlesLeft,
  nextConnection,
  observe,
  sleep,
  snapshotHandles,
  withServer,
} from './testing/raw-peer.js';
import type { Observed } from './testing/raw-peer.js';
import { closePayload, frame, FrameReader, upgradeRequest } from '@rfc6455/test-support';

type Fault = 'reset' | 'half-close';
const FAULTS: Fault[] = ['reset', 'half-close'];

function fault(socket: net.Socket, how: Fault): void {
  if (how === 'reset') socket.resetAndDestroy();
  else socket.end();
}

/** After the first close, waits a little for duplicates, then checks: one close, 1006, not clean, at most one error. */
async function expectAbnormalClose(seen: Observed): Promise<void> {
  await seen.closed;
  await sleep(30);
  expect(seen.closes).toEqual([{ code: 1006, reason: '', wasClean: false }]);
  expect(seen.errors.length).toBeLessThanOrEqual(1);
}

describe('server side: a peer that resets or half-closes (RFC 6455 7.1.5)', () => {
  test.each(FAULTS)('%s in the middle of a frame', async (how) => {
    await withServer({}, async ({ port, wss }) => {
      const conn = nextConnection(wss);
      const peer = await RawPeer.open(port);
      const { seen } = await conn;
      const f = frame({ opcode: 2, payload: Buffer.alloc(1000, 1) });
      await peer.write(f.subarray(0, 500));
      fault(peer.socket, how);
      await expectAbnormalClose(seen);
      await peer.closed;
    });
  });

  test.each(FAULTS)('%s in the middle of the handshake', async (how) => {
    // The default handshake timeout (10 s) is far past the test's: the server must not wait for it.
    await withServer({}, async ({ port, wss }) => {
      let connections = 0;
      wss.on('connection', () => connections++);
      const request = upgradeRequest('/');
      const peer = await RawPeer.connect(port, request.slice(0, 40));
      await sleep(20);
      fault(peer.socket, how);
      await peer.closed;
      expect(connections).toBe(0);
    });
  });

  test.each(FAULTS)('%s during the closing handshake', async (how) => {
    await withServer({}, async ({ port, wss }) => {
      const conn = nextConnection(wss);
      const peer = await RawPeer.open(port);
      const { ws, seen } = await conn;
      ws.close(1000, 'bye');
      expect((await peer.closeFrame()).code).toBe(1000);
      fault(peer.socket, how);
      await expectAbnormalClose(seen);
      await peer.closed;
    });
  });
});

/** A raw server that answers one upgrade; `script` then does what it wants with the socket. */
async function rawServer(
  script: (socket: net.Socket, reader: FrameReader, requestHead: string) => void | Promise<void>,
): Promise<{ url: string; close: () => Promise<void> }> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    let buf = Buffer.alloc(0);
    const reader = new FrameReader();
    let head = '';
    socket.on('data', (chunk: Buffer) => {
      if (head !== '') {
        reader.push(chunk);
        return;
      }
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) return;
      head = buf.subarray(0, end + 4).toString('latin1');
      void script(socket, reader, head);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  return {
    url: `ws://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

function acceptFor(head: string): string {
  const key = /Sec-WebSocket-Key: *(\S+)/i.exec(head)![1]!;
  return `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${computeAccept(key)}\r\n\r\n`;
}

async function clientRound(
  script: (socket: net.Socket, reader: FrameReader, head: string) => void | Promise<void>,
  drive: (ws: WebSocket) => void,
): Promise<Observed> {
  const before = snapshotHandles();
  const server = await rawServer(script);
  const ws = new WebSocket(server.url);
  const seen = observe(ws);
  drive(ws);
  await expectAbnormalClose(seen);
  await server.close();
  await assertNoHandlesLeft(before);
  return seen;
}

describe('client side: a server that resets or half-closes (RFC 6455 7.1.5)', () => {
  test.each(FAULTS)('%s in the middle of the handshake: error at most once, close 1006 once', async (how) => {
    const seen = await clientRound(
      (socket, _reader, head) => {
        socket.write(acceptFor(head).slice(0, 30));
        setImmediate(() => fault(socket, how));
      },
      () => {},
    );
    expect(seen.errors.length).toBe(1);
  });

  test.each(FAULTS)('%s in the middle of a frame', async (how) => {
    await clientRound(
      (socket, _reader, head) => {
        socket.write(acceptFor(head));
        socket.write(frame({ opcode: 1, payload: 'hello world', mask: false }).subarray(0, 6));
        setImmediate(() => fault(socket, how));
      },
      () => {},
    );
  });

  test.each(FAULTS)('%s during the closing handshake', async (how) => {
    await clientRound(
      (socket, reader, head) => {
        socket.write(acceptFor(head));
        socket.on('data', () => {
          if (reader.frames.some((f) => f.opcode === 8)) fault(socket, how);
        });
      },
      (ws) => ws.once('open', () => ws.close(1000)),
    );
  });

  test('a reset with no error listener does not throw', async () => {
    const before = snapshotHandles();
    const server = await rawServer((socket, _reader, head) => {
      socket.write(acceptFor(head));
      socket.write(frame({ opcode: 2, payload: Buffer.alloc(100), mask: false }).subarray(0, 50));
      setImmediate(() => socket.resetAndDestroy());
    });
    const ws = new WebSocket(server.url);
    const [code] = await new Promise<[number]>((resolve) => ws.once('close', (c: number) => resolve([c])));
    expect(code).toBe(1006);
    await server.close();
    await assertNoHandlesLeft(before);
  });
});

/** Message i: its number, then pseudo-random filler (deflate cannot shrink it much), 0..256 KiB long. */
function numbered(i: number): Buffer {
  const size = (i * 7919) % (256 * 1024);
  const b = Buffer.alloc(4 + size);
  b.writeUInt32BE(i);
  let x = i + 1;
  for (let j = 4; j < b.length; j++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    // Every fourth message is a run of one byte: compressible, so both kinds of frames are in the stream.
    b[j] = i % 4 === 0 ? i & 0xff : x & 0xff;
  }
  return b;
}

describe('nothing lost (RFC 6455 7.1.2)', () => {
  test.each([
    ['without compression', false],
    ['with permessage-deflate', true],
  ])(
    'every message sent before close() arrives before the close frame, in order, under backpressure (%s)',
    async (_name, deflate) => {
      await withServer({ perMessageDeflate: deflate }, async ({ url, wss }) => {
        const count = 200;
        const conn = nextConnection(wss);
        const client = new WebSocket(url, { perMessageDeflate: deflate });
        const clientSeen = observe(client);
        await new Promise((r) => client.once('open', r));
        const { ws, seen } = await conn;
        expect(ws.extensions !== '').toBe(deflate);
        // The client stops reading, so the server's sends pile up behind a full socket.
        client.pause();
        let sawBackpressure = false;
        for (let i = 0; i < count; i++) if (!ws.send(numbered(i))) sawBackpressure = true;
        ws.close(1000, 'done');
        client.resume();
        expect(sawBackpressure).toBe(true);
        await clientSeen.closed;
        expect(clientSeen.messages.length).toBe(count);
        clientSeen.messages.forEach((m, i) => expect((m as Buffer).equals(numbered(i))).toBe(true));
        expect(clientSeen.closes).toEqual([{ code: 1000, reason: 'done', wasClean: true }]);
        await seen.closed;
        expect(seen.closes[0]).toMatchObject({ code: 1000, wasClean: true });
      });
    },
  );

  test('messages the client sent before close() all reach the server first, in order (with permessage-deflate)', async () => {
    await withServer({ perMessageDeflate: true }, async ({ url, wss }) => {
      const count = 200;
      const conn = nextConnection(wss);
      const client = new WebSocket(url, { perMessageDeflate: true });
      observe(client);
      await new Promise((r) => client.once('open', r));
      const { ws, seen } = await conn;
      // Only record (the echo would add traffic to a closing connection).
      ws.removeAllListeners('message');
      ws.on('message', (data) => seen.messages.push(data as Buffer));
      ws.pause();
      for (let i = 0; i < count; i++) client.send(numbered(i));
      client.close(1000);
      ws.resume();
      await seen.closed;
      const got = seen.messages;
      expect(got.length).toBe(count);
      got.forEach((m, i) => expect((m as Buffer).equals(numbered(i))).toBe(true));
      expect(seen.closes[0]).toMatchObject({ code: 1000, wasClean: true });
    });
  });

  test.each([
    ['in one write', 1 << 30],
    ['split into small TCP chunks', 37],
  ])(
    'messages that arrive with the peer\'s close frame are all delivered before "close" (%s)',
    async (_n, slice) => {
      await withServer({}, async ({ port, wss }) => {
        const conn = nextConnection(wss);
        const peer = await RawPeer.open(port);
        const { ws, seen } = await conn;
        let atClose = -1;
        ws.on('close', () => (atClose = seen.messages.length));
        const frames = Array.from({ length: 100 }, (_v, i) => frame({ opcode: 1, payload: `message ${i}` }));
        frames.push(frame({ opcode: 8, payload: closePayload(1000, 'last') }));
        const wire = Buffer.concat(frames);
        for (let off = 0; off < wire.length; off += slice) peer.socket.write(wire.subarray(off, off + slice));
        await seen.closed;
        expect(atClose).toBe(100);
        expect(seen.messages).toEqual(Array.from({ length: 100 }, (_v, i) => `message ${i}`));
        expect(seen.closes).toEqual([{ code: 1000, reason: 'last', wasClean: true }]);
        await peer.closed;
      });
    },
  );
});

describe('wss.close() under load (RFC 6455 7.4.1: 1001 going away)', () => {
  test('every client busy in an echo loop gets 1001, and no handle remains', async () => {
    const before = snapshotHandles();
    const { wss, url } = await echoServer({ perMessageDeflate: true });
    const clients = await Promise.all(
      Array.from({ length: 50 }, async (_v, i) => {
        const ws = new WebSocket(url, { perMessageDeflate: i % 2 === 0 });
        const seen = observe(ws);
        await new Promise((r) => ws.once('open', r));
        // Keep the line busy: every echo triggers the next message.
        ws.on('message', (data) => {
          if (ws.readyState === WebSocket.OPEN) ws.send(data);
        });
        for (let k = 0; k < 4; k++) ws.send(Buffer.alloc(2000 * (k + 1), k));
        return seen;
      }),
    );
    await sleep(100);
    expect(wss.clients!.size).toBe(50);
    await closeServer(wss);
    await Promise.all(clients.map((c) => c.closed));
    for (const c of clients)
      expect(c.closes).toEqual([expect.objectContaining({ code: 1001, wasClean: true })]);
    expect(wss.clients!.size).toBe(0);
    await assertNoHandlesLeft(before);
  });
});
