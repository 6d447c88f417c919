import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { WebSocket as WsClient } from 'ws';
import { WebSocket, WebSocketServer, isOriginAllowed, serializeOrigin } from './index.js';
import { upgradeRequest } from '@rfc6455/test-support';
import { closeServer, closed, echoServer, listen, messages, once, opened } from './testing/helpers.js';

function httpListen(server: http.Server): Promise<number> {
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)),
  );
}
function httpClose(server: http.Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}
/** Sends raw bytes and collects everything until the server closes. */
function rawExchange(port: number, request: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
    let out = '';
    socket.on('data', (d) => (out += d.toString('latin1')));
    socket.on('close', () => resolve(out));
    socket.on('error', reject);
  });
}
/** Connects with our client and resolves with how the handshake ended. */
function failure(url: string, options = {}): Promise<string> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, options);
    ws.on('error', (err) => resolve(err.message));
    ws.on('open', () => resolve('opened'));
  });
}

describe('WebSocketServer modes (RFC 6455 4.2)', () => {
  test('port mode answers plain HTTP with 426 and the version it speaks', async () => {
    const { wss, port } = await listen();
    const res = await rawExchange(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
    expect(res).toMatch(/^HTTP\/1\.1 426 /);
    expect(res).toMatch(/Sec-WebSocket-Version: 13/i);
    await closeServer(wss);
  });

  test('a malformed upgrade gets a 4xx with a one-line reason', async () => {
    const { wss, port } = await listen();
    const res = await rawExchange(
      port,
      upgradeRequest('/').replace('Sec-WebSocket-Version: 13', 'Sec-WebSocket-Version: 8'),
    );
    expect(res).toMatch(/^HTTP\/1\.1 426 /);
    const res2 = await rawExchange(port, upgradeRequest('/').replace('dGhlIHNhbXBsZSBub25jZQ==', 'short'));
    expect(res2).toMatch(/^HTTP\/1\.1 400 /);
    expect(res2.toLowerCase()).toContain('key');
    await closeServer(wss);
  });

  test('more than 100 header fields: 431', async () => {
    const { wss, port } = await listen();
    let extra = '';
    for (let i = 0; i < 120; i++) extra += `X-Filler-${i}: y\r\n`;
    const res = await rawExchange(port, upgradeRequest('/', extra));
    expect(res).toMatch(/^HTTP\/1\.1 431 /);
    await closeServer(wss);
  });

  test('server mode: handleUpgrade on a shared http.Server that also serves ordinary requests', async () => {
    const server = http.createServer((req, res) => res.end(`plain ${req.url}`));
    const wss = new WebSocketServer({ noServer: true });
    server.on('upgrade', (req, socket, head) => {
      wss.handleUpgrade(req, socket, head, (ws) => {
        wss.emit('connection', ws, req);
        ws.send(`hello ${req.url}`);
      });
    });
    const port = await httpListen(server);
    const body = await new Promise<string>((resolve) => {
      http.get({ port, host: '127.0.0.1', path: '/page', agent: false }, (res) => {
        let b = '';
        res.on('data', (d) => (b += d));
        res.on('end', () => resolve(b));
      });
    });
    expect(body).toBe('plain /page');
    const ws = new WebSocket(`ws://127.0.0.1:${port}/socket`);
    const [[greeting]] = (await messages(ws, 1)) as [[Buffer, boolean]];
    expect(greeting.toString()).toBe('hello /socket');
    expect(wss.clients!.size).toBe(1);
    const done = closed(ws);
    ws.close();
    expect((await done)[0]).toBe(1005);
    expect(() => wss.address()).toThrow(/noServer/);
    await closeServer(wss);
    await httpClose(server);
  });

  test('two servers on one http.Server split by path; other paths get 404', async () => {
    const server = http.createServer();
    const a = new WebSocketServer({ server, path: '/a' });
    const b = new WebSocketServer({ server, path: '/b' });
    a.on('connection', (ws) => ws.send('from a'));
    b.on('connection', (ws) => ws.send('from b'));
    const port = await httpListen(server);
    expect((a.address() as AddressInfo).port).toBe(port);
    for (const name of ['a', 'b']) {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/${name}?q=1`);
      const [[msg]] = (await messages(ws, 1)) as [[Buffer, boolean]];
      expect(msg.toString()).toBe(`from ${name}`);
      const done = closed(ws);
      ws.close();
      await done;
    }
    expect(await failure(`ws://127.0.0.1:${port}/c`)).toMatch(/404/);
    await closeServer(a);
    await closeServer(b);
    await httpClose(server);
  });

  test('verifyClient: sync false -> 401; async with a status and message; async true opens', async () => {
    const sync = await listen({ verifyClient: () => false });
    expect(await failure(sync.url)).toMatch(/401/);
    await closeServer(sync.wss);

    const seen: (string | undefined)[] = [];
    const asyncServer = await listen({
      verifyClient: (info, cb) => {
        seen.push(info.origin);
        setImmediate(() =>
          info.req.url === '/ok' ? cb(true) : cb(false, 403, 'Forbidden here', { 'X-Why': 'test' }),
        );
      },
    });
    const statuses: number[] = [];
    const ws = new WebSocket(`${asyncServer.url}/no`, { origin: 'http://example.test' });
    ws.on('unexpected-response', (_req, res) => {
      statuses.push(res.statusCode!);
      expect(res.headers['x-why']).toBe('test');
      res.resume();
    });
    await closed(ws);
    expect(statuses).toEqual([403]);
    expect(seen).toEqual(['http://example.test']);
    const ok = new WebSocket(`${asyncServer.url}/ok`);
    await opened(ok);
    const done = closed(ok);
    ok.close();
    await done;
    await closeServer(asyncServer.wss);
  });

  test('handleProtocols picks a subprotocol; headers listeners can add lines to the 101', async () => {
    const { wss, url } = await listen({
      handleProtocols: (protocols) => (protocols.has('chat.v2') ? 'chat.v2' : false),
    });
    wss.on('headers', (headers) => headers.push('X-Extra: yes'));
    const ws = new WebSocket(url, ['chat.v1', 'chat.v2']);
    const upgrade = once<[http.IncomingMessage]>(ws, 'upgrade');
    const open = opened(ws);
    const [conn] = await once<[WebSocket]>(wss, 'connection');
    const [res] = await upgrade;
    await open;
    expect(ws.protocol).toBe('chat.v2');
    expect(conn.protocol).toBe('chat.v2');
    expect(res.headers['x-extra']).toBe('yes');
    const done = closed(ws);
    ws.close();
    await done;
    await closeServer(wss);
  });

  test('clientTracking: clients appear and leave; off means undefined', async () => {
    const { wss, url } = await listen();
    const ws = new WebSocket(url);
    await once(wss, 'connection');
    expect(wss.clients!.size).toBe(1);
    const serverSide = [...wss.clients!][0]!;
    const gone = closed(serverSide);
    ws.terminate();
    await gone;
    expect(wss.clients!.size).toBe(0);
    await closeServer(wss);
    const untracked = new WebSocketServer({ noServer: true, clientTracking: false });
    expect(untracked.clients).toBeUndefined();
    await closeServer(untracked);
  });

  test('constructor misuse throws with what to do', () => {
    expect(() => new WebSocketServer({})).toThrow(/exactly one of/);
    expect(() => new WebSocketServer({ noServer: true, port: 1 })).toThrow(/exactly one of/);
  });

  test('close(cb) twice: the second call reports the server is not running', async () => {
    const { wss } = await listen();
    await closeServer(wss);
    const err = await new Promise<Error | undefined>((resolve) => wss.close(resolve));
    expect(err?.message).toMatch(/not running/);
  });
});

describe('graceful shutdown', () => {
  test('wss.close() sends 1001 to every client, waits for them, then calls back', async () => {
    const { wss, url } = await echoServer();
    const ours = new WebSocket(url);
    const theirs = new WsClient(url);
    await Promise.all([opened(ours), once(theirs, 'open')]);
    const oursClosed = closed(ours);
    const theirsClosed = once<[number, Buffer]>(theirs, 'close');
    // Data sent before close() reaches the client before the close frame.
    const last = messages(ours, 1);
    ours.send('before shutdown');
    const [[echo]] = (await last) as [[Buffer, boolean]];
    expect(echo.toString()).toBe('before shutdown');
    const serverDone = closeServer(wss);
    expect((await oursClosed)[0]).toBe(1001);
    expect((await theirsClosed)[0]).toBe(1001);
    await serverDone;
    expect(wss.clients!.size).toBe(0);
  });

  test('a client that never answers is destroyed after shutdownTimeout', async () => {
    const { wss, port } = await listen({ shutdownTimeout: 50 });
    // A raw client that completes the handshake and then ignores everything.
    const socket = net.connect(port, '127.0.0.1');
    socket.write(upgradeRequest('/'));
    await once(wss, 'connection');
    const socketClosed = once(socket, 'close');
    socket.on('data', () => {});
    await closeServer(wss);
    await socketClosed;
    expect(socket.destroyed).toBe(true);
  });
});

describe("'wsClientError' (as in ws): the listener owns the response", () => {
  test('the error says what was wrong and carries the status and the response we would have sent', async () => {
    const { wss, port } = await listen();
    const errors: { code: string; kind: string; statusCode: number; message: string }[] = [];
    wss.on('wsClientError', (err, socket) => {
      errors.push({ code: err.code, kind: err.kind, statusCode: err.statusCode, message: err.message });
      socket.end(err.response);
    });
    const res = await rawExchange(
      port,
      upgradeRequest('/').replace('Sec-WebSocket-Version: 13', 'Sec-WebSocket-Version: 8'),
    );
    expect(res).toMatch(/^HTTP\/1\.1 426 /);
    expect(res).toMatch(/Sec-WebSocket-Version: 13/);
    expect(errors).toEqual([
      {
        code: 'WS_ERR_INVALID_HANDSHAKE',
        kind: 'unsupported-version',
        statusCode: 426,
        message: expect.stringMatching(/unsupported Sec-WebSocket-Version 8/),
      },
    ]);
    await closeServer(wss);
  });

  test('a path no server matches (404) and verifyClient refusals are not client errors', async () => {
    const { wss, port } = await listen({ path: '/only', verifyClient: () => false });
    let emitted = 0;
    wss.on('wsClientError', () => emitted++);
    expect(await rawExchange(port, upgradeRequest('/other'))).toMatch(/^HTTP\/1\.1 404 /);
    expect(await rawExchange(port, upgradeRequest('/only'))).toMatch(/^HTTP\/1\.1 401 /);
    expect(emitted).toBe(0);
    await closeServer(wss);
  });
});

describe('the origins option (cross-site WebSocket hijacking, RFC 6455 10.2)', () => {
  const withOrigin = (origin: string): string => upgradeRequest('/', `Origin: ${origin}\r\n`);

  test('an origin not in the list gets 403 with a reason; listed ones (as serialized origins) and none get 101', async () => {
    const { wss, port } = await listen({ origins: ['https://app.example.com', 'http://localhost:8000'] });
    let connections = 0;
    wss.on('connection', (ws) => {
      connections++;
      ws.terminate();
    });
    const evil = await rawExchange(port, withOrigin('https://evil.example'));
    expect(evil).toMatch(/^HTTP\/1\.1 403 /);
    expect(evil).toMatch(/Origin https:\/\/evil\.example is not allowed/);
    expect(await rawExchange(port, withOrigin('null'))).toMatch(/^HTTP\/1\.1 403 /);
    // Another port or scheme is another origin.
    expect(await rawExchange(port, withOrigin('http://app.example.com'))).toMatch(/^HTTP\/1\.1 403 /);
    expect(await rawExchange(port, withOrigin('http://localhost:8001'))).toMatch(/^HTTP\/1\.1 403 /);
    expect(connections).toBe(0);
    // Case-insensitive scheme and host, default port dropped.
    expect(await rawExchange(port, withOrigin('HTTPS://App.Example.COM:443'))).toMatch(/^HTTP\/1\.1 101 /);
    expect(await rawExchange(port, withOrigin('http://LOCALHOST:8000'))).toMatch(/^HTTP\/1\.1 101 /);
    // No Origin: not a browser.
    expect(await rawExchange(port, upgradeRequest('/'))).toMatch(/^HTTP\/1\.1 101 /);
    expect(connections).toBe(3);
    await closeServer(wss);
  });

  test("'*' allows any origin; an entry that is not an origin is a misuse that says what to write", async () => {
    const { wss, port } = await listen({ origins: ['*'] });
    wss.on('connection', (ws) => ws.terminate());
    expect(await rawExchange(port, withOrigin('https://anyone.example'))).toMatch(/^HTTP\/1\.1 101 /);
    await closeServer(wss);
    expect(() => new WebSocketServer({ noServer: true, origins: ['example.com'] })).toThrow(
      /scheme:\/\/host/,
    );
  });

  test('isOriginAllowed and serializeOrigin, for verifyClient', () => {
    expect(serializeOrigin('HTTP://Example.com:80/path')).toBe('http://example.com');
    expect(serializeOrigin('null')).toBeNull();
    expect(isOriginAllowed(undefined, [])).toBe(true);
    expect(isOriginAllowed('https://a.example', ['https://A.example:443'])).toBe(true);
    expect(isOriginAllowed('https://b.example', ['https://a.example'])).toBe(false);
    expect(isOriginAllowed('https://b.example', ['*'])).toBe(true);
    expect(isOriginAllowed('garbage', ['https://a.example'])).toBe(false);
  });
});
