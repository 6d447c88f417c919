// Hand-made peers for the hostile tests: raw `net` sockets (frames come from @rfc6455/test-support),
// and checks that a server is still healthy and that nothing (sockets, servers, timers) is left behind.
import net from 'node:net';
import vm from 'node:vm';
import v8 from 'node:v8';
import { WebSocket } from '../index.js';
import type { ServerOptions, WebSocketServer } from '../index.js';
import { FrameReader, upgradeRequest } from '@rfc6455/test-support';
import type { ParsedFrame } from '@rfc6455/test-support';
import { closeServer, echoServer } from './helpers.js';

/** A raw client socket: everything it received, split into the HTTP head and frames. */
export class RawPeer {
  readonly socket: net.Socket;
  /** The response head (up to and including CRLFCRLF), once it arrived. */
  head = '';
  private pre: Buffer = Buffer.alloc(0);
  readonly reader = new FrameReader();
  /** Everything received, for responses that are not upgrades. */
  raw: Buffer = Buffer.alloc(0);
  /** Resolves when the socket is fully closed; `error` holds a socket error, if any. */
  readonly closed: Promise<void>;
  error: Error | null = null;
  /** True once the server's FIN arrived. */
  gotEnd = false;
  private waiters: (() => void)[] = [];

  private constructor(socket: net.Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.raw = Buffer.concat([this.raw, chunk]);
      if (this.head === '') {
        this.pre = Buffer.concat([this.pre, chunk]);
        const end = this.pre.indexOf('\r\n\r\n');
        if (end === -1) return this.wake();
        this.head = this.pre.subarray(0, end + 4).toString('latin1');
        const rest = this.pre.subarray(end + 4);
        this.pre = Buffer.alloc(0);
        if (rest.length > 0) this.reader.push(rest);
      } else {
        this.reader.push(chunk);
      }
      this.wake();
    });
    socket.on('end', () => {
      this.gotEnd = true;
      this.wake();
    });
    socket.on('error', (err) => {
      this.error = err;
    });
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.wake();
        resolve();
      }),
    );
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  /** Waits until `check` is true (re-checked on every arrival), or the socket closed (then rejects). */
  until<T>(check: () => T | undefined | false, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      // Also re-checked every 10 ms: a condition on the server's side (a count, bufferedAmount) can
      // become true after the last byte arrived here, with nothing left to wake this peer.
      const poll = setInterval(() => test(), 10);
      let settled = false;
      const test = (): void => {
        if (settled) return;
        const v = check();
        if (v !== undefined && v !== false) {
          settled = true;
          clearInterval(poll);
          return resolve(v);
        }
        if (this.socket.destroyed) {
          settled = true;
          clearInterval(poll);
          return reject(new Error(`socket closed while waiting for ${what}`));
        }
        if (!this.waiters.includes(test)) this.waiters.push(test);
      };
      test();
    });
  }

  /** Waits for the first frame with that opcode (8 = close). */
  frameOf(opcode: number): Promise<ParsedFrame> {
    return this.until(
      () => this.reader.frames.find((f) => f.opcode === opcode),
      `a frame with opcode ${opcode}`,
    );
  }

  /** Close code and reason of the server's close frame. */
  async closeFrame(): Promise<{ code: number; reason: string }> {
    const f = await this.frameOf(8);
    return f.payload.length >= 2
      ? { code: f.payload.readUInt16BE(0), reason: f.payload.subarray(2).toString() }
      : { code: 1005, reason: '' };
  }

  write(data: Uint8Array | string): Promise<void> {
    return new Promise((resolve, reject) =>
      this.socket.write(data, (err) => (err ? reject(err) : resolve())),
    );
  }

  /** Connects and sends `request` (if any); does not wait for an answer. */
  static connect(port: number, request?: string | Uint8Array): Promise<RawPeer> {
    return new Promise((resolve, reject) => {
      const socket = net.connect(port, '127.0.0.1');
      const peer = new RawPeer(socket);
      socket.once('error', reject);
      socket.once('connect', () => {
        socket.off('error', reject);
        if (request !== undefined) socket.write(request);
        resolve(peer);
      });
    });
  }

  /** Connects, upgrades, and waits for the 101. */
  static async open(port: number, path = '/', extra = ''): Promise<RawPeer> {
    const peer = await RawPeer.connect(port, upgradeRequest(path, extra));
    await peer.until(() => peer.head !== '', 'the handshake response');
    if (!peer.head.startsWith('HTTP/1.1 101 ')) throw new Error(`no 101: ${peer.head}`);
    return peer;
  }
}

/** The whole answer to a request that the server rejects (status line, headers, body), once it closed. */
export async function rejection(
  port: number,
  request: string | Uint8Array,
): Promise<{ status: number; text: string }> {
  const peer = await RawPeer.connect(port, request);
  await peer.closed;
  const text = peer.raw.toString('latin1');
  const m = /^HTTP\/1\.1 (\d{3}) /.exec(text);
  return { status: m ? Number(m[1]) : 0, text };
}

/** Proves the server still works: a new client opens, gets its echo, and closes cleanly. */
export async function assertServes(url: string): Promise<void> {
  const ws = new WebSocket(url);
  const result = await new Promise<string>((resolve, reject) => {
    ws.once('error', reject);
    ws.once('open', () => ws.send('still there?'));
    ws.once('message', (data) => {
      resolve(String(data));
      ws.close(1000);
    });
  });
  if (result !== 'still there?') throw new Error(`echo came back as ${result}`);
  await new Promise<void>((resolve) =>
    ws.readyState === WebSocket.CLOSED ? resolve() : ws.once('close', () => resolve()),
  );
}

/** Records what each server-side socket reported: close (code, wasClean) and errors. */
export interface Observed {
  closes: { code: number; reason: string; wasClean: boolean }[];
  errors: Error[];
  messages: (Buffer | string)[];
  /** Resolves at the first close. */
  closed: Promise<void>;
}

export function observe(ws: WebSocket): Observed {
  let done!: () => void;
  const o: Observed = { closes: [], errors: [], messages: [], closed: new Promise((r) => (done = r)) };
  ws.on('error', (err) => o.errors.push(err));
  ws.on('message', (data, isBinary) => o.messages.push(isBinary ? (data as Buffer) : String(data)));
  // The browser-style face carries wasClean.
  ws.addEventListener('close', (e) => {
    o.closes.push({ code: e.code, reason: e.reason, wasClean: e.wasClean });
    done();
  });
  return o;
}

/** The next 'connection' of a server, observed from the moment it exists. */
export function nextConnection(wss: WebSocketServer): Promise<{ ws: WebSocket; seen: Observed }> {
  return new Promise((resolve) =>
    wss.once('connection', (ws: WebSocket) => resolve({ ws, seen: observe(ws) })),
  );
}

type Resources = Record<string, number>;
function resources(): Resources {
  const counts: Resources = {};
  for (const r of process.getActiveResourcesInfo()) counts[r] = (counts[r] ?? 0) + 1;
  return counts;
}

/** Active handles right now, to compare with later (call before the test opens anything). */
export function snapshotHandles(): Resources {
  return resources();
}

const NETWORK = ['TCPSocketWrap', 'TCPServerWrap', 'TCPWrap', 'Timeout', 'PipeWrap'];

/**
 * Waits until no more sockets, servers or timers are active than at `before` (closing a socket
 * takes a turn of the event loop); rejects with the leftovers if that does not happen in `graceMs`.
 */
export async function assertNoHandlesLeft(before: Resources, graceMs = 2000): Promise<void> {
  const deadline = Date.now() + graceMs;
  let extra: string[] = [];
  for (;;) {
    const now = resources();
    extra = NETWORK.filter((k) => (now[k] ?? 0) > (before[k] ?? 0)).map(
      (k) => `${k} x${(now[k] ?? 0) - (before[k] ?? 0)}`,
    );
    if (extra.length === 0) return;
    if (Date.now() > deadline) break;
    await new Promise((r) => setImmediate(r));
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error(`left behind: ${extra.join(', ')}`);
}

let gcFn: (() => void) | undefined;
/** A forced full GC (V8's gc exposed at run time, for memory measurements). */
export function gc(): void {
  if (!gcFn) {
    v8.setFlagsFromString('--expose-gc');
    gcFn = vm.runInNewContext('gc') as () => void;
  }
  gcFn();
}

/** Resolves after `ms` milliseconds (for pacing a slow client, never for asserting speed). */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/**
 * One hostile round: an echo server with `options`, the attack, then the health check (a new client
 * is served), a graceful close, an empty client set and no handle left behind.
 */
export async function withServer(
  options: Omit<ServerOptions, 'port'>,
  attack: (ctx: { port: number; url: string; wss: WebSocketServer }) => Promise<void>,
): Promise<void> {
  const before = snapshotHandles();
  const { wss, port, url } = await echoServer(options);
  try {
    await attack({ port, url, wss });
    await assertServes(url);
  } finally {
    await closeServer(wss);
  }
  if (wss.clients!.size !== 0) throw new Error(`${wss.clients!.size} clients left after close`);
  await assertNoHandlesLeft(before);
}
