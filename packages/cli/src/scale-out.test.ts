// Beyond one process: `rfc6455 serve --mode broadcast --redis URL` as real processes sharing a room
// through a real redis-server, and `--workers N` (node:cluster, N processes on one port). Runs the
// built CLI (packages/cli/dist: scripts/build.sh first). Every process is stopped by its PID.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import { WebSocket } from '@rfc6455/node';
import { RedisServer, haveRedis } from '@rfc6455/test-support';

const MAIN = path.join(__dirname, '..', 'dist', 'main.js');

let redis: RedisServer;
const started: ChildProcess[] = [];
beforeAll(async () => {
  if (!haveRedis()) throw new Error('redis-server is missing: run bash scripts/install-redis.sh');
  redis = await RedisServer.start();
});
afterEach(async () => {
  await Promise.all(started.splice(0).map(stopProcess));
});
afterAll(() => redis?.dispose());

interface Serving {
  child: ChildProcess;
  url: string;
  /** --workers: the workers' PIDs. */
  workers: number[];
}

/** Starts `rfc6455 serve ARGS --port 0` and resolves with its WebSocket URL (at most 15 s). */
function serve(args: string[]): Promise<Serving> {
  const child = spawn(process.execPath, [MAIN, 'serve', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  started.push(child);
  let out = '';
  let err = '';
  child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve did not start in 15 s: ${out} ${err}`)), 15_000);
    child.once('exit', (code) => reject(new Error(`serve exited with ${code}: ${err}`)));
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const url = /websocket: (ws:\/\/\S+)/.exec(out);
      if (url === null || (args.includes('--workers') && !/workers: .*\n/.test(out))) return;
      clearTimeout(timer);
      const workers = (/workers: +([\d ]+)/.exec(out)?.[1] ?? '')
        .trim()
        .split(/ +/)
        .filter(Boolean)
        .map(Number);
      resolve({ child, url: url[1]!.replace('localhost', '127.0.0.1'), workers });
    });
  });
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

interface Client {
  ws: WebSocket;
  got: string[];
  closed: Promise<number>;
}

async function client(url: string): Promise<Client> {
  const ws = new WebSocket(url);
  const got: string[] = [];
  ws.on('message', (data) => got.push(String(data)));
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  ws.on('error', () => {});
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('close', () => reject(new Error(`could not connect to ${url}`)));
  });
  return { ws, got, closed };
}

async function until(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  for (let waited = 0; waited < ms && !check(); waited += 25) await new Promise((r) => setTimeout(r, 25));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

/** Every client sends `count` messages tagged with its index; every client should get all of them. */
async function exchange(clients: Client[], count: number, tag: string): Promise<void> {
  const before = clients.map((c) => c.got.length);
  clients.forEach((c, k) => {
    for (let i = 0; i < count; i++) c.ws.send(`${tag}${k}:${i}`);
  });
  const total = clients.length * count;
  await until(`${total} messages on every client`, () =>
    clients.every((c, j) => c.got.length - before[j]! >= total),
  );
  clients.forEach((c, j) => {
    const mine = c.got.slice(before[j]);
    expect(mine).toHaveLength(total);
    for (let k = 0; k < clients.length; k++) {
      // Order per publisher, whatever process it is on.
      expect(mine.filter((m) => m.startsWith(`${tag}${k}:`))).toEqual(
        Array.from({ length: count }, (_, i) => `${tag}${k}:${i}`),
      );
    }
  });
}

/** Waits until Redis counts `n` subscribers of the room (each process subscribes once). */
const roomSubscribers = (n: number) => redis.waitForSubscribers('rfc6455:room', n);

test('3 processes with 2 clients each, publishing from every side; one process dies, the others carry on', async () => {
  const servers = await Promise.all(
    [0, 1, 2].map(() => serve(['--mode', 'broadcast', '--redis', redis.url])),
  );
  const clients: Client[] = [];
  for (const s of servers) clients.push(await client(s.url), await client(s.url));
  await roomSubscribers(3);
  await exchange(clients, 20, 'a');

  // A process dies: its clients see the connection drop (1006); the others are unaffected.
  servers[0]!.child.kill('SIGKILL');
  expect(await clients[0]!.closed).toBe(1006);
  expect(await clients[1]!.closed).toBe(1006);
  await roomSubscribers(2);
  await exchange(clients.slice(2), 10, 'b');
  for (const c of clients.slice(2)) c.ws.close();
  await Promise.all(clients.slice(2).map((c) => c.closed));
});

test('--workers 2: two processes on one port share the room; a worker dying closes only its own clients', async () => {
  const s = await serve(['--mode', 'broadcast', '--redis', redis.url, '--workers', '2']);
  expect(s.workers).toHaveLength(2);
  const clients: Client[] = [];
  for (let i = 0; i < 6; i++) clients.push(await client(s.url));
  await roomSubscribers(2);
  await exchange(clients, 10, 'c');

  process.kill(s.workers[0]!, 'SIGKILL');
  const codes = new Map<Client, number>();
  for (const c of clients) void c.closed.then((code) => codes.set(c, code));
  // The connections the kernel handed to that worker drop; the other worker's stay open.
  await until('a client of the dead worker to close', () => codes.size > 0);
  await new Promise((r) => setTimeout(r, 200));
  const alive = clients.filter((c) => !codes.has(c));
  expect([...codes.values()].every((code) => code === 1006)).toBe(true);
  expect(alive.length).toBeGreaterThan(0);
  expect(alive.length).toBeLessThan(clients.length);
  await exchange(alive, 5, 'd');
  for (const c of alive) c.ws.close();
  await Promise.all(alive.map((c) => c.closed));
});
