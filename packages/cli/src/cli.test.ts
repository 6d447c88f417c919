import { once } from 'node:events';
import { createServer } from 'node:http';
import { connect as connectHttp2 } from 'node:http2';
import { connect as tcpConnect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { PassThrough, Writable } from 'node:stream';
import { join } from 'node:path';
import { WebSocket as PeerWebSocket, WebSocketServer as PeerServer } from 'ws';
import { run } from './cli.js';
import { parseServeArgs, startServer } from './serve.js';
import type { RunningServer } from './serve.js';
import { upgradeRequest } from '@rfc6455/test-support';
import { WebSocket as NodeWebSocket } from './transport.js';

const demoDir = join(__dirname, '..', 'public');

/** A stdout or stderr that records what is written the moment it is written. */
class Recorder extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: BufferEncoding, done: () => void): void {
    this.text += chunk.toString();
    this.emit('recorded');
    done();
  }
}

/** In-memory stdio for a command: `input` is its whole stdin (null: stdin stays open). */
function fakeIo(input: string | null = '') {
  const stdin = new PassThrough();
  if (input !== null) stdin.end(input);
  const stdout = new Recorder();
  const stderr = new Recorder();
  return {
    io: { stdin, stdout, stderr },
    stdin,
    out: () => stdout.text,
    err: () => stderr.text,
    /** Resolves with the first match of `pattern` in stdout. */
    waitFor: (pattern: RegExp) =>
      new Promise<RegExpExecArray>((resolve) => {
        const check = (): void => {
          const match = pattern.exec(stdout.text);
          if (match === null) return;
          stdout.off('recorded', check);
          resolve(match);
        };
        stdout.on('recorded', check);
        check();
      }),
  };
}

const noStop = new AbortController().signal;

/** `rfc6455 serve ARGS` in-process; afterEach stops any still running, even when a test failed. */
const serving: { stop: AbortController; done: Promise<number> }[] = [];
async function serveCli(args: string[]) {
  const stop = new AbortController();
  const io = fakeIo();
  const done = run(['serve', '--port', '0', ...args], io.io, { demoDir, stop: stop.signal });
  serving.push({ stop, done });
  const [, url] = await io.waitFor(/websocket: (ws:\/\/\S+)/);
  return { ...io, url: url!, done, stop: () => stop.abort() };
}
afterEach(async () => {
  for (const server of serving.splice(0)) {
    server.stop.abort();
    await server.done;
  }
});
const connect = (args: string[], input: string | null = '') => {
  const io = fakeIo(input);
  return { ...io, code: run(['connect', ...args], io.io, { demoDir, stop: noStop }) };
};

async function withServer(
  options: Partial<Parameters<typeof startServer>[0]>,
  body: (server: RunningServer) => Promise<void>,
): Promise<void> {
  const server = await startServer({
    port: 0,
    host: '127.0.0.1',
    mode: 'echo',
    staticDir: null,
    path: '/',
    protocols: [],
    deflate: false,
    maxPayload: 1024 * 1024,
    maxBuffered: 16 * 1024 * 1024,
    ...options,
  });
  try {
    await body(server);
  } finally {
    await server.close();
  }
}

/** A `ws` client of our server (a peer nobody here wrote). */
async function peer(url: string, protocols: string[] = []) {
  const ws = new PeerWebSocket(url, protocols);
  const messages: string[] = [];
  ws.on('message', (data: Buffer, isBinary) =>
    messages.push(isBinary ? `binary:${data.toString('hex')}` : data.toString()),
  );
  await once(ws, 'open');
  return { ws, messages };
}

async function freePort(): Promise<number> {
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as AddressInfo;
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

describe('rfc6455 serve and rfc6455 connect talk to each other', () => {
  it('sends stdin lines and commands, prints what comes back, exits 0 after closing', async () => {
    const server = await serveCli(['--mode', 'echo']);

    const client = connect([server.url], 'hello\n/binary 01 02 ff\n//slash\n\nsecond line\n/nonsense\n');
    expect(await client.code).toBe(0);
    expect(client.out()).toBe('< hello\n< [binary 3 bytes] 01 02 ff\n< /slash\n< \n< second line\n');
    expect(client.err()).toMatch(/connected to ws:\/\/localhost:\d+ \(subprotocol: none; extensions: none\)/);
    expect(client.err()).toMatch(/unknown command '\/nonsense'/);
    expect(client.err()).toMatch(/disconnected \(code 1000\)/);

    server.stop();
    expect(await server.done).toBe(0);
  });

  it('--execute sends without reading stdin; --deflate and --protocol are negotiated', async () => {
    const server = await serveCli(['--deflate', '--protocol', 'chat', '--mode', 'broadcast']);
    const client = connect(
      [server.url, '--deflate', '--protocol', 'other', '--protocol', 'chat', '-x', 'one', '-x', 'two'],
      null,
    );
    expect(await client.code).toBe(0);
    expect(client.out()).toBe('< one\n< two\n');
    expect(client.err()).toMatch(/subprotocol: chat; extensions: permessage-deflate/);
    server.stop();
    expect(await server.done).toBe(0);
  });

  it('serve says 1001 to connected clients on shutdown', async () => {
    const server = await serveCli([]);
    const { ws } = await peer(server.url);
    const closed = once(ws, 'close');
    server.stop();
    const [code, reason] = (await closed) as [number, Buffer];
    expect(code).toBe(1001);
    expect(reason.toString()).toBe('server shutting down');
    expect(await server.done).toBe(0);
    expect(server.err()).toMatch(/closing 1 connection\(s\) with 1001/);
  });

  it('reports a port in use in one line and exits 1', async () => {
    await withServer({}, async (running) => {
      const server = fakeIo();
      const code = await run(['serve', '--port', String(running.port)], server.io, { demoDir, stop: noStop });
      expect(code).toBe(1);
      expect(server.err()).toBe(
        `rfc6455 serve: port ${running.port} on 127.0.0.1 is already in use (pick another with --port, or 0 for any free one)\n`,
      );
    });
  });
});

describe('rfc6455 connect against a ws server', () => {
  it('sends headers, subprotocol, pings, binary, and a close with code and reason', async () => {
    const wss = new PeerServer({
      port: 0,
      host: '127.0.0.1',
      handleProtocols: (p) => (p.has('v2') ? 'v2' : false),
    });
    await once(wss, 'listening');
    const seen: string[] = [];
    let closed: Promise<unknown[]> | undefined;
    wss.on('connection', (ws, req) => {
      seen.push(`header ${String(req.headers['x-token'])}`);
      ws.on('message', (data: Buffer, isBinary) => {
        seen.push(isBinary ? `binary ${data.toString('hex')}` : `text ${data.toString()}`);
        ws.send(`got ${data.length} bytes`);
      });
      ws.on('ping', (data) => seen.push(`ping ${data.toString()}`));
      closed = once(ws, 'close');
    });
    const { port } = wss.address() as AddressInfo;
    try {
      const client = connect(
        [`127.0.0.1:${port}`, '--header', 'X-Token: secret', '--protocol', 'v2'],
        'hi\n/ping are you there\n/binary deadbeef\n/close 4001 bye now\n',
      );
      expect(await client.code).toBe(0);
      const [code, reason] = (await closed!) as [number, Buffer];
      expect([code, reason.toString()]).toEqual([4001, 'bye now']);
      expect(seen).toEqual(['header secret', 'text hi', 'ping are you there', 'binary deadbeef']);
      expect(client.out()).toBe('< got 2 bytes\n< got 4 bytes\n');
      expect(client.err()).toMatch(/< pong are you there/);
      expect(client.err()).toMatch(/subprotocol: v2/);
      expect(client.err()).toMatch(/disconnected \(code 4001, reason: bye now\)/);
    } finally {
      await new Promise((resolve) => wss.close(resolve));
    }
  });

  it('exits 3 when the server closes with an error code', async () => {
    const wss = new PeerServer({ port: 0, host: '127.0.0.1' });
    await once(wss, 'listening');
    wss.on('connection', (ws) => ws.on('message', () => ws.close(4000, 'not today')));
    const { port } = wss.address() as AddressInfo;
    try {
      const client = connect([`ws://127.0.0.1:${port}`, '--wait', '30'], 'anything\n');
      expect(await client.code).toBe(3);
      expect(client.err()).toMatch(/disconnected \(code 4000, reason: not today\)/);
    } finally {
      await new Promise((resolve) => wss.close(resolve));
    }
  });
});

describe('rfc6455 connect errors', () => {
  it('connection refused: one line, exit 1', async () => {
    const port = await freePort();
    const client = connect([`ws://127.0.0.1:${port}`]);
    expect(await client.code).toBe(1);
    expect(client.err()).toBe(
      `rfc6455 connect: connection refused by 127.0.0.1:${port} (is the server running?)\n`,
    );
  });

  it('handshake rejected: the status and the reason the server gave', async () => {
    const http = createServer((_req, res) => {
      res.writeHead(403, 'Forbidden', { 'content-type': 'text/plain' });
      res.end('origin not allowed\nmore detail\n');
    });
    http.listen(0, '127.0.0.1');
    await once(http, 'listening');
    const { port } = http.address() as AddressInfo;
    try {
      const client = connect([`ws://127.0.0.1:${port}/chat`]);
      expect(await client.code).toBe(1);
      expect(client.err()).toBe(
        'rfc6455 connect: handshake rejected by the server: HTTP 403 Forbidden (origin not allowed)\n',
      );
    } finally {
      http.closeAllConnections();
      await new Promise((resolve) => http.close(resolve));
    }
  });

  it.each([
    [['connect'], /missing URL/],
    [['connect', 'http://example.com'], /must start with ws:\/\/ or wss:\/\//],
    [['connect', 'ws://x', '--header', 'nocolon'], /--header must look like 'Name: value'/],
    [['connect', 'ws://x', '--wait', 'soon'], /--wait must be a number of seconds/],
    [['serve', '--port', '70000'], /--port must be between 0 and 65535/],
    [['serve', '--mode', 'shout'], /--mode must be echo, broadcast or demo/],
    [['serve', '--bogus'], /Unknown option '--bogus'/],
    [['launch'], /unknown command 'launch'/],
  ])('%j is a usage error (exit 2)', async (argv, message) => {
    const io = fakeIo();
    expect(await run(argv, io.io, { demoDir, stop: noStop })).toBe(2);
    expect(io.err()).toMatch(message);
    expect(io.out()).toBe('');
  });

  it.each([['serve'], ['connect']])('%s --help prints usage and exits 0', async (command) => {
    const io = fakeIo();
    expect(await run([command, '--help'], io.io, { demoDir, stop: noStop })).toBe(0);
    expect(io.out()).toMatch(new RegExp(`^Usage: rfc6455 ${command}`));
  });
});

describe('serve modes', () => {
  it('broadcast: every client gets every message, the sender included', async () => {
    await withServer({ mode: 'broadcast' }, async (server) => {
      const a = await peer(server.wsUrl);
      const b = await peer(server.wsUrl);
      const bothGot = Promise.all([once(a.ws, 'message'), once(b.ws, 'message')]);
      a.ws.send('from a');
      await bothGot;
      const bothGotBinary = Promise.all([once(a.ws, 'message'), once(b.ws, 'message')]);
      b.ws.send(Buffer.from([1, 2]));
      await bothGotBinary;
      expect(a.messages).toEqual(['from a', 'binary:0102']);
      expect(b.messages).toEqual(['from a', 'binary:0102']);
    });
  });

  it('broadcast: a client that stops reading is closed with 1008 once over --max-buffered', async () => {
    await withServer(
      { mode: 'broadcast', maxBuffered: 64 * 1024, maxPayload: 2 * 1024 * 1024 },
      async (server) => {
        const reader = await peer(server.wsUrl);
        const slow = await peer(server.wsUrl);
        slow.ws.pause(); // stops reading from its socket: the server's buffer for it grows
        const slowClosedByServer = new Promise<void>((resolve) => {
          const check = (): void => {
            for (const client of server.wss.clients ?? [])
              if (client.readyState === client.CLOSING) return resolve();
          };
          reader.ws.on('message', check);
        });
        const big = Buffer.alloc(512 * 1024, 7);
        let sent = 0;
        let done = false;
        void slowClosedByServer.then(() => (done = true));
        // Bounded: 64 messages of 512 KiB is far more than loopback socket buffers hold.
        while (!done && sent < 64) {
          reader.ws.send(big);
          sent += 1;
          await once(reader.ws, 'message');
        }
        expect(done).toBe(true);
        slow.ws.resume();
        const [code, reason] = (await once(slow.ws, 'close')) as [number, Buffer];
        expect(code).toBe(1008);
        expect(reason.toString()).toBe('too slow: send buffer over the limit');
        reader.ws.close();
        await once(reader.ws, 'close');
      },
    );
  });

  it('--static serves files over HTTP on the WebSocket port; without it, plain HTTP gets 426', async () => {
    await withServer({ staticDir: demoDir }, async (server) => {
      const page = await fetch(server.httpUrl);
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(await page.text()).toMatch(/new WebSocket|<script src="demo\.js">/);
      const escape = await fetch(`${server.httpUrl}..%2f..%2fpackage.json`);
      expect(escape.status).toBe(404);
      await escape.text();
      const post = await fetch(server.httpUrl, { method: 'POST' });
      expect(post.status).toBe(405);
      await post.text();
    });
    await withServer({}, async (server) => {
      const res = await fetch(server.httpUrl);
      expect(res.status).toBe(426);
      await res.text();
    });
  });

  it('--path accepts WebSocket connections on that path only', async () => {
    await withServer({ path: '/chat' }, async (server) => {
      expect(server.wsUrl).toMatch(/\/chat$/);
      const ok = await peer(server.wsUrl);
      ok.ws.close();
      await once(ok.ws, 'close');
      const client = connect([server.wsUrl.replace(/\/chat$/, '/other')]);
      expect(await client.code).toBe(1);
      expect(client.err()).toMatch(/handshake rejected by the server: HTTP 4\d\d /);
    });
  });
});

describe('serve: Origin and Host checks (cross-site WebSocket hijacking, DNS rebinding)', () => {
  /** An upgrade request with the given Host and Origin (null: no Origin); resolves with the status line. */
  function handshake(port: number, host: string, origin: string | null): Promise<string> {
    return new Promise((resolve, reject) => {
      const socket = tcpConnect(port, '127.0.0.1', () =>
        socket.write(upgradeRequest('/', origin === null ? '' : `Origin: ${origin}\r\n`, host)),
      );
      let text = '';
      socket.setEncoding('latin1');
      socket.on('data', (chunk: string) => {
        text += chunk;
        // Enough to judge: the status line, and for a refusal its body.
        if (text.startsWith('HTTP/1.1 101') && text.includes('\r\n\r\n')) socket.destroy();
      });
      socket.on('error', reject);
      socket.on('close', () => resolve(text.startsWith('HTTP/1.1 101') ? '101' : text));
    });
  }
  const demo = { mode: 'demo' as const, staticDir: demoDir, deflate: true, protocols: ['chat'] };

  it("demo mode: an evil Origin gets 403; the page's own origin, 127.0.0.1 and no Origin connect", async () => {
    await withServer(demo, async ({ port }) => {
      const evil = await handshake(port, `localhost:${port}`, 'https://evil.example');
      expect(evil).toMatch(/^HTTP\/1\.1 403 /);
      expect(evil).toMatch(/Origin https:\/\/evil\.example is not allowed.*--allow-origin/);
      // Same host, another port: another origin.
      expect(await handshake(port, `localhost:${port}`, `http://localhost:${port + 1}`)).toMatch(/ 403 /);
      expect(await handshake(port, `localhost:${port}`, `http://localhost:${port}`)).toBe('101');
      expect(await handshake(port, `127.0.0.1:${port}`, `http://127.0.0.1:${port}`)).toBe('101');
      expect(await handshake(port, `[::1]:${port}`, `http://[::1]:${port}`)).toBe('101');
      expect(await handshake(port, `localhost:${port}`, null)).toBe('101');
    });
  });

  it('demo mode: a Host that is not a loopback name gets 403, on the page and on upgrades (DNS rebinding)', async () => {
    await withServer(demo, async ({ port, httpUrl }) => {
      // A rebound name: its page is same-origin with itself, so only Host gives it away.
      const rebound = await handshake(port, `evil.example:${port}`, `http://evil.example:${port}`);
      expect(rebound).toMatch(/^HTTP\/1\.1 403 /);
      expect(rebound).toMatch(/Host evil\.example/);
      expect(await handshake(port, `evil.example:${port}`, null)).toMatch(/ 403 /);
      const page = await new Promise<number>((resolve, reject) => {
        const socket = tcpConnect(port, '127.0.0.1', () =>
          socket.write(`GET / HTTP/1.1\r\nHost: evil.example:${port}\r\nConnection: close\r\n\r\n`),
        );
        let text = '';
        socket.setEncoding('latin1');
        socket.on('data', (chunk: string) => (text += chunk));
        socket.on('error', reject);
        socket.on('close', () => resolve(Number(text.slice(9, 12))));
      });
      expect(page).toBe(403);
      expect((await fetch(httpUrl)).status).toBe(200);
    });
  });

  it('--allow-origin lets another origin in; echo mode checks nothing unless given it', async () => {
    const parsed = parseServeArgs(['--mode', 'demo', '--allow-origin', 'HTTPS://Other.example:443'], demoDir);
    if (parsed === 'help') throw new Error('unexpected help');
    expect(parsed.allowOrigins).toEqual(['HTTPS://Other.example:443']);
    await withServer({ ...parsed, port: 0, host: '127.0.0.1' }, async ({ port }) => {
      expect(await handshake(port, `localhost:${port}`, 'https://other.example')).toBe('101');
      expect(await handshake(port, `localhost:${port}`, 'https://third.example')).toMatch(/ 403 /);
    });
    await withServer({ mode: 'demo', allowOrigins: ['*'] }, async ({ port }) => {
      expect(await handshake(port, `anything.example:${port}`, 'https://third.example')).toBe('101');
    });
    await withServer({ mode: 'echo' }, async ({ port }) => {
      expect(await handshake(port, `anything.example:${port}`, 'https://third.example')).toBe('101');
    });
    await withServer({ mode: 'echo', allowOrigins: ['https://other.example'] }, async ({ port }) => {
      expect(await handshake(port, `localhost:${port}`, 'https://other.example')).toBe('101');
      expect(await handshake(port, `localhost:${port}`, 'https://third.example')).toMatch(/ 403 /);
    });
    expect(() => parseServeArgs(['--allow-origin', 'example.com'], demoDir)).toThrow(
      /--allow-origin must be an origin/,
    );
  });
});

describe('serve with TLS: HTTPS over HTTP/2 and HTTP/1.1', () => {
  it('--tls-self-signed serves the page over h2 and WebSockets over h2 (extended CONNECT) and HTTP/1.1', async () => {
    const parsed = parseServeArgs(['--mode', 'demo', '--tls-self-signed'], demoDir);
    if (parsed === 'help') throw new Error('unexpected help');
    expect(parsed.tls?.cert.toString()).toMatch(/BEGIN CERTIFICATE/);
    await withServer({ ...parsed, port: 0, host: '127.0.0.1' }, async (server) => {
      expect(server.wsUrl).toBe(`wss://localhost:${server.port}`);
      const origin = `https://localhost:${server.port}`;
      // The page, over HTTP/2.
      const session = connectHttp2(origin, { rejectUnauthorized: false });
      const page = session.request({ ':path': '/' });
      const [headers] = (await once(page, 'response')) as [Record<string, string | number>];
      expect(headers[':status']).toBe(200);
      page.resume();
      await once(page, 'end');
      // A WebSocket on that same session, and one over HTTP/1.1 (no http2 option).
      const versions: string[] = [];
      server.wss.on('connection', (_ws, req) => versions.push(req.httpVersion));
      const h2 = new NodeWebSocket(server.wsUrl, ['chat'], { http2: session, origin });
      const h1 = new NodeWebSocket(server.wsUrl, ['chat'], { rejectUnauthorized: false, origin });
      await Promise.all([once(h2, 'open'), once(h1, 'open')]);
      expect(versions.sort()).toEqual(['1.1', '2.0']);
      expect([h2.protocol, h2.extensions]).toEqual(['chat', expect.stringMatching(/^permessage-deflate/)]);
      // Demo mode broadcasts: a message from the HTTP/2 socket reaches the HTTP/1.1 one.
      const got = once(h1, 'message');
      h2.send('across versions');
      expect(String((await got)[0])).toBe('across versions');
      h2.close();
      h1.close();
      await Promise.all([once(h2, 'close'), once(h1, 'close')]);
      session.close();
    });
  });

  it('--tls-cert needs --tls-key, and not with --tls-self-signed', () => {
    expect(() => parseServeArgs(['--tls-cert', 'c.pem'], demoDir)).toThrow(/go together/);
    expect(() =>
      parseServeArgs(['--tls-cert', 'c.pem', '--tls-key', 'k.pem', '--tls-self-signed'], demoDir),
    ).toThrow(/not both/);
    expect(() =>
      parseServeArgs(['--tls-cert', '/nonexistent/c.pem', '--tls-key', '/nonexistent/k.pem'], demoDir),
    ).toThrow(/cannot read \/nonexistent\/c.pem/);
  });
});
