// The two Redis clients @rfc6455/redis could be built on, ioredis and redis (node-redis), measured in
// one run against one redis-server of our own (issue #15: "pick by measurement and API fit").
//
//   bash packages/bench/bench.sh redis-clients [--publishes N] [--rounds R] [--rate PER_SEC] [--seconds S]
//
// Each client gets a publisher and a subscriber connection set up the way RedisBroker sets up its own:
// no offline queue on the publisher, reconnects 50 ms, 100 ms, ... at most 1 s apart, payloads as bytes.
// - Throughput: N PUBLISHes of a 1 KiB Buffer issued in one loop (each client pipelines them the way it
//   does by default), timed until every reply has arrived and until the subscriber has every message;
//   this process's CPU time over the burst, per message. Rounds alternate between the clients.
// - Latency: publishes at a fixed rate, each carrying its send time; p50/p99 of publish -> subscriber.
// - Reconnect: both clients connected at once, redis-server stopped (by PID) and started again on the
//   same port; each publisher then publishes every 20 ms until its subscriber receives one (at most
//   10 s): does the subscriber subscribe again by itself, and how long after the restart.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { createClient } from 'redis';

const HOST = '127.0.0.1';
const PAYLOAD = 1024;

interface Pair {
  publish(channel: string, data: Buffer): Promise<unknown>;
  close(): Promise<void>;
}

interface Client {
  name: string;
  /** A publisher and a subscriber of `channel` handing each message to `onMessage` as bytes. */
  open(url: string, channel: string, onMessage: (data: Buffer) => void): Promise<Pair>;
}

const backoff = (attempt: number): number => Math.min(attempt * 50, 1000);

const ioredis: Client = {
  name: 'ioredis 6.0.0',
  async open(url, channel, onMessage) {
    const options = { retryStrategy: backoff, lazyConnect: true };
    const publisher = new Redis(url, { ...options, enableOfflineQueue: false });
    const subscriber = new Redis(url, options); // autoResubscribe is on by default
    for (const connection of [publisher, subscriber]) connection.on('error', () => undefined);
    await Promise.all([publisher.connect(), subscriber.connect()]);
    subscriber.on('messageBuffer', (_channel: Buffer, message: Buffer) => onMessage(message));
    await subscriber.subscribe(channel);
    return {
      publish: (name, data) => publisher.publish(name, data),
      close: async () => {
        publisher.disconnect();
        subscriber.disconnect();
        await Promise.resolve();
      },
    };
  },
};

const nodeRedis: Client = {
  name: 'redis 6.4.0',
  async open(url, channel, onMessage) {
    const publisher = createClient({
      url,
      disableOfflineQueue: true,
      socket: { reconnectStrategy: (retries: number) => backoff(retries + 1) },
    });
    const subscriber = publisher.duplicate({ disableOfflineQueue: false }); // re-subscribes by itself
    for (const connection of [publisher, subscriber]) connection.on('error', () => undefined);
    await Promise.all([publisher.connect(), subscriber.connect()]);
    await subscriber.subscribe(channel, (message: Buffer) => onMessage(message), true);
    return {
      publish: async (name, data) => publisher.publish(name, data),
      close: async () => {
        publisher.destroy();
        subscriber.destroy();
        await Promise.resolve();
      },
    };
  },
};

const CLIENTS = [ioredis, nodeRedis];

/** redis-server on a free loopback port in a temporary directory; stopped and restarted by PID. */
class RedisProcess {
  private child: ChildProcess | null = null;
  private constructor(
    readonly port: number,
    private readonly dir: string,
  ) {}

  get url(): string {
    return `redis://${HOST}:${this.port}`;
  }

  static async start(): Promise<RedisProcess> {
    const port = await new Promise<number>((resolve, reject) => {
      const probe = net.createServer();
      probe.once('error', reject);
      probe.listen(0, HOST, () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });
    const server = new RedisProcess(port, mkdtempSync(path.join(os.tmpdir(), 'rfc6455-bench-redis-')));
    await server.run();
    return server;
  }

  /** Starts it (again, on the same port); resolves once it accepts connections (at most 10 s). */
  async run(): Promise<void> {
    const binary = process.env.REDIS_SERVER_PATH ?? 'redis-server';
    const args = [
      '--port',
      String(this.port),
      '--bind',
      HOST,
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      this.dir,
    ];
    this.child = spawn(binary, args, { stdio: 'ignore' });
    this.child.once('error', () => undefined);
    for (let i = 0; i < 200; i++) {
      const up = await new Promise<boolean>((resolve) => {
        const socket = net.connect(this.port, HOST, () => {
          socket.destroy();
          resolve(true);
        });
        socket.once('error', () => resolve(false));
      });
      if (up) return;
      await sleep(50);
    }
    await this.stop();
    throw new Error(`${binary} did not start (install it: bash scripts/install-redis.sh)`);
  }

  /** SIGTERM by PID, SIGKILL after 5 s; waits for the exit. */
  async stop(): Promise<void> {
    const child = this.child;
    this.child = null;
    if (child === null || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  async dispose(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

interface Burst {
  ackedPerSec: number;
  deliveredPerSec: number;
  cpuUsPerMessage: number;
}

async function burst(client: Client, url: string, publishes: number, round: number): Promise<Burst> {
  const channel = `burst-${round}`;
  let received = 0;
  let allReceived: () => void = () => undefined;
  const delivered = new Promise<void>((resolve) => (allReceived = resolve));
  const pair = await client.open(url, channel, () => {
    if (++received === publishes) allReceived();
  });
  try {
    const payload = Buffer.alloc(PAYLOAD, 0x61);
    const cpu = process.cpuUsage();
    const start = performance.now();
    const replies: Promise<unknown>[] = [];
    for (let i = 0; i < publishes; i++) replies.push(pair.publish(channel, payload));
    await Promise.all(replies);
    const acked = performance.now() - start;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`${client.name}: ${received} of ${publishes} delivered in 20 s`)),
        20_000,
      );
    });
    await Promise.race([delivered, timeout]).finally(() => clearTimeout(timer));
    const done = performance.now() - start;
    const used = process.cpuUsage(cpu);
    return {
      ackedPerSec: (publishes / acked) * 1000,
      deliveredPerSec: (publishes / done) * 1000,
      cpuUsPerMessage: (used.user + used.system) / publishes,
    };
  } finally {
    await pair.close();
  }
}

async function latency(client: Client, url: string, rate: number, seconds: number): Promise<number[]> {
  const channel = 'latency';
  const samples: number[] = [];
  const pair = await client.open(url, channel, (data) => {
    samples.push(performance.now() - data.readDoubleLE(0));
  });
  try {
    const count = Math.round(rate * seconds);
    const start = performance.now();
    for (let i = 0; i < count; i++) {
      const due = start + (i * 1000) / rate;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      const payload = Buffer.alloc(PAYLOAD, 0x61);
      payload.writeDoubleLE(performance.now(), 0);
      await pair.publish(channel, payload);
    }
    for (let i = 0; i < 100 && samples.length < count; i++) await sleep(20);
    return samples.sort((a, b) => a - b);
  } finally {
    await pair.close();
  }
}

interface Recovery {
  resubscribed: boolean;
  msAfterRestart: number;
  failedWhileDown: boolean;
}

async function reconnect(server: RedisProcess): Promise<Recovery[]> {
  const state = CLIENTS.map(() => ({ received: 0 }));
  const pairs = await Promise.all(
    CLIENTS.map((client, index) =>
      client.open(server.url, `restart-${index}`, () => state[index]!.received++),
    ),
  );
  try {
    await Promise.all(pairs.map((pair, index) => pair.publish(`restart-${index}`, Buffer.alloc(PAYLOAD))));
    await sleep(100);
    if (state.some((s) => s.received !== 1))
      throw new Error('a subscriber missed the message before the restart');
    await server.stop();
    await sleep(300);
    const failedWhileDown = await Promise.all(
      pairs.map((pair, index) =>
        pair.publish(`restart-${index}`, Buffer.alloc(PAYLOAD)).then(
          () => false,
          () => true,
        ),
      ),
    );
    await server.run();
    const restarted = performance.now();
    const back: (number | null)[] = CLIENTS.map(() => null);
    while (back.some((t) => t === null) && performance.now() - restarted < 10_000) {
      pairs.forEach((pair, index) => {
        if (back[index] !== null) return;
        if (state[index]!.received > 1) back[index] = performance.now() - restarted;
        else pair.publish(`restart-${index}`, Buffer.alloc(PAYLOAD)).catch(() => undefined);
      });
      await sleep(20);
    }
    return CLIENTS.map((_, index) => ({
      resubscribed: back[index] !== null,
      msAfterRestart: back[index] ?? NaN,
      failedWhileDown: failedWhileDown[index]!,
    }));
  } finally {
    await Promise.all(pairs.map((pair) => pair.close()));
  }
}

function option(name: string, fallback: number): number {
  const index = process.argv.indexOf(`--${name}`);
  if (index === -1) return fallback;
  const value = Number(process.argv[index + 1]);
  if (!Number.isFinite(value) || value <= 0) throw new Error(`--${name} takes a positive number`);
  return value;
}

async function main(): Promise<void> {
  const publishes = option('publishes', 20_000);
  const rounds = option('rounds', 5);
  const rate = option('rate', 500);
  const seconds = option('seconds', 2);
  const server = await RedisProcess.start();
  const stop = (): void => {
    void server.dispose().then(() => process.exit(130));
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    const bursts = new Map<Client, Burst[]>(CLIENTS.map((client) => [client, []]));
    for (let round = 0; round < rounds; round++) {
      const order = round % 2 === 0 ? CLIENTS : [...CLIENTS].reverse();
      for (const client of order) bursts.get(client)!.push(await burst(client, server.url, publishes, round));
    }
    const latencies = new Map<Client, number[]>();
    for (const client of CLIENTS) latencies.set(client, await latency(client, server.url, rate, seconds));
    const recoveries = await reconnect(server);

    const f = (n: number, digits = 0): string =>
      n.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
    console.log(
      `Redis clients, one redis-server (${server.url}), node ${process.version}, ${os.cpus().length} CPUs. ` +
        `Burst: ${f(publishes)} PUBLISHes of ${PAYLOAD} B, median of ${rounds} rounds (alternating order). ` +
        `Latency: ${rate}/s for ${seconds} s. CPU: this process (client side), user + system.\n`,
    );
    console.log(
      '| client | publishes acked/s | delivered/s | client CPU µs/msg | latency p50 ms | p99 ms | received | ' +
        'fails while down | resubscribes by itself | delivery after restart |',
    );
    console.log('|---|---:|---:|---:|---:|---:|---:|---|---|---:|');
    CLIENTS.forEach((client, index) => {
      const runs = bursts.get(client)!;
      const samples = latencies.get(client)!;
      const recovery = recoveries[index]!;
      console.log(
        `| ${client.name} | ${f(median(runs.map((r) => r.ackedPerSec)))} | ` +
          `${f(median(runs.map((r) => r.deliveredPerSec)))} | ${f(median(runs.map((r) => r.cpuUsPerMessage)), 1)} | ` +
          `${f(percentile(samples, 50), 2)} | ${f(percentile(samples, 99), 2)} | ` +
          `${samples.length}/${Math.round(rate * seconds)} | ${recovery.failedWhileDown ? 'yes' : 'no'} | ` +
          `${recovery.resubscribed ? 'yes' : 'no'} | ` +
          `${recovery.resubscribed ? `${f(recovery.msAfterRestart)} ms` : 'not in 10 s'} |`,
      );
    });
    console.log('\nBurst rounds (acked/s):');
    for (const client of CLIENTS) {
      console.log(
        `  ${client.name}: ${bursts
          .get(client)!
          .map((r) => f(r.ackedPerSec))
          .join(', ')}`,
      );
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
    await server.dispose();
  }
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
