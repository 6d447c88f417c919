// The client's opening handshake over real sockets: wss: (TLS), redirects, the handshake timeout,
// and non-101 answers ('unexpected-response').
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from './index.js';
import type { WebSocketError } from './index.js';
import { closeServer, closed, echoServer, listen, messages, opened } from './testing/helpers.js';
import { assertNoHandlesLeft, snapshotHandles } from './testing/raw-peer.js';
import { selfSignedCert } from './testing/tls-cert.js';

/** What a client reported: its error (if any) and its close code. */
async function outcome(
  ws: WebSocket,
): Promise<{ error: WebSocketError | null; code: number; errors: number }> {
  let error: WebSocketError | null = null;
  let errors = 0;
  ws.on('error', (err) => {
    errors++;
    error = err as WebSocketError;
  });
  const [code] = await closed(ws);
  return { error, code, errors };
}

function closeHttp(server: net.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

function listenHttp<S extends net.Server>(server: S): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}

// ---- wss: ---------------------------------------------------------------------------------------

describe('wss: over node:https (RFC 6455 3, 4.1: TLS when secure)', () => {
  let key: Buffer;
  let cert: Buffer;
  let otherCert: Buffer;

  beforeAll(() => {
    ({ key, cert } = selfSignedCert());
    otherCert = selfSignedCert().cert;
  });

  async function tlsEchoServer(perMessageDeflate: boolean) {
    const server = https.createServer({ key, cert });
    const wss = new WebSocketServer({ server, perMessageDeflate });
    const secure: boolean[] = [];
    wss.on('connection', (ws, req) => {
      secure.push(Boolean((req.socket as { encrypted?: boolean }).encrypted));
      ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    });
    const port = await listenHttp(server);
    return { server, wss, port, secure };
  }

  test.each([false, true])(
    'our client <-> our server on https.createServer, ca and rejectUnauthorized: false (deflate %s)',
    async (deflate) => {
      const before = snapshotHandles();
      const { server, wss, port, secure } = await tlsEchoServer(deflate);
      for (const options of [{ ca: cert }, { rejectUnauthorized: false }]) {
        const ws = new WebSocket(`wss://127.0.0.1:${port}/tls`, { ...options, perMessageDeflate: deflate });
        await opened(ws);
        expect(ws.url).toBe(`wss://127.0.0.1:${port}/tls`);
        expect(ws.extensions.includes('permessage-deflate')).toBe(deflate);
        const got = messages(ws, 2);
        const big = Buffer.alloc(200_000, 'z');
        ws.send('over TLS');
        ws.send(big);
        const [[a, aBinary], [b, bBinary]] = (await got) as [Buffer, boolean][] as [
          [Buffer, boolean],
          [Buffer, boolean],
        ];
        expect([a.toString(), aBinary]).toEqual(['over TLS', false]);
        expect(bBinary).toBe(true);
        expect(b.equals(big)).toBe(true);
        const done = closed(ws);
        ws.close(1000, 'tls bye');
        expect(await done).toEqual([1000, '']);
      }
      expect(secure).toEqual([true, true]);
      await closeServer(wss);
      await closeHttp(server);
      await assertNoHandlesLeft(before);
    },
  );

  test('a certificate the client does not trust: an error naming the TLS problem, close 1006, no crash on either side', async () => {
    const before = snapshotHandles();
    const { server, wss, port } = await tlsEchoServer(false);
    const connections: unknown[] = [];
    wss.on('connection', (ws) => connections.push(ws));
    // Trusting another certificate, and trusting nothing (the default CA list).
    for (const options of [{ ca: otherCert }, {}]) {
      const ws = new WebSocket(`wss://127.0.0.1:${port}`, options);
      const { error, code, errors } = await outcome(ws);
      expect(code).toBe(1006);
      expect(errors).toBe(1);
      expect(error!.message).toMatch(/opening handshake failed: .*(self[- ]signed|verify|certificate)/i);
      expect(ws.readyState).toBe(WebSocket.CLOSED);
    }
    // Without an 'error' listener: still only 'close'.
    const silent = new WebSocket(`wss://127.0.0.1:${port}`, { ca: otherCert });
    expect((await closed(silent))[0]).toBe(1006);
    expect(connections).toHaveLength(0);
    // The server is unharmed: a trusting client still gets in.
    const ok = new WebSocket(`wss://127.0.0.1:${port}`, { ca: cert });
    await opened(ok);
    const done = closed(ok);
    ok.close();
    await done;
    await closeServer(wss);
    await closeHttp(server);
    await assertNoHandlesLeft(before);
  });

  test('wss: to a plain TCP server fails with an error and 1006', async () => {
    const { wss, port } = await echoServer();
    const ws = new WebSocket(`wss://127.0.0.1:${port}`, { rejectUnauthorized: false });
    const { error, code } = await outcome(ws);
    expect(code).toBe(1006);
    expect(error!.message).toMatch(/opening handshake failed/);
    await closeServer(wss);
  });
});

// ---- redirects ----------------------------------------------------------------------------------

/** An HTTP server whose every upgrade request is answered with `status` and the Location `locate` picks. */
async function redirector(locate: (req: http.IncomingMessage, port: number) => string, status = 302) {
  const server = http.createServer();
  const seen: { url: string; headers: http.IncomingHttpHeaders }[] = [];
  let port = 0;
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    const location = locate(req, port);
    socket.end(
      `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nLocation: ${location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
    );
  });
  port = await listenHttp(server);
  return { server, seen, port };
}

describe('redirects (RFC 6455 4.1: the client may follow 3xx, off unless asked)', () => {
  test('off by default: the error names the status and the Location; close 1006', async () => {
    const before = snapshotHandles();
    const r = await redirector((_req, port) => `ws://127.0.0.1:${port}/elsewhere`, 301);
    const ws = new WebSocket(`ws://127.0.0.1:${r.port}/start`);
    const { error, code } = await outcome(ws);
    expect(code).toBe(1006);
    expect(error!.code).toBe('WS_ERR_UNEXPECTED_RESPONSE');
    expect(error!.message).toBe(
      `Unexpected server response: 301 Moved Permanently (Location: ws://127.0.0.1:${r.port}/elsewhere); pass followRedirects: true to follow redirects`,
    );
    expect(r.seen.map((s) => s.url)).toEqual(['/start']);
    // With an 'unexpected-response' listener, the listener gets the 302 and its Location.
    const ws2 = new WebSocket(`ws://127.0.0.1:${r.port}/start`);
    const answer = new Promise<[number, string | undefined]>((resolve) =>
      ws2.on('unexpected-response', (_req, res) => {
        res.resume();
        resolve([res.statusCode!, res.headers.location]);
      }),
    );
    await closed(ws2);
    expect(await answer).toEqual([301, `ws://127.0.0.1:${r.port}/elsewhere`]);
    await closeHttp(r.server);
    await assertNoHandlesLeft(before);
  });

  test('followRedirects: true follows to the target (relative and absolute Locations) and opens there', async () => {
    const before = snapshotHandles();
    const target = await echoServer();
    const r = await redirector((req, _port) =>
      req.url === '/first'
        ? '/second'
        : `ws://127.0.0.1:${(target.wss.address() as AddressInfo).port}/final?x=1`,
    );
    const ws = new WebSocket(`ws://127.0.0.1:${r.port}/first`, { followRedirects: true });
    const hops: string[] = [];
    ws.on('redirect', (url: string) => hops.push(url));
    await opened(ws);
    const finalUrl = `ws://127.0.0.1:${(target.wss.address() as AddressInfo).port}/final?x=1`;
    expect(hops).toEqual([`ws://127.0.0.1:${r.port}/second`, finalUrl]);
    expect(ws.url).toBe(finalUrl);
    expect(r.seen.map((s) => s.url)).toEqual(['/first', '/second']);
    const got = messages(ws, 1);
    ws.send('arrived');
    expect(String((await got)[0]![0])).toBe('arrived');
    const done = closed(ws);
    ws.close();
    await done;
    await closeHttp(r.server);
    await closeServer(target.wss);
    await assertNoHandlesLeft(before);
  });

  test('more redirects than maxRedirects: an error that says so, close 1006', async () => {
    const before = snapshotHandles();
    let n = 0;
    const r = await redirector(() => `/hop${++n}`);
    const ws = new WebSocket(`ws://127.0.0.1:${r.port}/hop0`, { followRedirects: true, maxRedirects: 3 });
    const { error, code } = await outcome(ws);
    expect(code).toBe(1006);
    expect(error!.code).toBe('WS_ERR_MAX_REDIRECTS');
    expect(error!.message).toMatch(/Maximum redirects exceeded \(3\)/);
    // The first request and three followed redirects; the fourth redirect is not followed.
    expect(r.seen.map((s) => s.url)).toEqual(['/hop0', '/hop1', '/hop2', '/hop3']);
    // maxRedirects: 0 follows none.
    const none = new WebSocket(`ws://127.0.0.1:${r.port}/x`, { followRedirects: true, maxRedirects: 0 });
    expect((await outcome(none)).error!.code).toBe('WS_ERR_MAX_REDIRECTS');
    expect(() => new WebSocket(`ws://127.0.0.1:${r.port}/`, { maxRedirects: -1 })).toThrow(
      /maxRedirects must be a whole number/,
    );
    await closeHttp(r.server);
    await assertNoHandlesLeft(before);
  });

  test('Authorization and Cookie go along on the same host and are dropped when the host changes', async () => {
    const before = snapshotHandles();
    const target = await listen();
    const arrived = new Promise<http.IncomingHttpHeaders>((resolve) =>
      target.wss.once('connection', (_ws, req) => resolve(req.headers)),
    );
    const r = await redirector((req) => (req.url === '/a' ? '/b' : `ws://127.0.0.1:${target.port}/c`));
    const ws = new WebSocket(`ws://127.0.0.1:${r.port}/a`, {
      followRedirects: true,
      headers: { Authorization: 'Bearer secret', Cookie: 'session=1', 'X-Other': 'kept' },
    });
    await opened(ws);
    const [first, second] = r.seen;
    expect([first!.headers.authorization, first!.headers.cookie]).toEqual(['Bearer secret', 'session=1']);
    expect([second!.headers.authorization, second!.headers.cookie]).toEqual(['Bearer secret', 'session=1']);
    const final = await arrived;
    expect(final.authorization).toBeUndefined();
    expect(final.cookie).toBeUndefined();
    expect(final['x-other']).toBe('kept');
    expect(final.host).toBe(`127.0.0.1:${target.port}`);
    const done = closed(ws);
    ws.close();
    await done;
    await closeHttp(r.server);
    await closeServer(target.wss);
    await assertNoHandlesLeft(before);
  });
});

// ---- handshake timeout --------------------------------------------------------------------------

describe('the client handshake timeout', () => {
  test('a server that accepts TCP and never answers: error after handshakeTimeout, close 1006, nothing left open', async () => {
    const before = snapshotHandles();
    const sockets = new Set<net.Socket>();
    const serverSideClosed: Promise<void>[] = [];
    const silent = net.createServer((socket) => {
      sockets.add(socket);
      socket.resume(); // read the request, answer nothing
      serverSideClosed.push(new Promise((resolve) => socket.once('close', () => resolve())));
    });
    const port = await listenHttp(silent);
    const ws = new WebSocket(`ws://127.0.0.1:${port}`, { handshakeTimeout: 150 });
    const { error, code, errors } = await outcome(ws);
    expect(code).toBe(1006);
    expect(errors).toBe(1);
    expect(error!.code).toBe('WS_ERR_HANDSHAKE_TIMEOUT');
    expect(error!.message).toBe('Opening handshake has timed out after 150 ms');
    expect(ws.readyState).toBe(WebSocket.CLOSED);
    // The client destroyed its socket: the server side sees it close.
    expect(serverSideClosed).toHaveLength(1);
    await Promise.all(serverSideClosed);
    await closeHttp(silent);
    await assertNoHandlesLeft(before);
  });

  test('a bad handshakeTimeout is refused with what to pass instead', () => {
    expect(() => new WebSocket('ws://127.0.0.1:1', { handshakeTimeout: -5 })).toThrow(
      /handshakeTimeout must be a number of milliseconds >= 0/,
    );
  });
});

// ---- non-101 answers ----------------------------------------------------------------------------

describe("a non-101 answer and 'unexpected-response'", () => {
  const forbidding = () => listen({ verifyClient: (_info, cb) => cb(false, 403, 'Not you') });

  test("with a listener: it gets req and res (status, headers, body); no 'error'; close 1006", async () => {
    const before = snapshotHandles();
    const { wss, url } = await forbidding();
    const ws = new WebSocket(url);
    const body = new Promise<[number, string]>((resolve) =>
      ws.on('unexpected-response', (req, res) => {
        expect(req).toBeInstanceOf(http.ClientRequest);
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d));
        res.on('end', () => resolve([res.statusCode!, text]));
      }),
    );
    const { error, code } = await outcome(ws);
    expect(error).toBeNull();
    expect(code).toBe(1006);
    expect(await body).toEqual([403, 'Not you\n']);
    await closeServer(wss);
    await assertNoHandlesLeft(before);
  });

  test("without a listener: an 'error' naming the status when someone listens for errors; nobody listening is no crash", async () => {
    const before = snapshotHandles();
    const { wss, url } = await forbidding();
    const ws = new WebSocket(url);
    const { error, code } = await outcome(ws);
    expect(code).toBe(1006);
    expect(error!.code).toBe('WS_ERR_UNEXPECTED_RESPONSE');
    expect(error!.message).toBe('Unexpected server response: 403 Forbidden');
    // No listeners at all but 'close' (an unhandled 'error' would fail this test by throwing).
    const quiet = new WebSocket(url);
    expect((await closed(quiet))[0]).toBe(1006);
    // The browser-style face: onerror, then onclose with wasClean false.
    const browser = new WebSocket(url);
    const seen: string[] = [];
    browser.onerror = (e) => seen.push(`error: ${e.message}`);
    await new Promise<void>((resolve) => {
      browser.onclose = (e) => {
        seen.push(`close ${e.code} ${e.wasClean}`);
        resolve();
      };
    });
    expect(seen).toEqual(['error: Unexpected server response: 403 Forbidden', 'close 1006 false']);
    await closeServer(wss);
    await assertNoHandlesLeft(before);
  });
});
