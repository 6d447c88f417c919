// Runs every ```ts example of packages/node/README.md. Only the port and the import lines change:
// servers listen on 127.0.0.1 port 0, clients connect to that port.
import fs from 'node:fs';
import path from 'node:path';
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import * as lib from './index.js';
import { closeServer, closed, messages, once, opened } from './testing/helpers.js';

const readme = fs.readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((m) => m[1] as string);

type Scope = Record<string, unknown>;
const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (
  ...args: string[]
) => (...args: unknown[]) => Promise<Scope>;

/** Runs one README block; resolves with its top-level bindings and what it logged. */
async function run(index: number, port = 0): Promise<{ scope: Scope; logs: string[] }> {
  let code = blocks[index]!;
  code = code.replace(/^import \{([^}]*)\} from '@rfc6455\/node';$/gm, 'const {$1} = __lib;');
  code = code.replace(/^import http from 'node:http';$/gm, 'const http = __http;');
  code = code.replace(/^import http2 from 'node:http2';$/gm, 'const http2 = __http2;');
  code = code.replace(/port: 8080/g, "port: 0, host: '127.0.0.1'");
  code = code.replace(/\.listen\(8080\)/g, ".listen(0, '127.0.0.1')");
  code = code.replace(/localhost:80[08]0/g, `127.0.0.1:${port}`);
  expect(code).not.toMatch(/^import /m);
  const names = [...code.matchAll(/^(?:const|let) (\w+) =/gm)].map((m) => m[1]);
  const logs: string[] = [];
  const logger = { log: (...args: unknown[]) => logs.push(args.map(String).join(' ')) };
  const fn = new AsyncFunction(
    '__lib',
    '__http',
    '__http2',
    'console',
    `${code}\nreturn { ${names.join(', ')} };`,
  );
  return { scope: await fn(lib, http, http2, logger), logs };
}

async function until(logs: string[], text: string): Promise<void> {
  for (let i = 0; i < 500 && !logs.some((l) => l.includes(text)); i++)
    await new Promise((r) => setTimeout(r, 10));
  expect(logs.join('\n')).toContain(text);
}

async function serverBlock(): Promise<{ wss: lib.WebSocketServer; port: number }> {
  const { scope } = await run(0);
  const wss = scope['wss'] as lib.WebSocketServer;
  await once(wss, 'listening');
  return { wss, port: (wss.address() as AddressInfo).port };
}

test('the README has the nine examples', () => {
  expect(blocks).toHaveLength(9);
});

test('README: server + ws-style client', async () => {
  const { wss, port } = await serverBlock();
  const { scope, logs } = await run(1, port);
  await until(logs, 'closed 1000');
  expect(logs).toEqual(['echo: hello', 'closed 1000']);
  expect((scope['ws'] as lib.WebSocket).readyState).toBe(lib.WebSocket.CLOSED);
  await closeServer(wss);
});

test('README: the browser snippet, unchanged but for the port', async () => {
  const { wss, port } = await serverBlock();
  const { scope, logs } = await run(2, port);
  const ws = scope['ws'] as lib.WebSocket;
  await closed(ws);
  expect(logs).toEqual(['got sending data']);
  await closeServer(wss);
});

test('README: createWebSocketStream (write, end, read the echo until the close)', async () => {
  const { wss, port } = await serverBlock();
  const { scope, logs } = await run(3, port);
  expect(logs).toEqual(['got one message']);
  expect((scope['ws'] as lib.WebSocket).readyState).toBe(lib.WebSocket.CLOSED);
  await closeServer(wss);
});

test('README: attaching to an existing HTTP server (server + path, noServer + handleUpgrade)', async () => {
  const { scope } = await run(4);
  const server = scope['server'] as http.Server;
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const page = await new Promise<string>((resolve) =>
    http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let b = '';
      res.on('data', (d) => (b += d));
      res.on('end', () => resolve(b));
    }),
  );
  expect(page).toBe('an ordinary page');
  for (const [p, greeting] of [
    ['/chat', 'welcome to chat'],
    ['/feed', 'welcome to the feed'],
  ]) {
    const ws = new lib.WebSocket(`ws://127.0.0.1:${port}${p}`);
    const [[msg]] = (await messages(ws, 1)) as [[Buffer, boolean]];
    expect(msg.toString()).toBe(greeting);
    const done = closed(ws);
    ws.close();
    await done;
  }
  await closeServer(scope['chat'] as lib.WebSocketServer);
  await closeServer(scope['feed'] as lib.WebSocketServer);
  await new Promise((r) => server.close(r));
});

test('README: WebSockets over HTTP/2 (server on an h2c server with a request listener, http2 client)', async () => {
  const { scope } = await run(5);
  const server = scope['server'] as http2.Http2Server;
  const wss = scope['wss'] as lib.WebSocketServer;
  const sessions: http2.ServerHttp2Session[] = [];
  server.on('session', (s) => sessions.push(s));
  await once(server, 'listening');
  const port = (server.address() as AddressInfo).port;
  const { scope: client, logs } = await run(6, port);
  const ws = client['ws'] as lib.WebSocket;
  await closed(ws);
  expect(logs).toEqual(['hello over HTTP/2.0']);
  expect(ws.extensions).toMatch(/^permessage-deflate/);
  // The page, over HTTP/2 too, beside the WebSocket.
  const session = http2.connect(`http://127.0.0.1:${port}`);
  const req = session.request({ ':path': '/' });
  req.setEncoding('utf8');
  let page = '';
  for await (const chunk of req) page += chunk as string;
  expect(page).toBe('a page over HTTP/2');
  session.close();
  await closeServer(wss);
  for (const s of sessions) s.destroy();
  await new Promise((r) => server.close(r));
});

test('README: migrating from ws (broadcast)', async () => {
  const { scope } = await run(7);
  const wss = scope['wss'] as lib.WebSocketServer;
  await once(wss, 'listening');
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  const a = new lib.WebSocket(url);
  const b = new lib.WebSocket(url);
  await Promise.all([opened(a), opened(b)]);
  expect(a.extensions).toContain('permessage-deflate');
  const both = Promise.all([messages(a, 1), messages(b, 1)]);
  a.send('to everyone');
  const [[[ma]], [[mb]]] = (await both) as [[[Buffer, boolean]], [[Buffer, boolean]]];
  expect([ma.toString(), mb.toString()]).toEqual(['to everyone', 'to everyone']);
  await closeServer(wss);
});

test('README: topics (a room where each message goes to everyone but its sender)', async () => {
  const { scope } = await run(8);
  const wss = scope['wss'] as lib.WebSocketServer;
  await once(wss, 'listening');
  expect(wss.options.topics).toEqual({});
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  const [a, b, c] = [new lib.WebSocket(url), new lib.WebSocket(url), new lib.WebSocket(url)];
  await Promise.all([opened(a), opened(b), opened(c)]);
  expect(a.extensions).toContain('server_no_context_takeover');
  for (let i = 0; i < 100 && wss.subscriberCount('room') < 3; i++)
    await new Promise((r) => setTimeout(r, 10));
  let aGot = 0;
  a.on('message', () => aGot++);
  const others = Promise.all([messages(b, 1), messages(c, 1)]);
  a.send('to the others');
  const [[[mb]], [[mc]]] = (await others) as [[[Buffer, boolean]], [[Buffer, boolean]]];
  expect([mb.toString(), mc.toString()]).toEqual(['to the others', 'to the others']);
  expect(aGot).toBe(0);
  await closeServer(wss);
});
