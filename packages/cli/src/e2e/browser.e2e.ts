// End-to-end tests in headless Chromium (Debian's package, driven by playwright-core) against the
// real server on 127.0.0.1. Run by scripts/e2e.sh, which installs Chromium first when it may.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';
import { startServer } from '../serve.js';
import type { RunningServer, ServeOptions } from '../serve.js';
import type { WebSocket as ServerSocket } from '../transport.js';
import { runCodecScenario } from './codec-scenario.js';
import type { Http2SecureServer, IncomingHttpHeaders, Http2Session, ServerHttp2Stream } from 'node:http2';
import type { IncomingMessage } from 'node:http';
import { selfSignedCertificate } from '../tls.js';
import { RedisServer, haveRedis } from '@rfc6455/test-support';

const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const repoRoot = join(__dirname, '..', '..', '..', '..');
const demoDir = join(__dirname, '..', '..', 'public');

jest.setTimeout(60_000);

let profileDir: string;
let browser: BrowserContext;

beforeAll(async () => {
  if (!existsSync(chromiumPath)) {
    throw new Error(`${chromiumPath} is missing: run scripts/install-chromium.sh (or set CHROMIUM_PATH)`);
  }
  profileDir = mkdtempSync(join(tmpdir(), 'rfc6455-chromium-'));
  // A fresh profile per run: nothing cached or remembered between runs.
  browser = await chromium.launchPersistentContext(profileDir, {
    executablePath: chromiumPath,
    headless: true,
    viewport: { width: 900, height: 760 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      // The HTTP/2 tests serve a certificate made at run time (serve's --tls-self-signed).
      '--ignore-certificate-errors',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});

afterAll(async () => {
  await browser?.close();
  if (profileDir !== undefined) rmSync(profileDir, { recursive: true, force: true });
});

interface Seen {
  server: RunningServer;
  /** What the server received, in order: 'text <data>', 'binary <length>', 'close <code> <reason>'. */
  log: string[];
}

async function withServer(
  options: Partial<ServeOptions>,
  body: (seen: Seen) => Promise<void>,
): Promise<void> {
  const server = await startServer({
    port: 0,
    host: '127.0.0.1',
    mode: 'echo',
    staticDir: null,
    path: '/',
    protocols: [],
    deflate: false,
    maxPayload: 64 * 1024 * 1024,
    maxBuffered: 64 * 1024 * 1024,
    ...options,
  });
  const log: string[] = [];
  server.wss.on('connection', (ws) => {
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      log.push(
        isBinary
          ? `binary ${data.length}`
          : `text ${data.length > 64 ? `(${data.length} bytes)` : data.toString()}`,
      );
    });
    ws.on('close', (code: number, reason: Buffer) => log.push(`close ${code} ${reason.toString()}`));
  });
  try {
    await body({ server, log });
  } finally {
    await server.close();
  }
}

/** Page-side helpers, so that no test waits forever on an event that will not come. */
const pageHelpers = `
  window.openSocket = (url) => new Promise((resolve, reject) => {
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => resolve(ws);
    ws.onerror = () => reject(new Error('WebSocket error before open: ' + url));
  });
  window.nextClose = (ws) => new Promise((resolve) => {
    ws.onclose = (e) => resolve([e.code, e.reason, e.wasClean]);
  });
`;
interface PageHelpers {
  openSocket(url: string): Promise<WebSocket>;
  nextClose(ws: WebSocket): Promise<[number, string, boolean]>;
}
declare const window: PageHelpers & typeof globalThis;

/**
 * A page whose origin is the server's own (http://localhost:PORT), as in the user's story: Chromium's
 * local network access rules treat about:blank as public and refuse its connections to localhost.
 */
async function newPage(server: RunningServer | null): Promise<Page> {
  const page = await browser.newPage();
  await page.goto(server === null ? 'about:blank' : server.httpUrl);
  await page.addScriptTag({ content: pageHelpers });
  return page;
}

/** Waits until the server's log has `count` entries (the browser acts asynchronously). */
async function until(condition: () => boolean): Promise<void> {
  while (!condition()) await new Promise((resolve) => setTimeout(resolve, 10));
}

describe('the seed snippet', () => {
  it('runs verbatim in a page: the server sees "sending data" and answers', async () => {
    await withServer(
      { mode: 'demo', staticDir: demoDir, deflate: true, protocols: ['chat'] },
      async ({ server, log }) => {
        const page = await newPage(server);
        await page.locator('#state[data-state="OPEN"]').waitFor();
        // Exactly what a person types in the console (ws://localhost, as printed by npm start).
        await page.evaluate(
          `let ws = new WebSocket("ws://localhost:${server.port}"); ws.onopen = () => { ws.send("sending data") }`,
        );
        await until(() => log.includes('text sending data'));
        // Demo mode broadcasts: the page's own connection shows the server's answer in its log.
        await page.locator('#log [data-kind="received"]', { hasText: 'sending data' }).waitFor();
        await page.close();
      },
    );
  });
});

describe('the built rfc6455 command, as npm start runs it', () => {
  it('serves the demo page; the seed snippet gets an answer; SIGINT closes the page with 1001', async () => {
    const main = join(repoRoot, 'packages', 'cli', 'dist', 'main.js');
    if (!existsSync(main)) throw new Error(`${main} is missing: run scripts/build.sh first`);
    const child = spawn(process.execPath, [main, 'serve', '--mode', 'demo', '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = once(child, 'exit');
    let output = '';
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => (output += chunk));
    child.stderr.resume();
    try {
      await until(() => /websocket: ws:\/\/localhost:\d+\n/.test(output) || child.exitCode !== null);
      const page = output.match(/page: +(http:\/\/localhost:(\d+)\/)/);
      expect(output).toMatch(/websocket: ws:\/\/localhost:\d+\n/);
      const [, pageUrl, port] = page!;

      const tab = await browser.newPage();
      await tab.goto(pageUrl!);
      await tab.locator('#state[data-state="OPEN"]').waitFor();
      await tab.evaluate(
        `let ws = new WebSocket("ws://localhost:${port}"); ws.onopen = () => { ws.send("sending data") }`,
      );
      await tab.locator('#log [data-kind="received"]', { hasText: 'sending data' }).waitFor();

      child.kill('SIGINT');
      const [code] = (await exited) as [number | null];
      expect(code).toBe(0);
      await tab
        .locator('#log [data-kind="event"]', { hasText: 'closed: code 1001, reason "server shutting down"' })
        .waitFor();
      await tab.close();
    } finally {
      if (child.exitCode === null) {
        child.kill('SIGKILL');
        await exited;
      }
    }
  });
});

describe('messages round-trip between Chromium and the server', () => {
  it('text, ArrayBuffer, Blob, empty and 4 MiB messages come back intact', async () => {
    await withServer({}, async ({ server, log }) => {
      const page = await newPage(server);
      const result = await page.evaluate(async (url) => {
        const ws = await window.openSocket(url);
        const echo = (data: string | ArrayBuffer | Blob) =>
          new Promise<string | ArrayBuffer>((resolve) => {
            ws.addEventListener('message', (e: MessageEvent<string | ArrayBuffer>) => resolve(e.data), {
              once: true,
            });
            ws.send(data);
          });
        const bytes = (data: string | ArrayBuffer) =>
          typeof data === 'string' ? `string ${data}` : `bytes ${Array.from(new Uint8Array(data)).join(',')}`;
        const big = new Uint8Array(4 * 1024 * 1024);
        for (let i = 0; i < big.length; i++) big[i] = (i * 31) ^ (i >>> 12);
        const bigText = 'abcdefghijklmnopqrstuvwxyz0123456789€'.repeat((4 * 1024 * 1024) / 39);
        const bigBack = new Uint8Array((await echo(big.buffer)) as ArrayBuffer);
        const textBack = (await echo(bigText)) as string;
        const out = [
          bytes(await echo('héllo 👋')),
          bytes(await echo(new Uint8Array([0, 1, 2, 255]).buffer)),
          bytes(await echo(new Blob([new Uint8Array([9, 8, 7])]))),
          bytes(await echo('')),
          bytes(await echo(new ArrayBuffer(0))),
          `4 MiB binary: ${bigBack.length} bytes, equal=${bigBack.every((b, i) => b === big[i])}`,
          `4 MiB text: ${textBack.length} chars, equal=${textBack === bigText}`,
        ];
        ws.close(1000);
        return out;
      }, server.wsUrl);
      expect(result).toEqual([
        'string héllo 👋',
        'bytes 0,1,2,255',
        'bytes 9,8,7',
        'string ',
        'bytes ',
        `4 MiB binary: ${4 * 1024 * 1024} bytes, equal=true`,
        `4 MiB text: ${Math.floor((4 * 1024 * 1024) / 39) * 37} chars, equal=true`,
      ]);
      await until(() => log.length === 8);
      expect(log).toEqual([
        `binary ${4 * 1024 * 1024}`,
        expect.stringMatching(/^text \(\d+ bytes\)$/),
        'text héllo 👋',
        'binary 4',
        'binary 3',
        'text ',
        'binary 0',
        'close 1000 ',
      ]);
      await page.close();
    });
  });

  it('permessage-deflate is negotiated and compressed messages round-trip', async () => {
    await withServer({ deflate: true }, async ({ server }) => {
      const page = await newPage(server);
      const result = await page.evaluate(async (url) => {
        const ws = await window.openSocket(url);
        const text = 'compress me '.repeat(50_000);
        const back = await new Promise<string>((resolve) => {
          ws.onmessage = (e: MessageEvent<string>) => resolve(e.data);
          ws.send(text);
        });
        ws.close();
        return { extensions: ws.extensions, same: back === text };
      }, server.wsUrl);
      expect(result.extensions).toMatch(/^permessage-deflate(;|$)/);
      expect(result.same).toBe(true);
      await page.close();
    });
    await withServer({ deflate: false }, async ({ server }) => {
      const page = await newPage(server);
      const extensions = await page.evaluate(async (url) => {
        const ws = await window.openSocket(url);
        ws.close();
        return ws.extensions;
      }, server.wsUrl);
      expect(extensions).toBe('');
      await page.close();
    });
  });
});

describe('closing (RFC 6455 7)', () => {
  it("the browser's close code and reason reach the server, and the server's reach the CloseEvent", async () => {
    await withServer({}, async ({ server, log }) => {
      const page = await newPage(server);
      const browserClose = await page.evaluate(async (url) => {
        const ws = await window.openSocket(url);
        ws.close(4001, 'leaving now');
        const e = await new Promise<CloseEvent>((resolve) => (ws.onclose = resolve));
        return [e.code, e.reason, e.wasClean];
      }, server.wsUrl);
      // The server's reply echoes the code (RFC 6455 5.5.1); the reason travelled the other way.
      expect(browserClose).toEqual([4001, '', true]);
      await until(() => log.includes('close 4001 leaving now'));

      // Now the server starts the closing handshake.
      const serverClose = page.evaluate(async (url) => {
        return window.nextClose(await window.openSocket(url));
      }, server.wsUrl);
      const [client] = (await once(server.wss, 'connection')) as [ServerSocket];
      client.close(4002, 'server says bye');
      expect(await serverClose).toEqual([4002, 'server says bye', true]);

      // And a shutdown says 1001 (going away) to every page.
      const shutdown = page.evaluate(async (url) => {
        return window.nextClose(await window.openSocket(url));
      }, server.wsUrl);
      await once(server.wss, 'connection');
      await server.close();
      expect(await shutdown).toEqual([1001, 'server shutting down', true]);
      await page.close();
    });
  });
});

describe('the demo page', () => {
  const demo: Partial<ServeOptions> = {
    mode: 'demo',
    staticDir: demoDir,
    deflate: true,
    protocols: ['chat'],
  };

  it('connects by itself and its buttons work: send, send as binary, close with code and reason', async () => {
    await withServer(demo, async ({ server, log }) => {
      const page = await newPage(server);
      await page.locator('#state[data-state="OPEN"]').waitFor();
      expect(await page.locator('#negotiated-protocol').textContent()).toBe('chat');
      expect(await page.locator('#negotiated-extensions').textContent()).toMatch(/^permessage-deflate/);

      await page.locator('#message').fill('typed and sent with Enter');
      await page.locator('#message').press('Enter');
      await page.locator('#log [data-kind="received"]', { hasText: 'typed and sent with Enter' }).waitFor();

      await page.locator('#message').fill('clicked');
      await page.locator('#send').click();
      await page.locator('#log [data-kind="received"]', { hasText: 'clicked' }).waitFor();

      await page.locator('#message').fill('abc');
      await page.locator('#send-binary').click();
      await page.locator('#log [data-kind="received"]', { hasText: '[binary 3 bytes] 61 62 63' }).waitFor();

      await page.locator('#close-code').fill('4001');
      await page.locator('#close-reason').fill('done testing');
      await page.locator('#close').click();
      await page.locator('#state[data-state="CLOSED"]').waitFor();
      await page
        .locator('#log [data-kind="event"]', { hasText: 'closing with code 4001, reason "done testing"' })
        .waitFor();
      await page.locator('#log [data-kind="event"]', { hasText: 'closed: code 4001' }).waitFor();
      expect(log).toEqual([
        'text typed and sent with Enter',
        'text clicked',
        'binary 3',
        'close 4001 done testing',
      ]);

      const entries = await page
        .locator('#log li')
        .evaluateAll((items) =>
          items.map((li) => [li.getAttribute('data-kind'), li.querySelector('time')?.textContent ?? '']),
        );
      for (const [, time] of entries) expect(time).toMatch(/^\d\d:\d\d:\d\d\.\d{3}$/);
      expect(entries.filter(([kind]) => kind === 'sent')).toHaveLength(3);

      // Connect again with the Connect button.
      await page.locator('#connect').click();
      await page.locator('#state[data-state="OPEN"]').waitFor();
      await page.close();
    });
  });

  it("two tabs see each other's messages; a screenshot of the conversation (reports/demo.png with UPDATE_SCREENSHOT=1)", async () => {
    await withServer(demo, async ({ server }) => {
      const alice = await newPage(server);
      const bob = await newPage(server);
      await alice.locator('#state[data-state="OPEN"]').waitFor();
      await bob.locator('#state[data-state="OPEN"]').waitFor();

      const say = async (from: Page, to: Page, text: string, binary = false): Promise<void> => {
        await from.locator('#message').fill(text);
        await from.locator(binary ? '#send-binary' : '#send').click();
        const shown = binary ? '[binary' : text;
        await to.locator('#log [data-kind="received"]', { hasText: shown }).last().waitFor();
      };
      await say(alice, bob, 'Hi Bob, this is the tab on the left.');
      await say(bob, alice, 'Hello Alice! Both tabs see every message.');
      await say(alice, bob, 'bytes', true);
      await alice
        .locator('#log [data-kind="received"]', { hasText: '[binary 5 bytes] 62 79 74 65 73' })
        .waitFor();
      await say(bob, alice, 'Broadcast works. Bye for now.');
      // The sender gets the broadcast too, and not necessarily before the other tab: wait for its copy.
      await bob.locator('#log [data-kind="received"]', { hasText: 'Broadcast works' }).waitFor();

      const received = await bob.locator('#log [data-kind="received"] .text').allTextContents();
      expect(received).toEqual([
        'Hi Bob, this is the tab on the left.',
        'Hello Alice! Both tabs see every message.',
        '[binary 5 bytes] 62 79 74 65 73',
        'Broadcast works. Bye for now.',
      ]);

      // The committed picture is only rewritten on request (UPDATE_SCREENSHOT=1), so that a test run
      // leaves the tree clean; otherwise it goes to a temporary folder.
      const dir =
        process.env.UPDATE_SCREENSHOT === '1'
          ? join(repoRoot, 'reports')
          : mkdtempSync(join(tmpdir(), 'rfc6455-shot-'));
      mkdirSync(dir, { recursive: true });
      const png = await alice.screenshot({ path: join(dir, 'demo.png'), fullPage: true });
      expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');
      if (process.env.UPDATE_SCREENSHOT !== '1') rmSync(dir, { recursive: true, force: true });
      await alice.close();
      await bob.close();
    });
  });
});

describe('@rfc6455/codec inside the page', () => {
  it('bundled without Node, it encodes and decodes exactly the bytes the Node build does', async () => {
    const bundle = await build({
      entryPoints: [join(__dirname, 'codec-scenario.ts')],
      bundle: true,
      write: false,
      format: 'iife',
      globalName: 'codecScenario',
      // 'neutral' resolves no Node built-ins: an import of node:* or Buffer would fail the bundle.
      platform: 'neutral',
      target: 'es2022',
      alias: {
        '@rfc6455/codec': join(repoRoot, 'packages', 'codec', 'src', 'index.ts'),
        '@rfc6455/codec/internal': join(repoRoot, 'packages', 'codec', 'src', 'internal.ts'),
      },
      // No comments, so that the check below looks at code only.
      minifyWhitespace: true,
      legalComments: 'none',
      logLevel: 'silent',
    });
    const code = bundle.outputFiles[0]!.text;
    expect(code).not.toMatch(/\brequire\(|\bBuffer\b|\bprocess\./);

    const page = await newPage(null);
    await page.addScriptTag({ content: code });
    const inBrowser = await page.evaluate(() => {
      const g = globalThis as unknown as {
        codecScenario: { runCodecScenario(): string[] };
        Buffer?: unknown;
        process?: unknown;
      };
      return {
        noNode: g.Buffer === undefined && g.process === undefined,
        transcript: g.codecScenario.runCodecScenario(),
      };
    });
    expect(inBrowser.noNode).toBe(true);

    const inNode = runCodecScenario();
    expect(inBrowser.transcript).toEqual(inNode);
    // Fixed points, so that agreement is not agreement on nonsense: RFC 6455 5.7's example frame,
    // and the conversation's events.
    expect(inNode[0]).toBe('rfc 5.7 masked Hello: 11 bytes 818537fa213d7f9f4d5158');
    expect(inNode.filter((line) => / got /.test(line))).toEqual([
      'server got text héllo, wörld 👋',
      expect.stringMatching(/^server got binary 300 00070e15/),
      'server got text ',
      expect.stringMatching(/^server got binary 70000 /),
      'server got ping 13 61726520796f75207468657265',
      'server got text fragment',
      'client got pong 13 61726520796f75207468657265',
      'client got text welcome',
      expect.stringMatching(/^client got binary 65536 /),
      'server got close 4001 "done here" by peer clean=true',
      // The reply echoes the code only (RFC 6455 5.5.1).
      'client got close 4001 "" by local clean=true',
    ]);
    await page.close();
  });
});

describe("WebSockets over the page's own HTTP/2 connection (RFC 8441), serve with TLS", () => {
  let tls: { key: Buffer; cert: Buffer };
  beforeAll(() => {
    tls = selfSignedCertificate();
  });

  /** The HTTP/2 sessions that served the page, and the session (or HTTP version) of each WebSocket. */
  function watchSessions(server: RunningServer) {
    const pageSessions = new Set<Http2Session>();
    /** Every session that carried a stream (a request or a WebSocket). */
    const usedSessions = new Set<Http2Session>();
    const sockets: { version: string; session: Http2Session | undefined }[] = [];
    const h2 = server.http as Http2SecureServer;
    h2.on('stream', (stream: ServerHttp2Stream, headers: IncomingHttpHeaders) => {
      usedSessions.add(stream.session!);
      if (headers[':method'] === 'GET' && headers[':path'] === '/') pageSessions.add(stream.session!);
    });
    server.wss.on('connection', (_ws: ServerSocket, req: IncomingMessage) => {
      const stream = (req as unknown as { stream?: ServerHttp2Stream }).stream;
      sockets.push({ version: req.httpVersion, session: stream?.session });
    });
    return { pageSessions, usedSessions, sockets };
  }

  it('the demo page and the seed snippet: every WebSocket is an extended CONNECT on the session that served the page', async () => {
    await withServer(
      { mode: 'demo', staticDir: demoDir, deflate: true, protocols: ['chat'], tls },
      async ({ server, log }) => {
        expect(server.httpUrl).toBe(`https://localhost:${server.port}/`);
        const seen = watchSessions(server);
        const page = await browser.newPage();
        await page.goto(server.httpUrl);
        await page.locator('#state[data-state="OPEN"]').waitFor();
        // The page's own socket (demo.js opens wss://localhost:PORT) and the seed snippet's.
        await page.evaluate(
          `let ws = new WebSocket("wss://localhost:${server.port}"); ws.onopen = () => { ws.send("sending data") }`,
        );
        await until(() => log.includes('text sending data'));
        await page.locator('#log [data-kind="received"]', { hasText: 'sending data' }).waitFor();
        expect(await page.locator('#negotiated-protocol').textContent()).toBe('chat');
        expect(await page.locator('#negotiated-extensions').textContent()).toMatch(/^permessage-deflate/);
        expect(seen.pageSessions.size).toBe(1);
        const [pageSession] = [...seen.pageSessions];
        expect(seen.sockets).toHaveLength(2);
        for (const socket of seen.sockets) {
          expect(socket.version).toBe('2.0');
          expect(socket.session).toBe(pageSession);
        }
        // One connection carried the page and both WebSockets (Chromium may open a spare one: unused).
        expect(seen.usedSessions).toEqual(seen.pageSessions);
        await page.close();
      },
    );
  });

  it('binary, deflate and close codes both ways, over HTTP/2', async () => {
    await withServer({ deflate: true, staticDir: demoDir, tls }, async ({ server, log }) => {
      const seen = watchSessions(server);
      const page = await newPage(server);
      const result = await page.evaluate(async (url) => {
        const ws = await window.openSocket(url);
        const echo = (data: string | ArrayBuffer) =>
          new Promise<string | ArrayBuffer>((resolve) => {
            ws.addEventListener('message', (e: MessageEvent<string | ArrayBuffer>) => resolve(e.data), {
              once: true,
            });
            ws.send(data);
          });
        const big = new Uint8Array(1024 * 1024);
        for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 0xff;
        const bigBack = new Uint8Array((await echo(big.buffer)) as ArrayBuffer);
        const text = 'compress me '.repeat(50_000);
        const out = {
          extensions: ws.extensions,
          binary: Array.from(new Uint8Array((await echo(new Uint8Array([0, 1, 255]).buffer)) as ArrayBuffer)),
          big: bigBack.length === big.length && bigBack.every((b, i) => b === big[i]),
          text: (await echo(text)) === text,
        };
        ws.close(4001, 'leaving now');
        const e = await new Promise<CloseEvent>((resolve) => (ws.onclose = resolve));
        return { ...out, close: [e.code, e.wasClean] };
      }, server.wsUrl);
      expect(result.extensions).toMatch(/^permessage-deflate/);
      expect({ ...result, extensions: 'checked' }).toEqual({
        extensions: 'checked',
        binary: [0, 1, 255],
        big: true,
        text: true,
        close: [4001, true],
      });
      await until(() => log.includes('close 4001 leaving now'));
      // The server closes the next one: its code and reason reach the page's CloseEvent.
      const serverClose = page.evaluate(
        async (url) => window.nextClose(await window.openSocket(url)),
        server.wsUrl,
      );
      const [client] = (await once(server.wss, 'connection')) as [ServerSocket];
      client.close(4002, 'server says bye');
      expect(await serverClose).toEqual([4002, 'server says bye', true]);
      // The demo page's own socket, and the two above: all on the page's session.
      expect(seen.sockets.map((s) => s.version)).toEqual(['2.0', '2.0', '2.0']);
      expect(new Set(seen.sockets.map((s) => s.session)).size).toBe(1);
      expect(seen.pageSessions.has(seen.sockets[0]!.session!)).toBe(true);
      await page.close();
    });
  });

  it("two tabs see each other's messages, both WebSockets on HTTP/2", async () => {
    await withServer(
      { mode: 'demo', staticDir: demoDir, deflate: true, protocols: ['chat'], tls },
      async ({ server }) => {
        const seen = watchSessions(server);
        const alice = await browser.newPage();
        await alice.goto(server.httpUrl);
        const bob = await browser.newPage();
        await bob.goto(server.httpUrl);
        await alice.locator('#state[data-state="OPEN"]').waitFor();
        await bob.locator('#state[data-state="OPEN"]').waitFor();
        await alice.locator('#message').fill('hello from alice');
        await alice.locator('#send').click();
        await bob.locator('#log [data-kind="received"]', { hasText: 'hello from alice' }).waitFor();
        await bob.locator('#message').fill('hello from bob');
        await bob.locator('#send').click();
        await alice.locator('#log [data-kind="received"]', { hasText: 'hello from bob' }).waitFor();
        expect(seen.sockets.map((s) => s.version)).toEqual(['2.0', '2.0']);
        for (const socket of seen.sockets) expect(seen.pageSessions.has(socket.session!)).toBe(true);
        await alice.close();
        await bob.close();
      },
    );
  });
});

describe('the demo room across two processes (--redis)', () => {
  it("two tabs on two different server processes see each other's messages", async () => {
    const main = join(repoRoot, 'packages', 'cli', 'dist', 'main.js');
    if (!existsSync(main)) throw new Error(`${main} is missing: run scripts/build.sh first`);
    if (!haveRedis()) throw new Error('redis-server is missing: run scripts/install-redis.sh');
    const redis = await RedisServer.start();
    const children = [0, 1].map(() =>
      spawn(process.execPath, [main, 'serve', '--mode', 'demo', '--port', '0', '--redis', redis.url], {
        stdio: ['ignore', 'pipe', 'ignore'],
      }),
    );
    try {
      const pages = await Promise.all(
        children.map(async (child) => {
          let output = '';
          child.stdout.setEncoding('utf8');
          child.stdout.on('data', (chunk: string) => (output += chunk));
          await until(() => /page: +http:\/\/localhost:\d+\//.test(output) || child.exitCode !== null);
          const url = /page: +(http:\/\/localhost:\d+\/)/.exec(output)?.[1];
          if (url === undefined) throw new Error(`serve did not start: ${output}`);
          return url;
        }),
      );
      expect(pages[0]).not.toBe(pages[1]);
      const [alice, bob] = await Promise.all(
        pages.map((url) => browser.newPage().then(async (p) => (await p.goto(url), p))),
      );
      await alice!.locator('#state[data-state="OPEN"]').waitFor();
      await bob!.locator('#state[data-state="OPEN"]').waitFor();
      // Each process subscribes to the room (once) when its tab connects.
      await redis.waitForSubscribers('rfc6455:room', 2);
      await alice!.locator('#message').fill('hello from the first process');
      await alice!.locator('#send').click();
      await bob!
        .locator('#log [data-kind="received"]', { hasText: 'hello from the first process' })
        .waitFor();
      await bob!.locator('#message').fill('and hello back from the second');
      await bob!.locator('#send').click();
      await alice!
        .locator('#log [data-kind="received"]', { hasText: 'and hello back from the second' })
        .waitFor();
      await alice!.close();
      await bob!.close();
    } finally {
      for (const child of children) {
        if (child.exitCode === null && child.signalCode === null) {
          const exited = once(child, 'exit');
          child.kill('SIGTERM');
          await exited;
        }
      }
      await redis.dispose();
    }
  });
});
