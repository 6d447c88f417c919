// RedisBroker against a real redis-server: servers with their own Redis connections (as separate
// processes have) share topics; per-publisher order; a Redis restart in the middle.
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from '@rfc6455/node';
import { RedisBroker } from './index.js';
import { RedisServer, haveRedis } from '@rfc6455/test-support';

let redis: RedisServer;
beforeAll(async () => {
  if (!haveRedis()) throw new Error('redis-server is missing: run bash scripts/install-redis.sh');
  redis = await RedisServer.start();
});
afterAll(() => redis?.dispose());

interface Node {
  wss: WebSocketServer;
  broker: RedisBroker;
  client: WebSocket;
  got: string[];
  errors: Error[];
}

async function node(topic: string): Promise<Node> {
  const broker = new RedisBroker(redis.url);
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', topics: { broker } });
  await new Promise((resolve) => wss.once('listening', resolve));
  const errors: Error[] = [];
  wss.on('brokerError', (err) => errors.push(err));
  wss.on('connection', (ws) => ws.subscribe(topic));
  const client = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`);
  const got: string[] = [];
  client.on('message', (data) => got.push(String(data)));
  await new Promise((resolve) => client.once('open', resolve));
  return { wss, broker, client, got, errors };
}

async function stopNode(n: Node): Promise<void> {
  n.client.close();
  await new Promise((resolve) => n.wss.close(resolve));
  await n.broker.close();
}

/** Waits (at most 10 s) until Redis counts `n` subscriptions to the topic's channel. */
const subscribed = (via: RedisBroker, topic: string, n: number) =>
  redis.waitForSubscribers(via.prefix + topic, n);

async function until(what: string, check: () => boolean): Promise<void> {
  for (let i = 0; i < 400 && !check(); i++) await new Promise((r) => setTimeout(r, 25));
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

test('three servers, a client on each, publishing from every side: everyone gets everything, in each publisher order', async () => {
  const nodes = [await node('room'), await node('room'), await node('room')];
  try {
    await subscribed(nodes[0]!.broker, 'room', 3);
    for (let i = 0; i < 50; i++) nodes.forEach((n, k) => n.wss.publish('room', `${k}:${i}`));
    await until('150 messages on every client', () => nodes.every((n) => n.got.length >= 150));
    for (const n of nodes) {
      expect(n.got).toHaveLength(150);
      for (let k = 0; k < 3; k++) {
        const fromK = n.got.filter((m) => m.startsWith(`${k}:`));
        expect(fromK).toEqual(Array.from({ length: 50 }, (_, i) => `${k}:${i}`));
      }
      expect(n.errors).toEqual([]);
    }
  } finally {
    await Promise.all(nodes.map(stopNode));
  }
});

test('Redis restarts: publishes fail visibly and stay local, subscriptions come back, nothing late arrives', async () => {
  const [a, b] = [await node('news'), await node('news')];
  try {
    await subscribed(a.broker, 'news', 2);
    a.wss.publish('news', 'before');
    await until('before on b', () => b.got.length === 1);

    await redis.stop();
    // The publisher's connection notices the loss; then publishes fail at once.
    await until('the publisher to see Redis gone', () => a.broker.publisher.status !== 'ready');
    expect(a.wss.publish('news', 'while down')).toBe(1);
    await until('a brokerError', () => a.errors.length === 1);
    expect(a.errors[0]).toMatchObject({ code: 'WS_ERR_BROKER', topic: 'news' });
    // The local subscriber still got it; the other server's did not.
    await until('while down on a', () => a.got.includes('while down'));
    expect(b.got).toEqual(['before']);

    await redis.restart();
    // Both processes' subscriptions come back by themselves.
    await subscribed(a.broker, 'news', 2);
    await until('a publisher ready', () => a.broker.publisher.status === 'ready');
    a.wss.publish('news', 'after');
    b.wss.publish('news', 'from b');
    await until('after on b', () => b.got.length === 3);
    await until('from b on a', () => a.got.length === 4);
    // At-most-once: what was published while Redis was down never reaches the other process.
    // (Order holds per publisher; b delivers its own publish at once, a's comes through Redis.)
    expect(b.got[0]).toBe('before');
    expect(b.got.slice(1).sort()).toEqual(['after', 'from b']);
    expect(a.got.slice(0, 2)).toEqual(['before', 'while down']);
    expect(a.got.slice(2).sort()).toEqual(['after', 'from b']);
  } finally {
    await Promise.all([stopNode(a), stopNode(b)]);
  }
});

test('one Redis subscription per topic per process, dropped with the last local subscriber', async () => {
  const broker = new RedisBroker(redis.url);
  const wss = new WebSocketServer({ port: 0, host: '127.0.0.1', topics: { broker } });
  await new Promise((resolve) => wss.once('listening', resolve));
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`;
  const sides: WebSocket[] = [];
  wss.on('connection', (ws) => sides.push(ws));
  const clients = [new WebSocket(url), new WebSocket(url), new WebSocket(url)];
  try {
    await Promise.all(clients.map((c) => new Promise((r) => c.once('open', r))));
    await until('3 server sides', () => sides.length === 3);
    for (const s of sides) s.subscribe('solo');
    await subscribed(broker, 'solo', 1);
    for (const s of sides) s.unsubscribe('solo');
    await subscribed(broker, 'solo', 0);
  } finally {
    for (const c of clients) c.close();
    await new Promise((resolve) => wss.close(resolve));
    await broker.close();
  }
});
