// Client options as ws has them: headers Host/Origin, protocolVersion, createConnection,
// finishRequest, generateMask, TLS options passed through (maxVersion), ws+unix: URLs, and the
// handshake request visible through req.getHeader().
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { LIBS, listenWith, next, shutdown } from '../testing/differential.js';
import type { DiffSocket, Lib } from '../testing/differential.js';
import { selfSignedCert } from '../testing/tls-cert.js';

/** A plain HTTP server that records each upgrade request's headers and answers 403. */
async function recorder() {
  const seen: http.IncomingHttpHeaders[] = [];
  const server = http.createServer();
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex) => {
    seen.push(req.headers);
    socket.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  const close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return { seen, port, close };
}

async function toClose(ws: DiffSocket): Promise<string> {
  let message = '';
  ws.on('error', (err: Error) => (message = err.message));
  await next(ws, 'close');
  return message;
}

/** The headers of one connection accepted by `lib`'s server. */
async function acceptedHeaders(lib: Lib, connect: (url: string) => DiffSocket) {
  const { wss, url } = await listenWith(lib);
  const got = new Promise<http.IncomingHttpHeaders>((resolve) =>
    wss.on('connection', (peer: DiffSocket, req: http.IncomingMessage) => {
      resolve(req.headers);
      peer.close();
    }),
  );
  const ws = connect(url);
  const headers = await got;
  await next(ws, 'close');
  await shutdown(wss);
  return headers;
}

describe.each(LIBS)('%s: client options', (_name, lib) => {
  test('headers Host and Origin replace the defaults; the origin option wins over headers.Origin', async () => {
    const a = await acceptedHeaders(
      lib,
      (url) => new lib.WebSocket(url, { headers: { Host: 'example.test:81', Origin: 'https://o.test' } }),
    );
    expect([a.host, a.origin]).toEqual(['example.test:81', 'https://o.test']);
    const b = await acceptedHeaders(
      lib,
      (url) =>
        new lib.WebSocket(url, { origin: 'https://option.test', headers: { Origin: 'https://header.test' } }),
    );
    expect(b.origin).toBe('https://option.test');
  });

  test('protocolVersion 8 sends Sec-WebSocket-Version 8 and Sec-WebSocket-Origin; others throw RangeError', async () => {
    const r = await recorder();
    await toClose(
      new lib.WebSocket(`ws://127.0.0.1:${r.port}`, { protocolVersion: 8, origin: 'https://o.test' }),
    );
    expect(r.seen[0]!['sec-websocket-version']).toBe('8');
    expect(r.seen[0]!['sec-websocket-origin']).toBe('https://o.test');
    expect(r.seen[0]!.origin).toBeUndefined();
    expect(() => new lib.WebSocket(`ws://127.0.0.1:${r.port}`, { protocolVersion: 7 })).toThrow(
      new RangeError('Unsupported protocol version: 7 (supported versions: 8, 13)'),
    );
    await r.close();
  });

  test('createConnection makes the socket; finishRequest gets (req, ws) and ends the request', async () => {
    let made = 0;
    const finishedWith: unknown[] = [];
    let client: DiffSocket | null = null;
    const headers = await acceptedHeaders(lib, (url) => {
      client = new lib.WebSocket(url, {
        createConnection: (o: { host: string; port: number }) => {
          made++;
          return net.connect({ host: o.host, port: o.port });
        },
        finishRequest: (req: http.ClientRequest, socket: unknown) => {
          finishedWith.push(socket);
          req.setHeader('X-Late', 'yes');
          req.end();
        },
      });
      return client;
    });
    expect(finishedWith).toEqual([client]);
    expect(made).toBe(1);
    expect(headers['x-late']).toBe('yes');
  });

  test('generateMask fills the masking key of every frame sent', async () => {
    // A raw server: answers the handshake, then reads the client's first frame as bytes.
    const frameBytes = new Promise<Buffer>((resolve) => {
      const server = net.createServer((socket) => {
        let buf = Buffer.alloc(0);
        let upgraded = false;
        socket.on('data', (chunk: Buffer) => {
          buf = Buffer.concat([buf, chunk]);
          if (!upgraded) {
            const end = buf.indexOf('\r\n\r\n');
            if (end === -1) return;
            const key = /sec-websocket-key: *(\S+)/i.exec(buf.subarray(0, end).toString())![1]!;
            const accept = createHash('sha1')
              .update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11')
              .digest('base64');
            socket.write(
              `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
            );
            upgraded = true;
            buf = buf.subarray(end + 4);
          }
          if (buf.length >= 2 + 4 + 2) {
            resolve(buf.subarray(0, 8));
            socket.destroy();
            server.close();
          }
        });
      });
      server.listen(0, '127.0.0.1', () => {
        const ws = new lib.WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`, {
          perMessageDeflate: false,
          generateMask: (mask: Buffer) => mask.set([1, 2, 3, 4]),
        });
        ws.on('error', () => {});
        ws.on('open', () => ws.send('hi'));
      });
    });
    const bytes = await frameBytes;
    expect(bytes[0]).toBe(0x81);
    expect(bytes[1]).toBe(0x80 | 2);
    expect([...bytes.subarray(2, 6)]).toEqual([1, 2, 3, 4]);
    expect(bytes.subarray(6, 8).toString('latin1')).toBe(
      String.fromCharCode('h'.charCodeAt(0) ^ 1, 'i'.charCodeAt(0) ^ 2),
    );
  });

  test('TLS options are passed through: maxVersion TLSv1.2 against a TLSv1.3-only server fails', async () => {
    const { key, cert } = selfSignedCert();
    const server = https.createServer({ key, cert, minVersion: 'TLSv1.3' });
    const wss = new lib.WebSocketServer({ server });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `wss://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const message = await toClose(new lib.WebSocket(url, { ca: cert, maxVersion: 'TLSv1.2' }));
    expect(message).toMatch(/version|protocol/i);
    // The same client without maxVersion gets in.
    const ok = new lib.WebSocket(url, { ca: cert });
    await next(ok, 'open');
    ok.close();
    await next(ok, 'close');
    await shutdown(wss);
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  test('ws+unix: connects to a Unix socket; the request path follows the socket path', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rfc6455-unix-'));
    const sock = path.join(dir, 'ws.sock');
    const server = http.createServer();
    const wss = new lib.WebSocketServer({ server });
    const got = new Promise<[string, string | undefined]>((resolve) =>
      wss.on('connection', (peer: DiffSocket, req: http.IncomingMessage) => {
        resolve([req.url ?? '', req.headers.host]);
        peer.send('over unix');
      }),
    );
    await new Promise<void>((resolve) => server.listen(sock, resolve));
    const ws = new lib.WebSocket(`ws+unix:${sock}:/chat?room=1`);
    const [data] = await next<[Buffer]>(ws, 'message');
    expect(data.toString()).toBe('over unix');
    expect(await got).toEqual(['/chat?room=1', 'localhost']);
    expect(ws.url).toBe(`ws+unix:${sock}:/chat?room=1`);
    ws.close();
    await next(ws, 'close');
    await shutdown(wss);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  test("req.getHeader() shows the handshake headers: ws._req, 'redirect' and 'unexpected-response'", async () => {
    const r = await recorder();
    const ws = new lib.WebSocket(`ws://127.0.0.1:${r.port}/x`, ['chat'], { headers: { 'X-Mine': 'm' } });
    const closedWs = toClose(ws);
    // ws keeps the request in flight as `_req` (not in its types); programs read it, so we have it too.
    const req = Reflect.get(ws, '_req') as http.ClientRequest;
    const show = (q: http.ClientRequest) =>
      ['upgrade', 'connection', 'sec-websocket-protocol', 'x-mine', 'host'].map((h) => q.getHeader(h));
    const expected = ['websocket', 'Upgrade', 'chat', 'm', `127.0.0.1:${r.port}`];
    expect(show(req)).toEqual(expected);
    expect(String(req.getHeader('sec-websocket-version'))).toBe('13');
    expect(String(req.getHeader('sec-websocket-key'))).toMatch(/^[A-Za-z0-9+/]{22}==$/);
    const answered = new Promise<unknown[]>((resolve) =>
      ws.on('unexpected-response', (q: http.ClientRequest, res: http.IncomingMessage) => {
        res.resume();
        resolve(show(q));
        ws.close();
      }),
    );
    expect(await answered).toEqual(expected);
    await closedWs;

    // 'redirect' gets the next request before it is sent: its headers can still be changed.
    const target = await recorder();
    const hop = http.createServer();
    hop.on('upgrade', (_req: http.IncomingMessage, socket: Duplex) =>
      socket.end(
        `HTTP/1.1 302 Found\r\nLocation: ws://127.0.0.1:${target.port}/y\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
      ),
    );
    await new Promise<void>((resolve) => hop.listen(0, '127.0.0.1', resolve));
    const redirected = new lib.WebSocket(`ws://127.0.0.1:${(hop.address() as AddressInfo).port}/`, {
      followRedirects: true,
      headers: { 'X-Mine': 'm' },
    });
    const redirectedClosed = toClose(redirected);
    const seenOnRedirect: unknown[] = [];
    redirected.on('redirect', (url: string, q: http.ClientRequest) => {
      seenOnRedirect.push(url, q.getHeader('host'), q.getHeader('x-mine'));
      q.setHeader('X-Added', 'on redirect');
    });
    await redirectedClosed;
    expect(seenOnRedirect).toEqual([`ws://127.0.0.1:${target.port}/y`, `127.0.0.1:${target.port}`, 'm']);
    expect(target.seen[0]!['x-added']).toBe('on redirect');
    await new Promise<void>((resolve) => hop.close(() => resolve()));
    await target.close();
    await r.close();
  });
});
