// Broadcast: one message to every subscriber, @rfc6455/node's topics against ws's loop over
// wss.clients (the way ws's README broadcasts), and the same across 2 processes through Redis.
//
//   bash packages/bench/bench.sh broadcast [--quick] [--subscribers 1000,10000] [--out DIR]
//
// Every server and the client side run in processes of their own (10,000 subscribers are 20,000
// sockets, above one process's descriptor limit here). The client side is raw TCP: it completes the
// handshakes (offering permessage-deflate the way browsers do, `client_max_window_bits`) and counts
// whole messages per socket without inflating them, so it costs little and reads everything at once.
// A burst is M messages published back to back; it ends when every socket has all M. Latency: one
// message at a time, from just before publish() to the end of its frame on each socket.
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { WebSocketServer } from '@rfc6455/node';
import { RedisBroker } from '@rfc6455/redis';
import { createRequire } from 'node:module';
import { jsonLikeText } from './text.js';

const here = fileURLToPath(import.meta.url);
// ws has no types installed here: the little of it this file uses.
interface WsClient {
  readyState: number;
  send(data: string): void;
}
interface WsServerInstance {
  clients: Set<WsClient>;
  once(event: 'listening', listener: () => void): void;
  address(): AddressInfo;
}
const { WebSocketServer: WsServer } = createRequire(import.meta.url)('ws') as {
  WebSocketServer: new (options: object) => WsServerInstance;
};
const OPEN = 1;
const HOST = '127.0.0.1';
const now = (): number => performance.timeOrigin + performance.now();

type Lib = 'rfc6455' | 'ws';
type Request = { id: number; cmd: string; [key: string]: unknown };

/** Answers the parent's requests ({ id, cmd, ... }) with { id, ...reply }. */
function answer(handle: (request: Request) => Promise<object> | object): void {
  process.on('message', (request: Request) => {
    void Promise.resolve(handle(request)).then(
      (reply) => process.send!({ id: request.id, ...reply }),
      (error: unknown) => process.send!({ id: request.id, error: String(error) }),
    );
  });
}

// ---- a server (child process) ----------------------------------------------------------------------

async function serve(lib: Lib, deflate: boolean, redisUrl: string | null): Promise<void> {
  let broadcast: (data: string) => void;
  let count: () => number;
  let port: number;
  let broker: RedisBroker | null = null;
  if (lib === 'rfc6455') {
    broker = redisUrl === null ? null : new RedisBroker(redisUrl);
    if (broker !== null && !(await broker.ready(10_000))) throw new Error('Redis is not reachable');
    const wss = new WebSocketServer({
      port: 0,
      host: HOST,
      perMessageDeflate: deflate,
      topics: broker === null ? {} : { broker },
    });
    await new Promise((resolve) => wss.once('listening', resolve));
    wss.on('connection', (ws) => ws.subscribe('room'));
    broadcast = (data) => void wss.publish('room', data);
    count = () => wss.subscriberCount('room');
    port = (wss.address() as AddressInfo).port;
  } else {
    const wss = new WsServer({ port: 0, host: HOST, perMessageDeflate: deflate });
    await new Promise<void>((resolve) => wss.once('listening', resolve));
    // ws's README: wss.clients.forEach(client => client.readyState === OPEN && client.send(data)).
    broadcast = (data) => {
      for (const client of wss.clients) if (client.readyState === OPEN) client.send(data);
    };
    count = () => wss.clients.size;
    port = wss.address().port;
  }
  let cpu = process.cpuUsage();
  let peak = 0;
  let sampler: NodeJS.Timeout | null = null;
  answer(async (request) => {
    switch (request.cmd) {
      case 'port':
        return { port };
      case 'count':
        return { count: count(), rss: process.memoryUsage.rss() };
      case 'start':
        // A window of work: CPU and peak RSS from here to 'usage'.
        cpu = process.cpuUsage();
        peak = process.memoryUsage.rss();
        sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage.rss())), 10);
        return {};
      case 'publish': {
        const data = request.data as string;
        const times: number[] = [];
        for (let i = 0; i < (request.count as number); i++) {
          times.push(now());
          broadcast(data);
        }
        return { times };
      }
      case 'usage': {
        if (sampler !== null) clearInterval(sampler);
        const used = process.cpuUsage(cpu);
        return { cpuMs: (used.user + used.system) / 1000, peak: Math.max(peak, process.memoryUsage.rss()) };
      }
      case 'stop':
        if (broker !== null) await broker.close();
        setImmediate(() => process.exit(0));
        return {};
      default:
        throw new Error(`unknown request ${request.cmd}`);
    }
  });
}

// ---- the subscribers (child process) -----------------------------------------------------------------

/** One raw client socket: the handshake, then whole data messages counted (and timed) as they end. */
class Subscriber {
  received = 0;
  /** End time of each message since the last reset, when recording. */
  times: number[] = [];
  record = false;
  private head: Buffer | null = null;
  private open = false;
  private pending: Buffer | null = null;
  private skip = 0;
  private messageEnds = false;
  readonly socket: net.Socket;

  constructor(
    port: number,
    readonly server: number,
    deflate: boolean,
    onOpen: (error?: Error) => void,
    private readonly onMessage: () => void,
  ) {
    this.socket = net.connect(port, HOST);
    this.socket.setNoDelay(true);
    this.socket.on('error', (error) => onOpen(error));
    this.socket.on('data', (chunk: Buffer) => {
      if (this.open) return this.feed(chunk);
      this.head = this.head === null ? chunk : Buffer.concat([this.head, chunk]);
      const end = this.head.indexOf('\r\n\r\n');
      if (end < 0) return;
      if (!this.head.toString('latin1', 0, 13).startsWith('HTTP/1.1 101')) {
        onOpen(new Error(`Upgrade refused: ${this.head.toString('latin1', 0, end)}`));
        return;
      }
      this.open = true;
      const rest = this.head.subarray(end + 4);
      this.head = null;
      onOpen();
      if (rest.length > 0) this.feed(rest);
    });
    this.socket.write(
      `GET / HTTP/1.1\r\nHost: ${HOST}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n' +
        (deflate ? 'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n' : '') +
        '\r\n',
    );
  }

  private feed(chunk: Buffer): void {
    const data = this.pending === null ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = null;
    let i = 0;
    for (;;) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, data.length - i);
        this.skip -= n;
        i += n;
        if (this.skip > 0) break;
      }
      if (this.messageEnds) {
        this.messageEnds = false;
        this.received++;
        if (this.record) this.times.push(now());
        this.onMessage();
      }
      if (data.length - i < 2) break;
      const b0 = data[i]!;
      let length = data[i + 1]! & 0x7f;
      let header = 2;
      if (length === 126) {
        if (data.length - i < 4) break;
        length = data.readUInt16BE(i + 2);
        header = 4;
      } else if (length === 127) {
        if (data.length - i < 10) break;
        length = Number(data.readBigUInt64BE(i + 2));
        header = 10;
      }
      i += header;
      this.skip = length;
      // The last frame of a data message (FIN set, not a control frame).
      this.messageEnds = (b0 & 0x80) !== 0 && (b0 & 0x08) === 0;
      if (length === 0) continue;
    }
    if (i < data.length) this.pending = data.subarray(i);
  }
}

function subscribers(): void {
  let sockets: Subscriber[] = [];
  let expected = 0;
  let waiting: (() => void) | null = null;
  let complete = 0;
  const onMessage = function (this: void): void {
    // Checked on every message: cheap, and ends the wait the moment the last one lands.
    if (waiting !== null && complete === sockets.length) waiting();
  };
  answer(async (request) => {
    switch (request.cmd) {
      case 'open': {
        const ports = request.ports as number[];
        const total = request.count as number;
        const deflate = request.deflate as boolean;
        let next = 0;
        const worker = async (): Promise<void> => {
          while (next < total) {
            const index = next++;
            const server = index % ports.length;
            await new Promise<void>((resolve, reject) => {
              const socket: Subscriber = new Subscriber(
                ports[server]!,
                server,
                deflate,
                (error) => (error === undefined ? resolve() : reject(error)),
                () => {
                  if (socket.received === expected) complete++;
                  onMessage();
                },
              );
              sockets.push(socket);
            });
          }
        };
        await Promise.all(Array.from({ length: 200 }, worker));
        return { open: sockets.length };
      }
      case 'expect': {
        // Resets the counters; 'wait' then resolves when every socket has `messages` more.
        for (const socket of sockets) {
          socket.received = 0;
          socket.times = [];
          socket.record = request.record === true;
        }
        expected = request.messages as number;
        complete = 0;
        return {};
      }
      case 'wait': {
        const timeoutMs = request.timeoutMs as number;
        let timer: NodeJS.Timeout | undefined;
        const done = await new Promise<boolean>((resolve) => {
          if (complete === sockets.length) return resolve(true);
          waiting = () => resolve(true);
          timer = setTimeout(() => resolve(false), timeoutMs);
        });
        clearTimeout(timer);
        waiting = null;
        const last = Math.max(...sockets.map((s) => (s.times.length > 0 ? s.times[s.times.length - 1]! : 0)));
        return {
          done,
          last: done ? now() : last,
          received: sockets.reduce((sum, s) => sum + s.received, 0),
          times: request.record === true ? sockets.map((s) => [s.server, ...s.times]) : [],
        };
      }
      case 'close':
        for (const socket of sockets) socket.socket.destroy();
        sockets = [];
        return {};
      default:
        throw new Error(`unknown request ${request.cmd}`);
    }
  });
}

// ---- the parent ------------------------------------------------------------------------------------

class Child {
  private nextId = 1;
  private readonly calls = new Map<
    number,
    { resolve: (r: Record<string, unknown>) => void; reject: (e: Error) => void }
  >();
  readonly process: ChildProcess;

  constructor(args: string[]) {
    this.process = fork(here, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.process.on('message', (reply: Record<string, unknown>) => {
      const call = this.calls.get(reply.id as number);
      if (call === undefined) return;
      this.calls.delete(reply.id as number);
      if (typeof reply.error === 'string') call.reject(new Error(reply.error));
      else call.resolve(reply);
    });
    this.process.on('exit', (code) => {
      for (const call of this.calls.values()) call.reject(new Error(`child exited (${code})`));
      this.calls.clear();
    });
  }

  request(cmd: string, fields: object = {}): Promise<Record<string, unknown>> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.calls.set(id, { resolve, reject });
      this.process.send({ id, cmd, ...fields });
    });
  }

  /** Asks it to stop, then SIGKILL by PID after 5 s. */
  async stop(): Promise<void> {
    if (this.process.exitCode !== null || this.process.signalCode !== null) return;
    const exited = new Promise((resolve) => this.process.once('exit', resolve));
    const timer = setTimeout(() => this.process.kill('SIGKILL'), 5000);
    this.request('stop').catch(() => undefined);
    await exited;
    clearTimeout(timer);
  }
}

/** redis-server on a free loopback port in a temporary directory, stopped by PID. */
async function startRedis(): Promise<{ url: string; pid: number; stop: () => Promise<void> }> {
  const port = await new Promise<number>((resolve) => {
    const probe = net.createServer().listen(0, HOST, () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'rfc6455-bench-redis-'));
  const binary = process.env.REDIS_SERVER_PATH ?? 'redis-server';
  const args = ['--port', String(port), '--bind', HOST, '--save', '', '--appendonly', 'no', '--dir', dir];
  const child = spawn(binary, args, { stdio: 'ignore' });
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((resolve) => child.once('exit', resolve));
      child.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  for (let i = 0; i < 200; i++) {
    const up = await new Promise<boolean>((resolve) => {
      const socket = net.connect(port, HOST, () => resolve(true) ?? socket.destroy());
      socket.once('error', () => resolve(false));
    });
    if (up) return { url: `redis://${HOST}:${port}`, pid: child.pid!, stop };
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  await stop();
  throw new Error(`${binary} did not start (install it: bash scripts/install-redis.sh)`);
}

/** CPU time (ms) a process has used so far, from /proc (Linux). */
function procCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))]!;
}
function median(values: number[]): number {
  return percentile(
    [...values].sort((a, b) => a - b),
    50,
  );
}

interface Setup {
  label: string;
  lib: Lib;
  deflate: boolean;
  processes: 1 | 2;
}
interface Row {
  setup: Setup;
  subscribers: number;
  deliveriesPerSecond: number;
  cpuUsPerDelivery: number;
  rssPerSubscriberKiB: number;
  peakMiB: number;
  latency: { all: [number, number]; remote: [number, number] | null } | null;
}

async function measure(
  setup: Setup,
  count: number,
  options: {
    bursts: number;
    burst: number;
    latencyMessages: number;
    redisUrl: string | null;
    redisPid: number | null;
  },
): Promise<Row> {
  const serverArgs = ['--serve', setup.lib, setup.deflate ? '1' : '0', options.redisUrl ?? '-'];
  const servers = Array.from({ length: setup.processes }, () => new Child(serverArgs));
  const clients = new Child(['--subscribers']);
  const data = jsonLikeText(1024);
  try {
    const ports = await Promise.all(servers.map(async (s) => (await s.request('port')).port as number));
    const before = await Promise.all(servers.map(async (s) => (await s.request('count')).rss as number));
    await clients.request('open', { ports, count, deflate: setup.deflate });
    let counts: Record<string, unknown>[] = [];
    for (let i = 0; i < 100; i++) {
      counts = await Promise.all(servers.map((s) => s.request('count')));
      if (counts.reduce((sum, c) => sum + (c.count as number), 0) === count) break;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const subscribed = counts.reduce((sum, c) => sum + (c.count as number), 0);
    if (subscribed !== count) throw new Error(`${subscribed} of ${count} subscribed`);
    const rss = counts.reduce((sum, c, i) => sum + (c.rss as number) - before[i]!, 0);

    const burst = async (): Promise<{ perSecond: number; cpuUs: number; peak: number }> => {
      await clients.request('expect', { messages: options.burst });
      await Promise.all(servers.map((s) => s.request('start')));
      const redisBefore = options.redisPid === null ? 0 : procCpuMs(options.redisPid);
      const { times } = await servers[0]!.request('publish', { data, count: options.burst });
      const timeoutMs = 60_000;
      const waited = await clients.request('wait', { timeoutMs });
      const usage = await Promise.all(servers.map((s) => s.request('usage')));
      const deliveries = options.burst * count;
      if (waited.done !== true)
        throw new Error(
          `${setup.label}: ${String(waited.received)} of ${deliveries} delivered in ${timeoutMs} ms`,
        );
      const cpuMs =
        usage.reduce((sum, u) => sum + (u.cpuMs as number), 0) +
        (options.redisPid === null ? 0 : procCpuMs(options.redisPid) - redisBefore);
      const seconds = ((waited.last as number) - (times as number[])[0]!) / 1000;
      return {
        perSecond: deliveries / seconds,
        cpuUs: (cpuMs * 1000) / deliveries,
        peak: usage.reduce((sum, u) => sum + (u.peak as number), 0),
      };
    };
    await burst(); // warm-up
    const results = [];
    for (let i = 0; i < options.bursts; i++) results.push(await burst());

    let latency: Row['latency'] = null;
    if (!setup.deflate && setup.lib === 'rfc6455') {
      const all: number[] = [];
      const remote: number[] = [];
      for (let i = 0; i < options.latencyMessages; i++) {
        await clients.request('expect', { messages: 1, record: true });
        const { times } = await servers[0]!.request('publish', { data, count: 1 });
        const sent = (times as number[])[0]!;
        const waited = await clients.request('wait', { timeoutMs: 30_000, record: true });
        if (waited.done !== true) throw new Error(`${setup.label}: a latency message was not delivered`);
        for (const [server, end] of waited.times as [number, number][]) {
          all.push(end - sent);
          if (server !== 0) remote.push(end - sent);
        }
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      all.sort((a, b) => a - b);
      remote.sort((a, b) => a - b);
      latency = {
        all: [percentile(all, 50), percentile(all, 99)],
        remote: remote.length === 0 ? null : [percentile(remote, 50), percentile(remote, 99)],
      };
    }
    return {
      setup,
      subscribers: count,
      deliveriesPerSecond: median(results.map((r) => r.perSecond)),
      cpuUsPerDelivery: median(results.map((r) => r.cpuUs)),
      rssPerSubscriberKiB: rss / count / 1024,
      peakMiB: Math.max(...results.map((r) => r.peak)) / 1024 / 1024,
      latency,
    };
  } finally {
    await clients.request('close').catch(() => undefined);
    await clients.stop();
    await Promise.all(servers.map((s) => s.stop()));
  }
}

const fmt = (n: number, digits = 0): string =>
  n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  if (args[0] === '--serve') return serve(args[1] as Lib, args[2] === '1', args[3] === '-' ? null : args[3]!);
  if (args[0] === '--subscribers') return subscribers();
  const value = (name: string): string | null => {
    const i = args.indexOf(name);
    return i === -1 ? null : args[i + 1]!;
  };
  const quick = args.includes('--quick');
  const counts = (value('--subscribers') ?? '1000,10000').split(',').map(Number);
  const outDir = value('--out');
  const options = {
    bursts: quick ? 3 : 5,
    burst: 20,
    latencyMessages: quick ? 20 : 50,
    redisUrl: null as string | null,
    redisPid: null as number | null,
  };
  const setups: Setup[] = [
    { label: '@rfc6455/node `wss.publish`', lib: 'rfc6455', deflate: false, processes: 1 },
    { label: 'ws, loop over `wss.clients`', lib: 'ws', deflate: false, processes: 1 },
    { label: '@rfc6455/node `wss.publish`, permessage-deflate', lib: 'rfc6455', deflate: true, processes: 1 },
    { label: 'ws, loop over `wss.clients`, permessage-deflate', lib: 'ws', deflate: true, processes: 1 },
    { label: '@rfc6455/node, 2 processes through Redis', lib: 'rfc6455', deflate: false, processes: 2 },
  ];
  const rows: Row[] = [];
  const redis = await startRedis();
  try {
    for (const count of counts) {
      for (const setup of setups) {
        process.stderr.write(`${setup.label}, ${fmt(count)} subscribers\n`);
        const viaRedis = setup.processes === 2;
        rows.push(
          await measure(setup, count, {
            ...options,
            redisUrl: viaRedis ? redis.url : null,
            redisPid: viaRedis ? redis.pid : null,
          }),
        );
      }
    }
  } finally {
    await redis.stop();
  }

  const ms = (pair: [number, number] | null): string =>
    pair === null ? '' : `${fmt(pair[0], 2)} / ${fmt(pair[1], 2)}`;
  const lines = [
    '# Broadcast: one publish to many subscribers',
    '',
    `Node ${process.version}, ${os.cpus().length} CPUs (${os.cpus()[0]?.model ?? '?'}), ${os.platform()}.`,
    `A burst is ${options.burst} messages of 1 KiB JSON-like text published back to back; each cell is the median of`,
    `${options.bursts} bursts after one warm-up, on the same subscribers. Each server and the subscribers run in processes of`,
    'their own (the subscribers: raw TCP sockets that count whole messages without inflating them; deflate offered as',
    'browsers do, `permessage-deflate; client_max_window_bits`). Deliveries per second: messages × subscribers over',
    "the time from the first publish() to the last message ending on the last socket. CPU: the server processes'",
    "(and, through Redis, redis-server's) user + system time over the burst, per delivered message. RSS: what the",
    'server processes grew by when the subscribers connected, per subscriber; peak: their RSS during the bursts.',
    '',
    '| subscribers | server | deliveries/s | CPU µs / delivery | RSS / subscriber | peak RSS |',
    '| ---: | --- | ---: | ---: | ---: | ---: |',
  ];
  for (const row of rows) {
    lines.push(
      `| ${fmt(row.subscribers)} | ${row.setup.label} | ${fmt(row.deliveriesPerSecond)} | ${fmt(row.cpuUsPerDelivery, 2)} | ${fmt(row.rssPerSubscriberKiB, 1)} KiB | ${fmt(row.peakMiB)} MiB |`,
    );
  }
  lines.push(
    '',
    `Latency, @rfc6455/node without deflate: ${options.latencyMessages} messages one at a time (each after the last was`,
    'everywhere), from just before publish() to the end of the frame on each socket, over all deliveries. Through',
    'Redis the publisher is process 1; "remote" is the subscribers of process 2, whose copy went through Redis.',
    '',
    '| subscribers | setup | p50 / p99 (ms) | remote p50 / p99 (ms) |',
    '| ---: | --- | ---: | ---: |',
  );
  for (const row of rows) {
    if (row.latency === null) continue;
    const setup = row.setup.processes === 2 ? '2 processes through Redis' : '1 process';
    lines.push(`| ${fmt(row.subscribers)} | ${setup} | ${ms(row.latency.all)} | ${ms(row.latency.remote)} |`);
  }
  const text = `${lines.join('\n')}\n`;
  process.stdout.write(text);
  if (outDir !== null) {
    mkdirSync(outDir, { recursive: true });
    writeFileSync(path.join(outDir, 'bench-broadcast.md'), text);
  }
}

await main();
