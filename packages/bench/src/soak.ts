// Soak test: many connections with mixed traffic against one @rfc6455/node server process, for a
// while. Usage (after `bash scripts/build.sh`):
//
//   node packages/bench/dist/soak.js --connections 2000 --seconds 120
//
// Every connection runs a loop: a few messages in flight (text or binary, 0..16 KiB, some
// compressible, half the connections with permessage-deflate, the odd ping), each carrying its
// sequence number and a checksum; the server checks the checksum and echoes; the client checks
// that echoes come back whole and in order. After a random number of messages a connection either
// closes cleanly (its last messages sent right before close(): every echo must arrive before the
// close) or is dropped abruptly, and a new one takes its place.
//
// Every 10 s: messages per second, errors, the server's heap and RSS. At the end it fails (exit 1)
// if any message was lost or corrupted, or if the server's heap after a forced GC is more than 10%
// above its level after warm-up (both measured with all connections open and idle).
import { fork } from 'node:child_process';
import type { Serializable } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import type { MessageData, WebSocket } from '@rfc6455/node';

// ---- what the two processes say to each other over IPC ----

type SoakCommand = { type: 'stats' } | { type: 'gc' } | { type: 'stop' };
interface Memory {
  heapUsed: number;
  rss: number;
  external: number;
}
interface StatsReply extends Memory {
  type: 'stats';
  messages: number;
  corrupt: number;
  outOfOrder: number;
  lostBeforeClose: number;
  socketErrors: number;
  clients: number;
}
interface GcReply extends Memory {
  type: 'gc';
  clients: number;
}
interface ReadyReply {
  type: 'ready';
  port: number;
}
type SoakReply = StatsReply | GcReply | ReadyReply;
interface Replies {
  stats: StatsReply;
  gc: GcReply;
  ready: ReadyReply;
}

const argv = process.argv.slice(2);
function option(name: string, fallback: number): number {
  const i = argv.indexOf(`--${name}`);
  if (i === -1) return fallback;
  const value = Number(argv[i + 1]);
  if (!Number.isFinite(value) || value <= 0) {
    console.error(`--${name} needs a positive number`);
    process.exit(2);
  }
  return value;
}

const MAX_MESSAGE = 16 * 1024;
const WINDOW = 4; // messages in flight per connection
const HEADER = 12; // seq, connection id, checksum

/** FNV-1a over bytes: a checksum the two sides compute independently. */
function checksum(bytes: Uint8Array, from = 0): number {
  let h = 0x811c9dc5;
  for (let i = from; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h >>> 0;
}

/** Parses and checks one message; returns { seq, id } or null when corrupted. */
function check(data: Buffer, isBinary: boolean): { seq: number; id: number } | null {
  if (isBinary) {
    if (data.length < HEADER) return null;
    const seq = data.readUInt32BE(0);
    const id = data.readUInt32BE(4);
    return data.readUInt32BE(8) === checksum(data, HEADER) ? { seq, id } : null;
  }
  const text = data.toString('latin1');
  const m = /^(\d+)\.(\d+)\.(\d+)\./.exec(text);
  if (!m) return null;
  const body = Buffer.from(text.slice(m[0].length), 'latin1');
  return Number(m[3]) === checksum(body) ? { seq: Number(m[1]), id: Number(m[2]) } : null;
}

/** Messages arrive as Buffers: binaryType stays 'nodebuffer' (the default) on both sides. */
function asBuffer(data: MessageData): Buffer {
  if (!Buffer.isBuffer(data)) throw new Error('expected a Buffer: binaryType must stay nodebuffer');
  return data;
}

function send(message: SoakReply): void {
  if (process.send === undefined) throw new Error("soak --server runs as the soak test's child, over IPC");
  process.send(message);
}

// ---- the server process ------------------------------------------------------------------------

async function runServer(): Promise<void> {
  const { WebSocketServer } = await import('@rfc6455/node');
  const wss = new WebSocketServer({
    port: 0,
    host: '127.0.0.1',
    backlog: 4096,
    perMessageDeflate: { threshold: 256 },
    maxPayload: 1024 * 1024,
  });
  let messages = 0;
  let corrupt = 0;
  let socketErrors = 0;
  /** Messages a client sent before its close() that did not reach us before its close frame, or out of order. */
  let lostBeforeClose = 0;
  let outOfOrder = 0;
  wss.on('connection', (ws) => {
    let received = 0;
    ws.on('error', () => socketErrors++);
    ws.on('message', (message, isBinary) => {
      messages++;
      const data = asBuffer(message);
      const parsed = check(data, isBinary);
      if (parsed === null) corrupt++;
      else if (parsed.seq !== received) outOfOrder++;
      received++;
      if (ws.readyState === 1) ws.send(data, { binary: isBinary });
    });
    ws.on('close', (code, reason) => {
      // A clean close says how many messages went before it (RFC 6455 7.1.2: all of them arrive first).
      const m = /^sent (\d+)$/.exec(reason.toString());
      if (code === 1000 && m) lostBeforeClose += Math.max(0, Number(m[1]) - received);
    });
  });
  await new Promise<void>((r) => wss.once('listening', r));
  const memory = (): Memory => {
    const m = process.memoryUsage();
    return { heapUsed: m.heapUsed, rss: m.rss, external: m.external };
  };
  const clients = (): number => wss.clients?.size ?? 0;
  process.on('message', (received) => {
    const msg = received as SoakCommand;
    if (msg.type === 'stats') {
      send({
        type: 'stats',
        ...memory(),
        messages,
        corrupt,
        outOfOrder,
        lostBeforeClose,
        socketErrors,
        clients: clients(),
      });
    } else if (msg.type === 'gc') {
      const gc = globalThis.gc;
      if (gc === undefined) throw new Error('the soak server needs --expose-gc');
      for (let i = 0; i < 3; i++) gc();
      send({ type: 'gc', ...memory(), clients: clients() });
    } else if (msg.type === 'stop') {
      wss.close(() => process.exit(0));
    }
  });
  send({ type: 'ready', port: (wss.address() as AddressInfo).port });
}

// ---- the client side (this process) --------------------------------------------------------------

interface Conn {
  ws: WebSocket;
  id: number;
  nextSeq: number;
  expectSeq: number;
  /** What was sent and has not come back yet, oldest first. */
  sent: (string | Buffer)[];
  budget: number;
  /** null: running; 'drop': terminated; 'closing': waiting for the echoes; 'close': close() sent. */
  ending: null | 'drop' | 'closing' | 'close';
  open: boolean;
  closeWhenIdle: (() => void) | null;
}

interface Slot {
  index: number;
  conn: Conn | null;
  pump: (() => void) | null;
  stopping: boolean;
  onIdle?: () => void;
}

async function runSoak(): Promise<void> {
  const connections = option('connections', 200);
  const seconds = option('seconds', 20);
  const warmup = option('warmup', Math.min(10, Math.max(2, Math.floor(seconds / 4))));
  const { WebSocket } = await import('@rfc6455/node');

  const server = fork(fileURLToPath(import.meta.url), ['--server'], { execArgv: ['--expose-gc'] });
  const replies: { type: SoakReply['type']; resolve: (msg: SoakReply) => void }[] = [];
  server.on('message', (received: Serializable) => {
    const msg = received as SoakReply;
    const waiter = replies.findIndex((w) => w.type === msg.type);
    if (waiter !== -1) replies.splice(waiter, 1)[0]!.resolve(msg);
  });
  const ask = <T extends keyof Replies>(type: T): Promise<Replies[T]> =>
    new Promise((resolve) => {
      // The server answers a request of `type` with a reply of that type (Replies).
      replies.push({ type, resolve: resolve as (msg: SoakReply) => void });
      if (type !== 'ready') server.send({ type });
    });
  const { port } = await ask('ready');
  const url = `ws://127.0.0.1:${port}`;

  const counts = {
    received: 0,
    sent: 0,
    lastEchoesMissing: 0,
    corrupt: 0,
    unexpected: 0,
    handshakeFailures: 0,
    drops: 0,
    cleanCloses: 0,
  };
  const handshakeErrors = new Map<string, number>();
  let running = true; // false: send nothing new (quiesce or stop)
  let nextId = 1;
  const slots: Slot[] = [];

  // Bodies are slices of two pools made once: random letters (deflate gains little) and a run of
  // one letter (deflate gains a lot). Cheap for the client, so that the server sets the pace.
  const randomPool = Buffer.allocUnsafe(1024 * 1024);
  for (let i = 0; i < randomPool.length; i++) randomPool[i] = 97 + ((Math.random() * 26) | 0);
  const runPool = Buffer.alloc(MAX_MESSAGE, 'x');
  const randomBody = (size: number, compressible: boolean): Buffer => {
    if (compressible) return runPool.subarray(0, size);
    const at = (Math.random() * (randomPool.length - size)) | 0;
    return randomPool.subarray(at, at + size);
  };

  function makeMessage(
    id: number,
    seq: number,
  ): { text: true; data: string } | { text: false; data: Buffer } {
    const size =
      Math.random() < 0.7 ? (Math.random() * 512) | 0 : (Math.random() * (MAX_MESSAGE - HEADER)) | 0;
    const body = randomBody(size, Math.random() < 0.3);
    const sum = checksum(body);
    if (Math.random() < 0.5) {
      return { text: true, data: `${seq}.${id}.${sum}.${body.toString('latin1')}` };
    }
    const head = Buffer.allocUnsafe(HEADER);
    head.writeUInt32BE(seq, 0);
    head.writeUInt32BE(id, 4);
    head.writeUInt32BE(sum, 8);
    return { text: false, data: Buffer.concat([head, body]) };
  }

  /** One slot keeps one connection alive, replacing it after each close or drop. */
  function open(slot: Slot): void {
    const id = nextId++;
    // A generous handshake timeout: under full load the event loop runs late, and a timer that fires
    // before the waiting response is read is not what this test is about.
    const ws = new WebSocket(url, { perMessageDeflate: slot.index % 2 === 0, handshakeTimeout: 60_000 });
    const conn: Conn = {
      ws,
      id,
      nextSeq: 0,
      expectSeq: 0,
      sent: [],
      budget: 20 + ((Math.random() * 400) | 0),
      ending: null,
      open: false,
      closeWhenIdle: null,
    };
    slot.conn = conn;
    const pump = (): void => {
      while (running && conn.ending === null && conn.open && conn.nextSeq - conn.expectSeq < WINDOW) {
        if (conn.nextSeq >= conn.budget) {
          finish();
          return;
        }
        const m = makeMessage(id, conn.nextSeq++);
        conn.sent.push(m.data);
        counts.sent++;
        ws.send(m.data, { binary: !m.text });
        if (Math.random() < 0.02) ws.ping('soak');
      }
    };
    const finish = (): void => {
      if (Math.random() < 0.25) {
        // Abrupt: whatever is in flight may be lost, and that is allowed.
        conn.ending = 'drop';
        counts.drops++;
        ws.terminate();
        return;
      }
      // Clean: once every echo is back, two last messages go right before the close frame. The
      // server must receive both before the close (it checks the count in the reason); their echoes
      // answer messages that arrived with a close frame, which the server may or may not send.
      conn.ending = 'closing';
      conn.closeWhenIdle = () => {
        conn.ending = 'close';
        for (let k = 0; k < 2; k++) {
          const m = makeMessage(id, conn.nextSeq++);
          conn.sent.push(m.data);
          counts.sent++;
          ws.send(m.data, { binary: !m.text });
        }
        ws.close(1000, `sent ${conn.nextSeq}`);
      };
      if (conn.sent.length === 0) conn.closeWhenIdle();
    };
    slot.pump = pump;
    ws.on('open', () => {
      conn.open = true;
      pump();
    });
    ws.on('error', (err) => {
      if (conn.open) return;
      counts.handshakeFailures++;
      const key = err.message.replace(/\d+/g, 'N');
      handshakeErrors.set(key, (handshakeErrors.get(key) ?? 0) + 1);
    });
    ws.on('message', (received, isBinary) => {
      counts.received++;
      const data = asBuffer(received);
      const expected = conn.sent.shift();
      const got = isBinary ? data : data.toString('latin1');
      const ok =
        expected !== undefined &&
        check(typeof got === 'string' ? Buffer.from(got, 'latin1') : got, isBinary) !== null;
      const same =
        typeof got === 'string' ? expected === got : Buffer.isBuffer(expected) && expected.equals(got);
      if (!ok || !same) counts.corrupt++;
      conn.expectSeq++;
      if (conn.ending === 'closing' && conn.sent.length === 0) conn.closeWhenIdle?.();
      else pump();
    });
    ws.on('close', (code) => {
      if (conn.ending === 'close') {
        if (code === 1000) counts.cleanCloses++;
        else counts.unexpected++;
        counts.lastEchoesMissing += conn.sent.length;
      } else if (conn.open && conn.ending !== 'drop' && slot.stopping !== true) {
        counts.unexpected++;
      }
      slot.conn = null;
      if (!slot.stopping) setImmediate(() => open(slot));
      slot.onIdle?.();
    });
  }

  const idle = (slot: Slot): boolean => {
    const c = slot.conn;
    return c !== null && c.open && c.ending === null && c.sent.length === 0;
  };

  /** Stops new sends and waits until every slot has an open, idle connection. */
  async function quiesce(): Promise<void> {
    running = false;
    for (;;) {
      if (slots.every(idle)) return;
      await new Promise((r) => setTimeout(r, 50));
      // Connections that opened while quiet have budget 0 in flight: they are idle once open.
    }
  }
  function resume(): void {
    running = true;
    for (const s of slots) s.pump?.();
  }

  // Open every connection first, in batches (the listen backlog), with no traffic yet.
  running = false;
  for (let i = 0; i < connections; i++) {
    const slot: Slot = { index: i, conn: null, pump: null, stopping: false };
    slots.push(slot);
    open(slot);
    if (i % 100 === 99) await new Promise((r) => setTimeout(r, 20));
  }
  await quiesce();
  console.log(`${connections} connections open`);
  resume();

  const start = Date.now();
  const mb = (n: number): string => `${(n / 1048576).toFixed(1)} MiB`;
  let lastReceived = 0;
  let lastTime = start;
  const errorsNow = (): number => counts.corrupt + counts.unexpected + counts.handshakeFailures;
  async function report(): Promise<void> {
    const s = await ask('stats');
    const now = Date.now();
    const rate = ((counts.received - lastReceived) * 1000) / (now - lastTime);
    lastReceived = counts.received;
    lastTime = now;
    console.log(
      `[${Math.round((now - start) / 1000)}s] ${Math.round(rate)} msgs/s, ` +
        `errors ${errorsNow() + s.corrupt + s.outOfOrder + s.lostBeforeClose} (lost ${s.lostBeforeClose}, ` +
        `corrupt ${counts.corrupt + s.corrupt}, out of order ${s.outOfOrder}, unexpected closes ${counts.unexpected}, ` +
        `failed handshakes ${counts.handshakeFailures}), ` +
        `clients ${s.clients}, drops ${counts.drops}, clean closes ${counts.cleanCloses}, ` +
        `server heap ${mb(s.heapUsed)}, rss ${mb(s.rss)}, external ${mb(s.external)}`,
    );
  }
  const ticker = setInterval(() => void report(), 10_000);

  await new Promise((r) => setTimeout(r, warmup * 1000));
  await quiesce();
  const base = await ask('gc');
  console.log(
    `warm-up done: ${base.clients} clients, heap after GC ${mb(base.heapUsed)}, rss ${mb(base.rss)}`,
  );
  resume();

  await new Promise((r) => setTimeout(r, Math.max(0, seconds * 1000 - (Date.now() - start))));
  await quiesce();
  const end = await ask('gc');
  const final = await ask('stats');
  clearInterval(ticker);
  console.log(`end: ${end.clients} clients, heap after GC ${mb(end.heapUsed)}, rss ${mb(end.rss)}`);

  // Tear down.
  for (const s of slots) s.stopping = true;
  await Promise.all(
    slots.map(
      (s) =>
        new Promise<void>((resolve) => {
          if (s.conn === null) return resolve();
          s.onIdle = resolve;
          s.conn.ws.close(1000);
        }),
    ),
  );
  server.send({ type: 'stop' });
  await new Promise((r) => server.once('exit', r));

  const growth = end.heapUsed / base.heapUsed - 1;
  const failures: string[] = [];
  if (final.lostBeforeClose > 0) failures.push(`${final.lostBeforeClose} messages sent before close() lost`);
  if (final.outOfOrder > 0) failures.push(`${final.outOfOrder} messages out of order`);
  if (counts.corrupt + final.corrupt > 0)
    failures.push(`${counts.corrupt + final.corrupt} messages corrupted`);
  if (counts.unexpected > 0) failures.push(`${counts.unexpected} unexpected closes`);
  if (counts.handshakeFailures > 0) failures.push(`${counts.handshakeFailures} failed handshakes`);
  if (growth > 0.1) failures.push(`server heap grew ${(growth * 100).toFixed(1)}% (limit 10%)`);
  console.log(
    `soak: ${connections} connections, ${seconds} s: ${counts.sent} messages sent, ${counts.received} echoed, ` +
      `${final.messages} received by the server, ${counts.drops} drops, ${counts.cleanCloses} clean closes ` +
      `(echoes of the messages sent with the close frame: ${2 * counts.cleanCloses - counts.lastEchoesMissing} ` +
      `of ${2 * counts.cleanCloses} came back), ` +
      `heap ${mb(base.heapUsed)} -> ${mb(end.heapUsed)} (${(growth * 100).toFixed(1)}%)`,
  );
  for (const [message, n] of handshakeErrors) console.log(`failed handshakes: ${n} x ${message}`);
  if (failures.length > 0) {
    console.log(`FAIL: ${failures.join('; ')}`);
    process.exit(1);
  }
  console.log('PASS');
}

if (argv.includes('--server')) await runServer();
else await runSoak();
