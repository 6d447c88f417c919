// WebSockets over HTTP/2 (RFC 8441): our client <-> our server over h2 (TLS) and h2c, the server's
// answers seen by a plain node:http2 client, flow control as backpressure, resets, GOAWAY, sessions
// shared per origin, and the HTTP/1.1 fallback.
import { once as onceEvent } from 'node:events';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from './index.js';
import type { ServerOptions, WebSocketError } from './index.js';
import { pooledSessions } from './http2-client.js';
import { closed, messages, opened, once } from './testing/helpers.js';
import { sleep } from './testing/raw-peer.js';
import { selfSignedCert } from './testing/tls-cert.js';

type AnyH2 = http2.Http2Server | http2.Http2SecureServer;

let key: Buffer;
let cert: Buffer;
beforeAll(() => {
  ({ key, cert } = selfSignedCert());
});

interface Served {
  server: AnyH2;
  wss: WebSocketServer;
  url: string;
  origin: string;
  /** HTTP/2 sessions the server accepted (TCP connections that spoke h2). */
  sessions: http2.ServerHttp2Session[];
  close(): Promise<void>;
}

/** An echo WebSocketServer on an http2 server (`secure`: h2 with TLS and allowHTTP1; else h2c). */
async function serve(secure: boolean, options: Omit<ServerOptions, 'server' | 'port'> = {}): Promise<Served> {
  const server: AnyH2 = secure
    ? http2.createSecureServer({ key, cert, allowHTTP1: true })
    : http2.createServer();
  const sessions: http2.ServerHttp2Session[] = [];
  server.on('session', (s) => sessions.push(s));
  const wss = new WebSocketServer({ server, ...options });
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    server,
    wss,
    sessions,
    url: `${secure ? 'wss' : 'ws'}://127.0.0.1:${port}`,
    origin: `${secure ? 'https' : 'http'}://127.0.0.1:${port}`,
    close: async () => {
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      for (const s of sessions) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const tls = { ca: undefined as Buffer | undefined };
beforeAll(() => {
  tls.ca = cert;
});

function client(url: string, options: Record<string, unknown> = {}, protocols?: string[]): WebSocket {
  const ws = protocols
    ? new WebSocket(url, protocols, { http2: true, ca: tls.ca, ...options })
    : new WebSocket(url, { http2: true, ca: tls.ca, ...options });
  ws.on('error', () => {});
  return ws;
}

/** A raw extended CONNECT from node:http2, for what the server answers. */
async function rawConnect(
  origin: string,
  fields: http2.OutgoingHttpHeaders,
): Promise<{ headers: http2.IncomingHttpHeaders; body: string; session: http2.ClientHttp2Session }> {
  const session = http2.connect(origin, { ca: cert });
  await onceEvent(session, 'remoteSettings');
  const stream = session.request(
    {
      ':method': 'CONNECT',
      ':protocol': 'websocket',
      ':scheme': origin.startsWith('https') ? 'https' : 'http',
      ':path': '/',
      ':authority': new URL(origin).host,
      'sec-websocket-version': '13',
      ...fields,
    },
    { endStream: false },
  );
  const [headers] = (await onceEvent(stream, 'response')) as [http2.IncomingHttpHeaders];
  let body = '';
  if (Number(headers[':status']) !== 200) {
    stream.setEncoding('utf8');
    for await (const chunk of stream) body += chunk as string;
  }
  return { headers, body, session };
}

describe.each([
  ['h2 (TLS)', true],
  ['h2c', false],
])('our client <-> our server over %s', (_name, secure) => {
  test.each([false, true])(
    'text, binary and large messages (deflate %s), both on one session',
    async (deflate) => {
      const s = await serve(secure, { perMessageDeflate: deflate });
      const reqs: http.IncomingMessage[] = [];
      s.wss.on('connection', (_ws, req) => reqs.push(req));
      const a = client(`${s.url}/a`, { perMessageDeflate: deflate }, ['chat']);
      const b = client(`${s.url}/b?x=1`, { perMessageDeflate: deflate });
      await Promise.all([opened(a), opened(b)]);
      expect(s.sessions).toHaveLength(1);
      expect(a.protocol).toBe('chat');
      expect(a.extensions.includes('permessage-deflate')).toBe(deflate);
      expect(reqs.map((r) => [r.httpVersion, r.method, r.url])).toEqual(
        expect.arrayContaining([
          ['2.0', 'CONNECT', '/a'],
          ['2.0', 'CONNECT', '/b?x=1'],
        ]),
      );
      // Several times the 64 KiB stream and session windows, in both directions.
      const big = Buffer.alloc(3 * 1024 * 1024);
      for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 0xff;
      const got = messages(a, 3);
      a.send('über h2');
      a.send(big);
      a.send(Buffer.from([1, 2, 3]));
      const [[t, tBinary], [l, lBinary], [bin]] = (await got) as [
        [Buffer, boolean],
        [Buffer, boolean],
        [Buffer, boolean],
      ];
      expect([t.toString(), tBinary]).toEqual(['über h2', false]);
      expect(lBinary).toBe(true);
      expect(Buffer.compare(l, big)).toBe(0);
      expect([...bin]).toEqual([1, 2, 3]);
      const gotB = messages(b, 1);
      b.send('b');
      expect(String((await gotB)[0]![0])).toBe('b');
      // Closing a WebSocket ends its stream, not the session: b still works.
      const aServer = once<[number, Buffer]>(s.wss.clients!.values().next().value!, 'close');
      a.close(4000, 'done');
      expect((await closed(a))[0]).toBe(4000);
      const [code, reason] = await aServer;
      expect([code, reason.toString()]).toEqual([4000, 'done']);
      const again = messages(b, 1);
      b.send('still here');
      expect(String((await again)[0]![0])).toBe('still here');
      expect(s.sessions[0]!.closed).toBe(false);
      b.close();
      await closed(b);
      await s.close();
    },
  );

  test('several WebSockets to one origin share one session, which closes after the last', async () => {
    const s = await serve(secure);
    const sockets = Array.from({ length: 5 }, () => client(s.url));
    await Promise.all(sockets.map(opened));
    expect(s.sessions).toHaveLength(1);
    expect(pooledSessions(s.origin)).toBe(1);
    for (const ws of sockets) ws.close();
    await Promise.all(sockets.map(closed));
    expect(pooledSessions(s.origin)).toBe(0);
    if (!s.sessions[0]!.closed) await onceEvent(s.sessions[0]!, 'close');
    await s.close();
  });
});

describe('the server on an http2 server (RFC 8441 4, 5)', () => {
  test('answers 200 with the negotiated fields and no Sec-WebSocket-Accept', async () => {
    const s = await serve(false, { perMessageDeflate: true });
    const { headers, session } = await rawConnect(s.origin, {
      'sec-websocket-protocol': 'a, b',
      'sec-websocket-extensions': 'permessage-deflate; client_max_window_bits',
    });
    expect(headers[':status']).toBe(200);
    expect(headers['sec-websocket-protocol']).toBe('a');
    expect(headers['sec-websocket-extensions']).toMatch(/^permessage-deflate/);
    expect(headers['sec-websocket-accept']).toBeUndefined();
    expect(headers['upgrade']).toBeUndefined();
    session.destroy();
    await s.close();
  });

  test.each([
    ['no sec-websocket-version', 400, { 'sec-websocket-version': undefined }, /Version 13/],
    ['an unknown path', 404, { ':path': '/nowhere' }, /No WebSocket endpoint at \/nowhere/],
    ['a bad subprotocol list', 400, { 'sec-websocket-protocol': 'a b' }, /subprotocol/],
  ])('refuses %s with %i and a reason, leaving the session open', async (_name, status, fields, reason) => {
    const s = await serve(true, { path: '/' });
    const { headers, body, session } = await rawConnect(s.origin, fields);
    expect(headers[':status']).toBe(status);
    expect(body).toMatch(reason);
    // The session is still good for a WebSocket.
    const ws = client(s.url, { http2: session });
    await opened(ws);
    ws.close();
    await closed(ws);
    expect(session.closed).toBe(false);
    session.destroy();
    await s.close();
  });

  test('verifyClient, handleProtocols, origins and path routing work as for HTTP/1.1', async () => {
    const server = http2.createServer();
    const seen: string[] = [];
    const chat = new WebSocketServer({
      server,
      path: '/chat',
      origins: ['https://good.example'],
      handleProtocols: (offered) => (offered.has('v2') ? 'v2' : false),
      verifyClient: (info: { req: http.IncomingMessage }, cb: (ok: boolean, code?: number) => void) => {
        seen.push(String(info.req.headers['x-token']));
        cb(info.req.headers['x-token'] === 'yes', 403);
      },
    });
    const other = new WebSocketServer({ server, path: '/other' });
    chat.on('connection', (ws) => ws.send(`chat ${ws.protocol}`));
    other.on('connection', (ws) => ws.send('other'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const good = client(`${url}/chat`, { headers: { 'x-token': 'yes' }, origin: 'https://good.example' }, [
      'v1',
      'v2',
    ]);
    const first = messages(good, 1);
    await opened(good);
    expect(String((await first)[0]![0])).toBe('chat v2');
    const o = client(`${url}/other`);
    const second = messages(o, 1);
    await opened(o);
    expect(String((await second)[0]![0])).toBe('other');

    for (const [options, status] of [
      [{ headers: { 'x-token': 'no' }, origin: 'https://good.example' }, 403],
      [{ headers: { 'x-token': 'yes' }, origin: 'https://evil.example' }, 403],
    ] as const) {
      const bad = new WebSocket(`${url}/chat`, { http2: true, ...options });
      const errors: WebSocketError[] = [];
      bad.on('error', (err) => errors.push(err as WebSocketError));
      expect((await closed(bad))[0]).toBe(1006);
      expect(errors[0]?.message).toBe(`Unexpected server response: ${status}`);
    }
    expect(seen).toEqual(['yes', 'no']);
    for (const ws of [good, o]) ws.close();
    await Promise.all([closed(good), closed(o)]);
    await new Promise<void>((resolve) => chat.close(() => resolve()));
    await new Promise<void>((resolve) => other.close(() => resolve()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  test("HTTP/1.1 upgrades, HTTP/2 WebSockets and a 'request' listener on one allowHTTP1 server", async () => {
    const server = http2.createSecureServer({ key, cert, allowHTTP1: true });
    server.on('request', (req: http2.Http2ServerRequest, res: http2.Http2ServerResponse) => {
      res.setHeader('content-type', 'text/plain');
      res.end(`page over HTTP/${req.httpVersion}`);
    });
    const wss = new WebSocketServer({ server });
    const versions: string[] = [];
    wss.on('connection', (ws, req) => {
      versions.push(req.httpVersion);
      ws.on('message', (data) => ws.send(data));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const h1 = new WebSocket(`wss://127.0.0.1:${port}/`, { ca: cert });
    const h2 = client(`wss://127.0.0.1:${port}/`);
    await Promise.all([opened(h1), opened(h2)]);
    expect(versions.sort()).toEqual(['1.1', '2.0']);
    // The page, over HTTP/2 on a session of its own, and over HTTP/1.1.
    const session = http2.connect(`https://127.0.0.1:${port}`, { ca: cert });
    const page = session.request({ ':path': '/' });
    page.setEncoding('utf8');
    let text = '';
    for await (const chunk of page) text += chunk as string;
    expect(text).toBe('page over HTTP/2.0');
    session.close();
    for (const ws of [h1, h2]) {
      const echo = messages(ws, 1);
      ws.send('x');
      expect(String((await echo)[0]![0])).toBe('x');
      ws.close();
      await closed(ws);
    }
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  test('wss.close() says 1001 to the HTTP/2 clients and leaves the http2 server running', async () => {
    const s = await serve(false);
    const ws = client(s.url);
    await opened(ws);
    const done = closed(ws);
    await new Promise<void>((resolve) => s.wss.close(() => resolve()));
    expect((await done)[0]).toBe(1001);
    expect(s.server.listening).toBe(true);
    await new Promise<void>((resolve) => s.server.close(() => resolve()));
  });
});

describe('HTTP/2 flow control is the backpressure', () => {
  test("send() returns false, bufferedAmount grows and 'drain' follows while the peer does not read", async () => {
    const s = await serve(false);
    const serverSide = once<[WebSocket]>(s.wss, 'connection');
    const ws = client(s.url);
    await opened(ws);
    const [peer] = await serverSide;
    ws.pause();
    const chunk = Buffer.alloc(64 * 1024, 1);
    let sent = 0;
    // Bounded: the stream window (64 KiB) and the stream's buffer fill long before this.
    while (peer.send(chunk) && sent < 1000) sent++;
    expect(sent).toBeLessThan(1000);
    expect(peer.bufferedAmount).toBeGreaterThan(0);
    const drained = once(peer, 'drain');
    let received = 0;
    ws.on('message', () => received++);
    ws.resume();
    await drained;
    await new Promise<void>((resolve) => {
      const check = (): void => {
        if (received === sent + 1) resolve();
        else setTimeout(check, 10);
      };
      check();
    });
    expect(received).toBe(sent + 1);
    ws.close();
    await closed(ws);
    await s.close();
  });
});

describe('streams and sessions that end abruptly', () => {
  test('a reset stream closes its WebSocket with 1006; the session and its other WebSockets live on', async () => {
    const s = await serve(false);
    const streams: http2.ServerHttp2Stream[] = [];
    const conns: WebSocket[] = [];
    s.wss.on('connection', (ws, req) => {
      conns.push(ws);
      streams.push((req as unknown as http2.Http2ServerRequest).stream);
    });
    const a = client(s.url);
    await opened(a);
    const b = client(s.url);
    await opened(b);
    const c = client(s.url);
    await opened(c);
    // The server resets b's stream with an error code: the client sees 1006 and an error naming it.
    const errors: Error[] = [];
    b.on('error', (err) => errors.push(err));
    const bClosed = closed(b);
    streams[1]!.close(http2.constants.NGHTTP2_INTERNAL_ERROR);
    expect((await bClosed)[0]).toBe(1006);
    expect(errors.map((e) => e.message)).toEqual([expect.stringMatching(/NGHTTP2_INTERNAL_ERROR/)]);
    // The client resets a (terminate: RST_STREAM): the server sees 1006.
    const serverClosed = closed(conns[0]!);
    a.terminate();
    expect((await closed(a))[0]).toBe(1006);
    expect((await serverClosed)[0]).toBe(1006);
    // One session all along, still open: c still echoes.
    expect(s.sessions).toHaveLength(1);
    expect(s.sessions[0]!.closed).toBe(false);
    const echo = messages(c, 1);
    c.send('c');
    expect(String((await echo)[0]![0])).toBe('c');
    c.close();
    await closed(c);
    await s.close();
  });

  test("a 'close' listener may terminate another WebSocket of the same session", async () => {
    // Node's http2 spins forever when a stream is destroyed inside another stream's 'close' event;
    // the WebSocket's 'close' runs outside it (OpenSetup.closeLater).
    const s = await serve(false);
    const conns: WebSocket[] = [];
    s.wss.on('connection', (ws) => {
      conns.push(ws);
      if (conns.length === 1) ws.on('close', () => conns[1]!.terminate());
    });
    const a = client(s.url);
    await opened(a);
    const b = client(s.url);
    await opened(b);
    const bClosed = closed(b);
    a.terminate();
    expect((await bClosed)[0]).toBe(1006);
    await s.close();
  });

  test('GOAWAY: open WebSockets finish on the old session; new ones get a new session; a destroyed session closes them with 1006', async () => {
    const s = await serve(false);
    const a = client(s.url);
    await opened(a);
    expect(s.sessions).toHaveLength(1);
    s.sessions[0]!.close(); // GOAWAY (NO_ERROR): no new streams, open ones go on
    await sleep(50);
    const echo = messages(a, 1);
    a.send('after goaway');
    expect(String((await echo)[0]![0])).toBe('after goaway');
    expect(pooledSessions(s.origin)).toBe(0);
    const b = client(s.url);
    await opened(b);
    expect(s.sessions).toHaveLength(2);
    // The new session goes away hard: its WebSocket closes abnormally.
    s.sessions[1]!.destroy();
    expect((await closed(b))[0]).toBe(1006);
    a.close(1000);
    expect((await closed(a))[0]).toBe(1000);
    await s.close();
  });
});

describe('the client without extended CONNECT on the server', () => {
  async function http11Server(): Promise<{ server: http.Server; wss: WebSocketServer; url: string }> {
    const server = http.createServer();
    const wss = new WebSocketServer({ server });
    wss.on('connection', (ws, req) => ws.send(`HTTP/${req.httpVersion}`));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    return { server, wss, url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}/` };
  }

  test('falls back to HTTP/1.1 when the server speaks no HTTP/2, or fails clearly with http2Fallback: false', async () => {
    const { server, wss, url } = await http11Server();
    const ws = client(url);
    const first = messages(ws, 1);
    await opened(ws);
    expect(String((await first)[0]![0])).toBe('HTTP/1.1');
    ws.close();
    await closed(ws);
    const strict = new WebSocket(url, { http2: true, http2Fallback: false });
    const errors: WebSocketError[] = [];
    strict.on('error', (err) => errors.push(err as WebSocketError));
    expect((await closed(strict))[0]).toBe(1006);
    expect(errors[0]?.code).toBe('WS_ERR_HTTP2_UNSUPPORTED');
    expect(errors[0]?.message).toMatch(/no HTTP\/2 connection/);
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  test('falls back when an HTTP/2 server does not send SETTINGS_ENABLE_CONNECT_PROTOCOL', async () => {
    const server = http2.createSecureServer({ key, cert, allowHTTP1: true });
    const wss = new WebSocketServer({ noServer: true });
    server.on('upgrade', (req: http.IncomingMessage, socket, head: Buffer) =>
      wss.handleUpgrade(req, socket, head, (ws) => ws.send(`HTTP/${req.httpVersion}`)),
    );
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `wss://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const ws = client(url);
    const first = messages(ws, 1);
    await opened(ws);
    expect(String((await first)[0]![0])).toBe('HTTP/1.1');
    ws.close();
    await closed(ws);
    const strict = client(url, { http2Fallback: false });
    const errors: WebSocketError[] = [];
    strict.on('error', (err) => errors.push(err as WebSocketError));
    expect((await closed(strict))[0]).toBe(1006);
    expect(errors[0]?.message).toMatch(/SETTINGS_ENABLE_CONNECT_PROTOCOL/);
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
});

describe('1,000 WebSockets on one session', () => {
  test('all open on one HTTP/2 connection, each echoes, all close cleanly', async () => {
    const s = await serve(false);
    const n = 1000;
    const sockets = Array.from({ length: n }, () => client(s.url));
    await Promise.all(sockets.map(opened));
    expect(s.sessions).toHaveLength(1);
    const replies = await Promise.all(
      sockets.map((ws, i) => {
        const got = messages(ws, 1);
        ws.send(`#${i}`);
        return got.then((list) => String(list[0]![0]));
      }),
    );
    expect(replies).toEqual(sockets.map((_, i) => `#${i}`));
    const codes = await Promise.all(
      sockets.map((ws) => {
        ws.close(1000);
        return closed(ws).then(([code]) => code);
      }),
    );
    expect(codes.every((c) => c === 1000)).toBe(true);
    await s.close();
  }, 60_000);
});
