// Topics: subscribe / publish, the frame built once, deflate compressed once, slow subscribers, brokers.
import { Connection } from '@rfc6455/codec';
import type { PreparedMessage } from '@rfc6455/codec';
import { MemoryBroker, WebSocket, WebSocketServer } from './index.js';
import type { Broker, WebSocket as ServerSide } from './index.js';
import { closeServer, closed, listen, messages, once, opened } from './testing/helpers.js';

const KiB = 1024;

async function connect(url: string, wss: WebSocketServer, options = {}): Promise<[WebSocket, ServerSide]> {
  const side = once<[ServerSide]>(wss, 'connection');
  const client = new WebSocket(url, options);
  await opened(client);
  return [client, (await side)[0]];
}

type Pair = [WebSocket, ServerSide];
/** n connections, typed as three: callers destructure only the first n. */
async function connectMany(
  n: number,
  url: string,
  wss: WebSocketServer,
  options = {},
): Promise<[Pair, Pair, Pair]> {
  const pairs: Pair[] = [];
  for (let i = 0; i < n; i++) pairs.push(await connect(url, wss, options));
  return pairs as [Pair, Pair, Pair];
}

const texts = async (ws: WebSocket, n: number) =>
  (await messages(ws, n)).map(([data, binary]) => [String(data as Buffer), binary]);

describe('topics on one server', () => {
  let wss: WebSocketServer;
  let url: string;
  beforeEach(async () => ({ wss, url } = await listen()));
  afterEach(() => closeServer(wss));

  test('subscribe, isSubscribed, topics, unsubscribe; publish returns how many it reached', async () => {
    const [[a, sa], [b, sb], [, sc]] = await connectMany(3, url, wss);
    expect(sa.subscribe('room')).toBe(true);
    expect(sa.subscribe('room')).toBe(false);
    expect(sa.subscribe('other')).toBe(true);
    expect(sb.subscribe('room')).toBe(true);
    expect(sa.isSubscribed('room')).toBe(true);
    expect(sc.isSubscribed('room')).toBe(false);
    expect(sa.topics.sort()).toEqual(['other', 'room']);
    expect(sc.topics).toEqual([]);
    expect(wss.subscriberCount('room')).toBe(2);

    const gotA = texts(a, 2);
    const gotB = texts(b, 1);
    expect(wss.publish('room', 'hello')).toBe(2);
    expect(wss.publish('other', Buffer.from('bytes'))).toBe(1);
    expect(wss.publish('nobody', 'x')).toBe(0);
    expect(await gotA).toEqual([
      ['hello', false],
      ['bytes', true],
    ]);
    expect(await gotB).toEqual([['hello', false]]);

    expect(sb.unsubscribe('room')).toBe(true);
    expect(sb.unsubscribe('room')).toBe(false);
    expect(sb.isSubscribed('room')).toBe(false);
    expect(wss.publish('room', 'again', { binary: true })).toBe(1);
    expect(await texts(a, 1)).toEqual([['again', true]]);
  });

  test('except leaves out the sender; a closed socket is unsubscribed', async () => {
    const [[a, sa], [b, sb]] = await connectMany(2, url, wss);
    sa.subscribe('room');
    sb.subscribe('room');
    const gotB = texts(b, 1);
    let aGot = 0;
    a.on('message', () => aGot++);
    expect(wss.publish('room', 'from a', { except: sa })).toBe(1);
    expect(wss.publish('room', 'nobody', { except: [sa, sb] })).toBe(0);
    expect(await gotB).toEqual([['from a', false]]);
    const bClosed = closed(sb);
    b.close();
    await bClosed;
    expect(sb.topics).toEqual([]);
    expect(wss.subscriberCount('room')).toBe(1);
    expect(wss.publish('room', 'after')).toBe(1);
    await texts(a, 1);
    expect(aGot).toBe(1);
    // Subscribing a closed socket does nothing (it could never be removed).
    expect(sb.subscribe('room')).toBe(false);
  });

  test('the frame is built once: every subscriber is handed the same bytes', async () => {
    const pairs = await connectMany(3, url, wss);
    for (const [, s] of pairs.slice(0, 3)) s.subscribe('room');
    const spy = jest.spyOn(Connection.prototype, 'sendPrepared');
    // sendPrepared queues the frame in the codec's one ordered output; the transport takes it from there.
    const taken = jest.spyOn(Connection.prototype, 'takeOutput');
    try {
      const got = pairs.map(([c]) => texts(c, 1));
      expect(wss.publish('room', 'x'.repeat(2000))).toBe(3);
      const outs = taken.mock.results.map((r) => r.value as Uint8Array[]).filter((o) => o.length > 0);
      expect(outs).toHaveLength(3);
      const messagesSent = new Set(spy.mock.calls.map(([message]) => message));
      expect(messagesSent.size).toBe(1);
      for (const out of outs) {
        expect(out[0]).toBe(outs[0]![0]);
        expect(out[1]).toBe(outs[0]![1]);
      }
      for (const g of got) expect(await g).toEqual([['x'.repeat(2000), false]]);
    } finally {
      spy.mockRestore();
      taken.mockRestore();
    }
  });

  test('misuse throws with what to do', async () => {
    const [client, side] = await connect(url, wss);
    expect(() => client.subscribe('room')).toThrow(/sockets of a WebSocketServer/);
    expect(client.isSubscribed('room')).toBe(false);
    expect(() => side.subscribe('')).toThrow(/non-empty string/);
    expect(() => wss.publish(42 as unknown as string, 'x')).toThrow(/non-empty string/);
    expect(() => wss.publish('room', { not: 'data' } as unknown as string)).toThrow(/publish\(\) takes/);
    expect(
      () => new WebSocketServer({ noServer: true, topics: { slowSubscriber: 'wait' as 'drop' } }),
    ).toThrow(/'close' or 'drop'/);
  });
});

describe('topics with permessage-deflate', () => {
  async function publishToThree(serverOptions: ConstructorParameters<typeof WebSocketServer>[0]) {
    const { wss, url } = await listen(serverOptions);
    const pairs = await connectMany(3, url, wss, { perMessageDeflate: true });
    for (const [, s] of pairs.slice(0, 3)) s.subscribe('room');
    const spy = jest.spyOn(Connection.prototype, 'sendPrepared');
    const text = 'the same message for every subscriber '.repeat(100);
    const got = pairs.map(([c]) => texts(c, 1));
    let message: PreparedMessage;
    try {
      expect(wss.publish('room', text)).toBe(3);
      message = spy.mock.calls[0]![0];
    } finally {
      spy.mockRestore();
    }
    for (const g of got) expect(await g).toEqual([[text, false]]);
    const extensions = pairs[0][0].extensions;
    await closeServer(wss);
    return { message, extensions };
  }

  test('a publishing server (topics set) agrees to server_no_context_takeover: compressed once for all', async () => {
    const { message, extensions } = await publishToThree({ perMessageDeflate: true, topics: {} });
    expect(extensions).toMatch(/server_no_context_takeover/);
    expect(message.compressions).toBe(1);
  });

  test('context takeover in force: compressed per socket', async () => {
    const { message, extensions } = await publishToThree({ perMessageDeflate: true });
    expect(extensions).not.toMatch(/server_no_context_takeover/);
    expect(message.compressions).toBe(3);
  });

  test('perMessageDeflate.serverNoContextTakeover: false keeps context takeover for a publishing server', async () => {
    const { message, extensions } = await publishToThree({
      perMessageDeflate: { serverNoContextTakeover: false },
      topics: {},
    });
    expect(extensions).not.toMatch(/server_no_context_takeover/);
    expect(message.compressions).toBe(3);
  });
});

describe('a slow subscriber never stalls the others', () => {
  async function flood(policy: 'close' | 'drop') {
    const { wss, url } = await listen({ maxBufferedAmount: 256 * KiB, topics: { slowSubscriber: policy } });
    const [[reader, readerSide], [silent, silentSide]] = await connectMany(2, url, wss);
    readerSide.subscribe('room');
    silentSide.subscribe('room');
    silent.pause();
    const payload = Buffer.alloc(64 * KiB, 0x61);
    const counts: number[] = [];
    let readerGot = 0;
    reader.on('message', () => readerGot++);
    // Bounded: 200 x 64 KiB is far more than the kernel buffers of both ends hold.
    for (let i = 0; i < 200; i++) {
      const got = once(reader, 'message');
      counts.push(wss.publish('room', payload));
      await got;
    }
    return { wss, reader, readerSide, silent, silentSide, counts, readerGot: () => readerGot };
  }

  test("'close' (default): the slow one is closed with 1008, the reader gets every message", async () => {
    const { wss, readerSide, silent, silentSide, counts, readerGot } = await flood('close');
    expect(readerGot()).toBe(200);
    expect(readerSide.readyState).toBe(WebSocket.OPEN);
    expect(silentSide.readyState).not.toBe(WebSocket.OPEN);
    expect(counts[0]).toBe(2);
    expect(counts[counts.length - 1]).toBe(1);
    expect(silentSide.bufferedAmount).toBeLessThanOrEqual(256 * KiB + 66 * KiB);
    const silentClosed = closed(silent);
    silent.resume();
    expect((await silentClosed)[0]).toBe(1008);
    await closeServer(wss);
  });

  test("'drop': the slow one stays open and misses messages while it is over its limit", async () => {
    const { wss, readerSide, silent, silentSide, counts, readerGot } = await flood('drop');
    expect(readerGot()).toBe(200);
    expect(readerSide.readyState).toBe(WebSocket.OPEN);
    expect(silentSide.readyState).toBe(WebSocket.OPEN);
    const reached = counts.filter((n) => n === 2).length;
    expect(reached).toBeGreaterThan(0);
    expect(reached).toBeLessThan(200);
    expect(silentSide.bufferedAmount).toBeLessThanOrEqual(256 * KiB + 66 * KiB);
    // What was accepted arrives once it reads again.
    const all = messages(silent, reached);
    silent.resume();
    expect((await all).length).toBe(reached);
    await closeServer(wss);
  });
});

describe('brokers', () => {
  test('MemoryBroker: a publish on one server reaches the other, in order, not twice; one subscription per topic per server', async () => {
    const broker = new MemoryBroker();
    const one = await listen({ topics: { broker } });
    const two = await listen({ topics: { broker } });
    const [[a1, s1], [a2, s2]] = await connectMany(2, one.url, one.wss);
    const [[b1, t1]] = await connectMany(1, two.url, two.wss);
    for (const s of [s1, s2, t1]) s.subscribe('room');
    expect(broker.topics).toEqual(['room']);
    const spy = jest.spyOn(broker, 'subscribe');
    s1.subscribe('room'); // already: nothing more on the broker
    expect(spy).not.toHaveBeenCalled();
    const got = [a1, a2, b1].map((c) => texts(c, 20));
    for (let i = 0; i < 10; i++) {
      expect(one.wss.publish('room', `one ${i}`)).toBe(2);
      expect(two.wss.publish('room', `two ${i}`)).toBe(1);
    }
    const expected = Array.from({ length: 10 }, (_, i) => [
      [`one ${i}`, false],
      [`two ${i}`, false],
    ]).flat();
    for (const g of got) expect(await g).toEqual(expected);
    // The last local subscriber leaving drops the server's broker subscription.
    t1.unsubscribe('room');
    s1.unsubscribe('room');
    expect(broker.topics).toEqual(['room']);
    s2.unsubscribe('room');
    expect(broker.topics).toEqual([]);
    await Promise.all([closeServer(one.wss), closeServer(two.wss)]);
  });

  test('a broker that fails: brokerError names the topic, local subscribers still get the message', async () => {
    const failing: Broker = {
      publish: () => Promise.reject(new Error('connection refused')),
      subscribe: () => Promise.resolve(),
      unsubscribe: () => Promise.resolve(),
    };
    const { wss, url } = await listen({ topics: { broker: failing } });
    const [[c, s]] = await connectMany(1, url, wss);
    s.subscribe('room');
    const failed = once<[Error & { topic: string; code: string }]>(wss, 'brokerError');
    const got = texts(c, 1);
    expect(wss.publish('room', 'still local')).toBe(1);
    const [err] = await failed;
    expect(err.topic).toBe('room');
    expect(err.code).toBe('WS_ERR_BROKER');
    expect(err.message).toMatch(/connection refused/);
    expect(await got).toEqual([['still local', false]]);
    await closeServer(wss);
  });
});
