// `port` mode reads the request head itself (request-head.ts): what a ws user relies on from `req`,
// and that no byte around the head is lost or read too early.
import http from 'node:http';
import { RawPeer, sleep, withServer } from './testing/raw-peer.js';
import { closeServer, listen } from './testing/helpers.js';
import type { VerifyClientInfo, WebSocket } from './index.js';
import { frame, upgradeRequest } from '@rfc6455/test-support';

describe("port mode's request (RFC 6455 4.2.1: the client's opening handshake)", () => {
  test('req is an http.IncomingMessage with url, method, version, raw and folded headers', async () => {
    const { wss, port } = await listen();
    const seen = new Promise<http.IncomingMessage>((resolve) =>
      wss.once('connection', (_ws, req) => resolve(req)),
    );
    const peer = await RawPeer.open(
      port,
      '/chat?room=1',
      'X-Twice: a\r\nx-twice: b\r\nSet-Cookie: c=1\r\nSet-Cookie: d=2\r\nOrigin: http://example.test\r\n',
    );
    const req = await seen;
    expect(req).toBeInstanceOf(http.IncomingMessage);
    expect(req.method).toBe('GET');
    expect(req.url).toBe('/chat?room=1');
    expect(req.httpVersion).toBe('1.1');
    expect([req.httpVersionMajor, req.httpVersionMinor]).toEqual([1, 1]);
    expect(req.headers['x-twice']).toBe('a, b');
    expect(req.headers['set-cookie']).toEqual(['c=1', 'd=2']);
    expect(req.headers.origin).toBe('http://example.test');
    expect(req.headers.upgrade).toBe('websocket');
    expect(req.rawHeaders).toContain('x-twice');
    expect(req.socket.remoteAddress).toBe('127.0.0.1');
    peer.socket.destroy();
    await peer.closed;
    await closeServer(wss);
  });

  test('verifyClient sees the same request; its origin comes from the Origin header', async () => {
    const seen: [string | undefined, string | undefined][] = [];
    await withServer(
      {
        verifyClient: (info: VerifyClientInfo) => {
          seen.push([info.origin, info.req.url]);
          return true;
        },
      },
      async ({ port }) => {
        const peer = await RawPeer.open(port, '/x', 'Origin: https://app.test\r\n');
        peer.socket.destroy();
        await peer.closed;
      },
    );
    expect(seen[0]).toEqual(['https://app.test', '/x']);
  });
});

describe('bytes around the head', () => {
  test('frames in the same write as the head are delivered, in order', async () => {
    await withServer({}, async ({ port }) => {
      const frames = Buffer.concat([
        frame({ opcode: 1, payload: Buffer.from('one') }),
        frame({ opcode: 1, payload: Buffer.from('two') }),
      ]);
      const peer = await RawPeer.connect(port, Buffer.concat([Buffer.from(upgradeRequest('/')), frames]));
      await peer.until(() => peer.reader.frames.length >= 2 || undefined, 'two echoes');
      expect(peer.reader.frames.map((f) => f.payload.toString())).toEqual(['one', 'two']);
      peer.socket.destroy();
      await peer.closed;
    });
  });

  test('frames sent while an async verifyClient decides wait for the WebSocket, none lost', async () => {
    await withServer(
      { verifyClient: (_info, done) => void setTimeout(() => done(true), 100) },
      async ({ port }) => {
        const peer = await RawPeer.connect(port, upgradeRequest('/'));
        await sleep(20);
        await peer.write(frame({ opcode: 1, payload: Buffer.from('early') }));
        await peer.until(() => peer.reader.frames.length >= 1 || undefined, 'the echo');
        expect(peer.head).toMatch(/^HTTP\/1\.1 101 /);
        expect(peer.reader.frames[0]!.payload.toString()).toBe('early');
        peer.socket.destroy();
        await peer.closed;
      },
    );
  });

  test("the 'connection' listener may pause the socket before any frame is read", async () => {
    const { wss, port } = await listen();
    const got: string[] = [];
    const paused = new Promise<WebSocket>((resolve) =>
      wss.once('connection', (ws: WebSocket) => {
        ws.pause();
        ws.on('message', (data) => {
          got.push(String(data));
          ws.send(String(data));
        });
        resolve(ws);
      }),
    );
    const peer = await RawPeer.connect(
      port,
      Buffer.concat([Buffer.from(upgradeRequest('/')), frame({ opcode: 1, payload: Buffer.from('held') })]),
    );
    const ws = await paused;
    await sleep(50);
    expect(got).toEqual([]);
    ws.resume();
    await peer.until(() => peer.reader.frames.length >= 1 || undefined, 'the echo');
    expect(got).toEqual(['held']);
    peer.socket.destroy();
    await peer.closed;
    await closeServer(wss);
  });
});

describe('sockets that never finish their head', () => {
  test('a peer that half-closes mid-head is dropped without an answer', async () => {
    await withServer({}, async ({ port }) => {
      const peer = await RawPeer.connect(port, 'GET / HTTP/1.1\r\nHost: x\r\n');
      peer.socket.end();
      await peer.closed;
      expect(peer.raw.length).toBe(0);
    });
  });

  test('with handshakeTimeout 0, close() still destroys a socket stuck in its head', async () => {
    const { wss, port } = await listen({ handshakeTimeout: 0 });
    const peer = await RawPeer.connect(port, 'GET / HTTP/1.1\r\nHost: x\r\n');
    await sleep(50);
    // The listening socket closes only once every accepted one has: this would hang without it.
    await closeServer(wss);
    await peer.closed;
    expect(peer.raw.length).toBe(0);
  });
});
