// WebSockets over HTTP/2 (RFC 8441) beside HTTP/1.1, in one run, both over TLS as browsers use them:
//
//   bash packages/bench/bench.sh h2 [--rounds N] [--duration SEC] [--out DIR]
//
// The server (one WebSocketServer on an http2.createSecureServer with allowHTTP1) runs in a child
// process; the clients here use @rfc6455/node: `{ http2: true }` (every WebSocket a stream of one
// session) or the HTTP/1.1 Upgrade (a TLS connection each). Rows: echo of 1 KiB and 64 KiB messages
// (C clients, one message in flight each), and opening 1,000 WebSockets (one session against 1,000
// handshakes). Rounds alternate the order of the two; each cell is the median of the rounds.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdirSync, writeFileSync } from 'node:fs';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { execFileSync } from 'node:child_process';
import { WebSocket, WebSocketServer } from '@rfc6455/node';

const here = fileURLToPath(import.meta.url);

function selfSigned(): { key: string; cert: string } {
  const dir = path.join(os.tmpdir(), `rfc6455-h2-bench-${process.pid}`);
  mkdirSync(dir, { recursive: true });
  const key = path.join(dir, 'key.pem');
  const cert = path.join(dir, 'cert.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-days',
      '1',
      '-keyout',
      key,
      '-out',
      cert,
    ],
    { stdio: 'ignore' },
  );
  return { key, cert };
}

// ---- the server (child process) ------------------------------------------------------------------

async function serve(keyFile: string, certFile: string): Promise<void> {
  const { readFileSync } = await import('node:fs');
  const server = http2.createSecureServer({
    key: readFileSync(keyFile),
    cert: readFileSync(certFile),
    allowHTTP1: true,
    // Room for 1,000 streams and their first frames at once.
    settings: { maxConcurrentStreams: 10_000 },
  });
  const wss = new WebSocketServer({ server, clientTracking: false });
  wss.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${(server.address() as AddressInfo).port}\n`);
  });
  process.on('SIGTERM', () => process.exit(0));
}

// ---- the client side -------------------------------------------------------------------------------

type Transport = 'h2' | 'http/1.1';

function open(url: string, transport: Transport, ca: Buffer): Promise<WebSocket> {
  const ws = new WebSocket(url, {
    ca,
    perMessageDeflate: false,
    http2: transport === 'h2',
    http2Fallback: false,
  });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

async function closeAll(sockets: WebSocket[]): Promise<void> {
  await Promise.all(
    sockets.map((ws) => {
      const done = once(ws, 'close');
      ws.close();
      return done;
    }),
  );
}

/** C clients, each sending its next message when the echo of its last one arrived, for `seconds`. */
async function timedEcho(
  url: string,
  transport: Transport,
  ca: Buffer,
  size: number,
  clients: number,
  seconds: number,
) {
  const sockets = await Promise.all(Array.from({ length: clients }, () => open(url, transport, ca)));
  const payload = Buffer.alloc(size, 0x61);
  let messages = 0;
  let stop = false;
  const start = performance.now();
  const timer = setTimeout(() => (stop = true), seconds * 1000);
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise<void>((resolve) => {
          ws.on('message', () => {
            messages++;
            if (stop) resolve();
            else ws.send(payload);
          });
          ws.send(payload);
        }),
    ),
  );
  clearTimeout(timer);
  const elapsed = (performance.now() - start) / 1000;
  await closeAll(sockets);
  return { perSecond: messages / elapsed, mbPerSecond: (messages * size) / elapsed / 1e6 };
}

/**
 * Opens `count` WebSockets and times until all are open: over HTTP/2 all at once (streams of one
 * session); over HTTP/1.1 at most 100 handshakes in flight (1,000 TCP + TLS connections at once
 * overflow the listen backlog, and SYN retries would measure the kernel, not the handshake).
 */
async function opening(url: string, transport: Transport, ca: Buffer, count: number) {
  const start = performance.now();
  const sockets: WebSocket[] = [];
  const inFlight = transport === 'h2' ? count : 100;
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < count) {
        next++;
        sockets.push(await open(url, transport, ca));
      }
    }),
  );
  const ms = performance.now() - start;
  await closeAll(sockets);
  return { ms, perSecond: count / (ms / 1000) };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--serve') return serve(args[1]!, args[2]!);
  const flag = (name: string, fallback: number): number => {
    const i = args.indexOf(name);
    return i === -1 ? fallback : Number(args[i + 1]);
  };
  const rounds = flag('--rounds', 3);
  const seconds = flag('--duration', 3);
  const outIndex = args.indexOf('--out');
  const outDir = outIndex === -1 ? null : args[outIndex + 1]!;
  const clients = 50;

  const { key, cert } = selfSigned();
  const { readFileSync } = await import('node:fs');
  const ca = readFileSync(cert);
  const child: ChildProcess = spawn(process.execPath, [here, '--serve', key, cert], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  try {
    const [line] = (await once(child.stdout!, 'data')) as [Buffer];
    const url = `wss://127.0.0.1:${String(line).trim()}/`;
    const rows: { name: string; unit: string; h1: number[]; h2: number[] }[] = [
      { name: `echo 1 KiB, ${clients} clients`, unit: 'msg/s', h1: [], h2: [] },
      { name: `echo 64 KiB, ${clients} clients`, unit: 'MB/s', h1: [], h2: [] },
      {
        name: 'open 1,000 WebSockets (HTTP/1.1: 100 handshakes in flight)',
        unit: 'ms, lower is better',
        h1: [],
        h2: [],
      },
    ];
    // Warm-up: both paths, once.
    await timedEcho(url, 'h2', ca, 1024, clients, 0.5);
    await timedEcho(url, 'http/1.1', ca, 1024, clients, 0.5);
    for (let round = 0; round < rounds; round++) {
      const order: Transport[] = round % 2 === 0 ? ['http/1.1', 'h2'] : ['h2', 'http/1.1'];
      for (const transport of order) {
        const side = transport === 'h2' ? 'h2' : 'h1';
        rows[0]![side].push((await timedEcho(url, transport, ca, 1024, clients, seconds)).perSecond);
        rows[1]![side].push((await timedEcho(url, transport, ca, 64 * 1024, clients, seconds)).mbPerSecond);
        rows[2]![side].push((await opening(url, transport, ca, 1000)).ms);
      }
      process.stderr.write(`round ${round + 1}/${rounds} done\n`);
    }
    const lines = [
      `# WebSockets over HTTP/2 (RFC 8441) and HTTP/1.1, both over TLS`,
      '',
      `Node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), ${rounds} rounds of ${seconds} s, medians.`,
      `Server: one WebSocketServer on http2.createSecureServer({ allowHTTP1: true }) in a child process;`,
      `clients: @rfc6455/node, \`{ http2: true }\` (all on one session) or an HTTP/1.1 Upgrade each (one TLS connection each).`,
      '',
      '| row | HTTP/1.1 | HTTP/2 | HTTP/2 ÷ HTTP/1.1 |',
      '| --- | ---: | ---: | ---: |',
    ];
    for (const row of rows) {
      const h1 = median(row.h1);
      const h2 = median(row.h2);
      lines.push(
        `| ${row.name} (${row.unit}) | ${h1.toFixed(1)} | ${h2.toFixed(1)} | ${(h2 / h1).toFixed(2)} |`,
      );
    }
    const text = `${lines.join('\n')}\n`;
    process.stdout.write(text);
    if (outDir !== null) {
      mkdirSync(outDir, { recursive: true });
      writeFileSync(path.join(outDir, 'bench-h2.md'), text);
    }
  } finally {
    child.kill('SIGTERM');
  }
}

await main();
