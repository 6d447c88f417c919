// Credentials on the client: Basic auth from URL userinfo and the `auth` option, and what a redirect
// carries along (as ws and curl: nothing secret to another host or port, or from wss: into ws:).
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import { LIBS, listenWith, next, shutdown } from '../testing/differential.js';
import type { DiffSocket } from '../testing/differential.js';
import { selfSignedCert } from '../testing/tls-cert.js';

const { key, cert } = selfSignedCert();

interface Seen {
  secure: boolean;
  url: string;
  authorization: string | undefined;
  cookie: string | undefined;
}

/**
 * HTTPS and plain HTTP on one port (the first byte tells TLS, 0x16, from HTTP): each upgrade request
 * is recorded, then answered 302 with the Location `locate` gives, or 403 when it gives null.
 */
async function dualServer(locate: (url: string, secure: boolean, port: number) => string | null) {
  const seen: Seen[] = [];
  let port = 0;
  const onUpgrade = (secure: boolean) => (req: http.IncomingMessage, socket: Duplex) => {
    seen.push({
      secure,
      url: req.url ?? '',
      authorization: req.headers.authorization,
      cookie: req.headers.cookie,
    });
    const location = locate(req.url ?? '', secure, port);
    socket.end(
      location === null
        ? 'HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\nConnection: close\r\n\r\n'
        : `HTTP/1.1 302 Found\r\nLocation: ${location}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n`,
    );
  };
  const plain = http.createServer().on('upgrade', onUpgrade(false));
  const secure = https.createServer({ key, cert }).on('upgrade', onUpgrade(true));
  const listenLocal = (server: net.Server): Promise<number> =>
    new Promise((resolve) =>
      server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
    );
  const plainPort = await listenLocal(plain);
  const securePort = await listenLocal(secure);
  const sockets = new Set<net.Socket>();
  // A byte proxy: node:tls reads a net.Socket's handle directly, so bytes put back with unshift()
  // would be lost to it; forwarding to the right server keeps the TLS stream whole.
  const front = net.createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.once('data', (chunk: Buffer) => {
      const back = net.connect(chunk[0] === 0x16 ? securePort : plainPort, '127.0.0.1');
      sockets.add(back);
      back.once('close', () => sockets.delete(back));
      back.write(chunk);
      socket.pipe(back).pipe(socket);
      socket.once('close', () => back.destroy());
      back.once('close', () => socket.destroy());
      socket.on('error', () => back.destroy());
      back.on('error', () => socket.destroy());
    });
  });
  await new Promise<void>((resolve) => front.listen(0, '127.0.0.1', resolve));
  port = (front.address() as AddressInfo).port;
  const close = (): Promise<void> => {
    for (const s of sockets) s.destroy();
    plain.closeAllConnections();
    secure.closeAllConnections();
    const done = (server: net.Server) => new Promise<void>((resolve) => server.close(() => resolve()));
    return Promise.all([done(front), done(plain), done(secure)]).then(() => undefined);
  };
  return { port, seen, close };
}

/** Runs a client to its 'close' (after the final 403) and returns its error message. */
async function runToClose(ws: DiffSocket): Promise<string> {
  let message = '';
  ws.on('error', (err: Error) => (message = err.message));
  await next(ws, 'close');
  return message;
}

describe.each(LIBS)('%s: credentials across redirects', (_name, lib) => {
  const tlsOptions = { ca: cert, followRedirects: true };
  const secret = { Authorization: 'Bearer t0ken', Cookie: 'session=1' };
  const basic = (userpass: string) => `Basic ${Buffer.from(userpass).toString('base64')}`;

  test('wss: -> ws: on the same host and port drops Authorization and Cookie', async () => {
    const s = await dualServer((url, _secure, port) => (url === '/a' ? `ws://127.0.0.1:${port}/b` : null));
    const ws = new lib.WebSocket(`wss://127.0.0.1:${s.port}/a`, { ...tlsOptions, headers: secret });
    expect(await runToClose(ws)).toMatch(/^Unexpected server response: 403/);
    expect(s.seen).toEqual([
      { secure: true, url: '/a', authorization: 'Bearer t0ken', cookie: 'session=1' },
      { secure: false, url: '/b', authorization: undefined, cookie: undefined },
    ]);
    await s.close();
  });

  test('wss: -> ws: drops user:password from the URL and the auth option too', async () => {
    const s = await dualServer((url, _secure, port) => (url === '/a' ? `ws://127.0.0.1:${port}/b` : null));
    const fromUrl = new lib.WebSocket(`wss://al%40ice:s3cret@127.0.0.1:${s.port}/a`, tlsOptions);
    await runToClose(fromUrl);
    const fromOption = new lib.WebSocket(`wss://127.0.0.1:${s.port}/a`, { ...tlsOptions, auth: 'bob:pw' });
    await runToClose(fromOption);
    expect(s.seen.map((x) => [x.url, x.authorization])).toEqual([
      ['/a', basic('al@ice:s3cret')],
      ['/b', undefined],
      ['/a', basic('bob:pw')],
      ['/b', undefined],
    ]);
    await s.close();
  });

  test('a same-origin redirect (wss: -> wss:, same host and port) keeps them all', async () => {
    const s = await dualServer((url) => (url === '/a' ? '/b' : null));
    const ws = new lib.WebSocket(`wss://127.0.0.1:${s.port}/a`, { ...tlsOptions, headers: secret });
    await runToClose(ws);
    const withUser = new lib.WebSocket(`wss://u:p@127.0.0.1:${s.port}/a`, tlsOptions);
    await runToClose(withUser);
    expect(s.seen).toEqual([
      { secure: true, url: '/a', authorization: 'Bearer t0ken', cookie: 'session=1' },
      { secure: true, url: '/b', authorization: 'Bearer t0ken', cookie: 'session=1' },
      { secure: true, url: '/a', authorization: basic('u:p'), cookie: undefined },
      { secure: true, url: '/b', authorization: basic('u:p'), cookie: undefined },
    ]);
    await s.close();
  });

  test('ws: -> ws: on another port drops them', async () => {
    const other = await dualServer(() => null);
    const s = await dualServer(() => `ws://127.0.0.1:${other.port}/b`);
    const ws = new lib.WebSocket(`ws://u:p@127.0.0.1:${s.port}/a`, {
      followRedirects: true,
      headers: secret,
    });
    await runToClose(ws);
    expect(s.seen).toEqual([
      { secure: false, url: '/a', authorization: 'Bearer t0ken', cookie: 'session=1' },
    ]);
    expect(other.seen).toEqual([{ secure: false, url: '/b', authorization: undefined, cookie: undefined }]);
    await other.close();
    await s.close();
  });
});

describe.each(LIBS)('%s: Basic auth (RFC 7617) from the URL and the auth option', (_name, lib) => {
  test('user:password in the URL (percent-decoded), the auth option, and a header that wins over both', async () => {
    const { wss, url } = await listenWith(lib);
    const port = new URL(url).port;
    const got: (string | undefined)[] = [];
    wss.on('connection', (peer: DiffSocket, req: http.IncomingMessage) => {
      got.push(req.headers.authorization);
      peer.close();
    });
    const clients = [
      new lib.WebSocket(`ws://us%3Aer:p%C3%A4ss@127.0.0.1:${port}/`),
      new lib.WebSocket(url, { auth: 'alice:secret' }),
      // The URL's user:password wins over the auth option.
      new lib.WebSocket(`ws://url:pw@127.0.0.1:${port}/`, { auth: 'option:pw' }),
      new lib.WebSocket(`ws://url:pw@127.0.0.1:${port}/`, { headers: { Authorization: 'Bearer x' } }),
    ];
    for (const ws of clients) await next(ws, 'close');
    const basic = (userpass: string) => `Basic ${Buffer.from(userpass).toString('base64')}`;
    expect(got).toEqual([basic('us:er:päss'), basic('alice:secret'), basic('url:pw'), 'Bearer x']);
    await shutdown(wss);
  });
});
