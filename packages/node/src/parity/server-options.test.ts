// WebSocketServer options and events, the same scenario against ws and against us.
import type { IncomingMessage } from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import { LIBS, listenWith, next, shutdown } from '../testing/differential.js';
import type { DiffSocket } from '../testing/differential.js';

describe.each(LIBS)('%s: subprotocol selection', (_name, lib) => {
  test('without handleProtocols the first offered subprotocol is selected', async () => {
    const { wss, url } = await listenWith(lib);
    const accepted = next<[DiffSocket]>(wss, 'connection');
    const ws = new lib.WebSocket(url, ['second-choice', 'chat']);
    await next(ws, 'open');
    const [peer] = await accepted;
    expect(ws.protocol).toBe('second-choice');
    expect(peer.protocol).toBe('second-choice');
    ws.close();
    await next(ws, 'close');
    await shutdown(wss);
  });
});

describe.each(LIBS)('%s: the WebSocket option', (_name, lib) => {
  test("'connection' receives an instance of the given subclass, with its extra method", async () => {
    class Tagged extends lib.WebSocket {
      tag(): string {
        return `tagged ${this.readyState}`;
      }
    }
    const { wss, url } = await listenWith(lib, { WebSocket: Tagged });
    const accepted = next<[DiffSocket]>(wss, 'connection');
    const ws = new lib.WebSocket(url);
    await next(ws, 'open');
    const [peer] = await accepted;
    expect(peer).toBeInstanceOf(Tagged);
    expect(peer).toBeInstanceOf(lib.WebSocket);
    expect((peer as Tagged).tag()).toBe('tagged 1');
    // It works as any server socket: a message goes through it.
    const got = next<[Buffer]>(ws, 'message');
    peer.send('from the subclass');
    expect(String((await got)[0])).toBe('from the subclass');
    ws.close();
    await next(ws, 'close');
    await shutdown(wss);
  });
});

/** Sends `request` on a raw TCP connection; resolves with everything received until the server closes. */
function rawExchange(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
    let text = '';
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (text += chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(text));
  });
}

const BAD_KEY_REQUEST =
  'GET /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
  'Sec-WebSocket-Key: not-a-key\r\nSec-WebSocket-Version: 13\r\n\r\n';

describe.each(LIBS)('%s: the wsClientError event', (_name, lib) => {
  test('with a listener, a bad handshake goes to it with (err, socket, req), and its response is sent', async () => {
    const { wss, port } = await listenWith(lib);
    const seen: unknown[] = [];
    wss.on('wsClientError', (err: Error, socket: Duplex, req: IncomingMessage) => {
      seen.push(err instanceof Error, req.url, typeof socket.write);
      expect(err.message).toMatch(/Sec-WebSocket-Key/);
      socket.end("HTTP/1.1 418 I'm a teapot\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
    });
    const text = await rawExchange(port, BAD_KEY_REQUEST);
    expect(text).toMatch(/^HTTP\/1\.1 418 /);
    expect(text).not.toMatch(/HTTP\/1\.1 400/);
    expect(seen).toEqual([true, '/chat', 'function']);
    await shutdown(wss);
  });

  test('without a listener the server answers 400 itself', async () => {
    const { wss, port } = await listenWith(lib);
    const text = await rawExchange(port, BAD_KEY_REQUEST);
    expect(text).toMatch(/^HTTP\/1\.1 400 /);
    expect(text).toMatch(/Sec-WebSocket-Key/);
    await shutdown(wss);
  });

  test('a good handshake does not emit it', async () => {
    const { wss, url } = await listenWith(lib);
    let emitted = 0;
    wss.on('wsClientError', () => emitted++);
    const ws = new lib.WebSocket(url);
    await next(ws, 'open');
    ws.close();
    await next(ws, 'close');
    expect(emitted).toBe(0);
    await shutdown(wss);
  });
});
