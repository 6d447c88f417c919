// A real redis-server for tests: on a free loopback port, in a temporary directory, no persistence;
// stopped (and restarted on the same port) by PID. scripts/install-redis.sh installs the binary.
import { spawn, spawnSync } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const REDIS_SERVER = process.env.REDIS_SERVER_PATH ?? 'redis-server';

/** True when redis-server can be run (else install it: bash scripts/install-redis.sh). */
export function haveRedis(): boolean {
  return spawnSync(REDIS_SERVER, ['--version']).status === 0;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export class RedisServer {
  private child: ChildProcess | null = null;
  private constructor(
    readonly port: number,
    readonly dir: string,
  ) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<RedisServer> {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rfc6455-redis-'));
    const server = new RedisServer(await freePort(), dir);
    await server.restart();
    return server;
  }

  /** Starts it (again) on the same port; resolves once it accepts connections (at most 10 s). */
  async restart(): Promise<void> {
    if (this.child !== null) throw new Error('redis-server is running already');
    const child = spawn(
      REDIS_SERVER,
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        this.dir,
      ],
      { stdio: 'ignore' },
    );
    this.child = child;
    let exited = false;
    child.once('exit', () => {
      exited = true;
      if (this.child === child) this.child = null;
    });
    for (let i = 0; i < 200; i++) {
      if (exited) throw new Error(`redis-server exited at start (port ${this.port})`);
      if (await accepts(this.port)) return;
      await new Promise((r) => setTimeout(r, 50));
    }
    await this.stop();
    throw new Error(`redis-server did not accept connections on port ${this.port} within 10 s`);
  }

  /** Stops it by PID (SIGTERM, then SIGKILL after 5 s) and waits for the exit. */
  async stop(): Promise<void> {
    const child = this.child;
    if (child === null) return;
    this.child = null;
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  /** How many connections Redis counts as subscribed to `channel` (PUBSUB NUMSUB, over a raw socket). */
  subscribers(channel: string): Promise<number> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(this.port, '127.0.0.1');
      let reply = '';
      socket.setEncoding('utf8');
      socket.once('error', reject);
      socket.on('data', (chunk: string) => {
        reply += chunk;
        const count = /:(\d+)\r\n$/.exec(reply);
        if (count === null) return;
        socket.destroy();
        resolve(Number(count[1]));
      });
      const args = ['PUBSUB', 'NUMSUB', channel];
      socket.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
    });
  }

  /** Waits (at most 10 s) until Redis counts `n` subscribers of `channel`. */
  async waitForSubscribers(channel: string, n: number): Promise<void> {
    for (let i = 0; i < 400; i++) {
      if ((await this.subscribers(channel).catch(() => -1)) === n) return;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`Redis never counted ${n} subscribers of ${channel}`);
  }

  /** Stops it and removes its directory. */
  async dispose(): Promise<void> {
    await this.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
