// The load generator: WebSocket clients over plain `net` sockets with frames built once, so the
// client does the same work whichever server it drives. Replies are parsed incrementally and their
// length checked (their content too with --verify); compressed replies are inflated first.
import net from 'node:net';
import zlib from 'node:zlib';
import { performance } from 'node:perf_hooks';

const HOST = '127.0.0.1';
// Any fixed non-zero key: the server unmasks for real either way (RFC 6455 5.3).
const MASK = Buffer.from([0x5a, 0x1f, 0xc3, 0x88]);
// RFC 7692 7.2.2: the receiver appends 00 00 ff ff before inflating.
const DEFLATE_TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);
export const OPCODE = { text: 1, binary: 2, close: 8 } as const;
export type OpcodeName = keyof typeof OPCODE;

/** What each echo must look like. */
export interface Expect {
  opcode?: number;
  length?: number;
  /** The bytes sent, compared with each echo (--verify); null or absent: length only. */
  payload?: Buffer | null;
  deflate?: boolean;
}

/** Called with 'start' and 'end' around the measured window. */
export type Around = (when: 'start' | 'end') => Promise<void>;

/** A throughput run (echo or handshakes): `messages` in `seconds`. */
export interface RateResult {
  messages: number;
  seconds: number;
  rate: number;
  /** The load generator's event-loop utilisation over the window. */
  clientElu: number;
}

/** Round-trip times in milliseconds. */
export interface LatencyResult {
  messages: number;
  p50: number;
  p99: number;
  max: number;
  clientElu: number;
}

/** The server's memory after a forced collection (its 'gc' answer). */
export interface MemorySample {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
}

export interface MemoryResult {
  conns: number;
  rssBefore: number;
  rssAfter: number;
  bytesPerConn: number;
  heapPerConn: number;
  heapCommittedPerConn: number;
  externalPerConn: number;
}

/** A masked client frame (RFC 6455 5.2), FIN set. */
export function maskedFrame(opcode: number, payload: Uint8Array, rsv1 = false): Buffer {
  const len = payload.length;
  const extra = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const frame = Buffer.allocUnsafe(6 + extra + len);
  frame[0] = 0x80 | (rsv1 ? 0x40 : 0) | opcode;
  let offset = 2;
  if (extra === 0) {
    frame[1] = 0x80 | len;
  } else if (extra === 2) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(len, 2);
    offset = 4;
  } else {
    frame[1] = 0x80 | 127;
    frame.writeUInt32BE(Math.floor(len / 2 ** 32), 2);
    frame.writeUInt32BE(len >>> 0, 6);
    offset = 10;
  }
  MASK.copy(frame, offset);
  offset += 4;
  for (let i = 0; i < len; i++) frame[offset + i] = payload[i]! ^ MASK[i & 3]!;
  return frame;
}

/** The close frame a client sends to end cleanly: code 1000, no reason. */
export const CLOSE_FRAME = maskedFrame(OPCODE.close, Buffer.from([0x03, 0xe8]));

/** RFC 7692: compress once with raw DEFLATE, no context takeover, and drop the 00 00 ff ff tail. */
export function compressMessage(payload: Buffer): Buffer {
  const out = zlib.deflateRawSync(payload, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  if (!out.subarray(out.length - 4).equals(DEFLATE_TAIL))
    throw new Error('deflateRawSync did not end with a sync flush');
  return out.subarray(0, out.length - 4);
}

export function upgradeRequest(port: number, deflate: boolean): Buffer {
  return Buffer.from(
    `GET / HTTP/1.1\r\nHost: ${HOST}:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n' +
      (deflate
        ? 'Sec-WebSocket-Extensions: permessage-deflate; client_no_context_takeover; server_no_context_takeover\r\n'
        : '') +
      '\r\n',
    'latin1',
  );
}

/**
 * One client connection. Callbacks: onOpen() after the 101, onMessages(n) after each chunk that
 * completed n echoed messages, onCloseFrame() when the server's close frame arrives, onFail(error).
 */
export class Client {
  readonly expectOpcode: number;
  readonly expectLength: number;
  readonly verifyPayload: Buffer | null;
  readonly deflate: boolean;
  readonly collect: boolean;
  onOpen: (() => void) | null;
  onMessages: ((n: number) => void) | null;
  onCloseFrame: (() => void) | null;
  onFail: ((error: Error) => void) | null;
  open: boolean;
  closeReceived: boolean;
  failed: boolean;
  head: Buffer | null;
  readonly headerBuf: Buffer;
  headerLen: number;
  remaining: number;
  frameLen: number;
  frameOpcode: number;
  frameFin: boolean;
  frameMasked: boolean;
  readonly frameMask: Buffer;
  maskPos: number;
  collectFrame: boolean;
  messageOpcode: number;
  messageLen: number;
  messageCompressed: boolean;
  parts: Buffer[];
  readonly socket: net.Socket;

  constructor(port: number, expect: Expect) {
    this.expectOpcode = expect.opcode ?? 0;
    this.expectLength = expect.length ?? 0;
    this.verifyPayload = expect.payload ?? null;
    this.deflate = expect.deflate === true;
    this.collect = this.verifyPayload !== null || this.deflate;
    this.onOpen = null;
    this.onMessages = null;
    this.onCloseFrame = null;
    this.onFail = null;
    this.open = false;
    this.closeReceived = false;
    this.failed = false;
    this.head = null;
    // Frame parser state: a header may straddle chunks; payloads are skipped or collected as views.
    this.headerBuf = Buffer.allocUnsafe(14);
    this.headerLen = 0;
    this.remaining = 0;
    this.frameLen = 0;
    this.frameOpcode = 0;
    this.frameFin = false;
    this.frameMasked = false;
    this.frameMask = Buffer.alloc(4);
    this.maskPos = 0;
    this.collectFrame = false;
    this.messageOpcode = 0;
    this.messageLen = 0;
    this.messageCompressed = false;
    this.parts = [];
    this.socket = net.connect(port, HOST);
    this.socket.setNoDelay(true);
    this.socket.on('data', (chunk: Buffer) => (this.open ? this.feed(chunk) : this.readHead(chunk)));
    this.socket.on('error', (error) => this.fail(error));
  }

  fail(error: unknown): void {
    if (this.failed) return;
    this.failed = true;
    this.socket.destroy();
    if (this.onFail !== null) this.onFail(error instanceof Error ? error : new Error(String(error)));
  }

  readHead(chunk: Buffer): void {
    const head = this.head === null ? chunk : Buffer.concat([this.head, chunk]);
    this.head = head;
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) return;
    const status = head.toString('latin1', 0, head.indexOf('\r\n'));
    if (!/^HTTP\/1\.1 101 /.test(status)) {
      this.fail(new Error(`Upgrade refused: ${status}`));
      return;
    }
    const deflateAgreed = /^sec-websocket-extensions:.*permessage-deflate/im.test(
      head.toString('latin1', 0, end),
    );
    if (this.deflate && !deflateAgreed) {
      this.fail(new Error('The server did not accept permessage-deflate'));
      return;
    }
    const rest = head.subarray(end + 4);
    this.head = null;
    this.open = true;
    if (this.onOpen !== null) this.onOpen();
    if (rest.length > 0) this.feed(rest);
  }

  feed(chunk: Buffer): void {
    const n = chunk.length;
    let i = 0;
    let done = 0;
    while (i < n && !this.failed) {
      if (this.remaining > 0) {
        let take = n - i;
        if (take > this.remaining) take = this.remaining;
        if (this.collectFrame) this.collectPart(chunk, i, take);
        this.remaining -= take;
        i += take;
        if (this.remaining === 0) done += this.endFrame();
        continue;
      }
      // A header: from the chunk itself, or from the bytes kept from the previous chunk.
      const kept = this.headerLen;
      let h = chunk;
      let p = i;
      let avail = n - i;
      if (kept > 0) {
        const add = Math.min(14 - kept, n - i);
        chunk.copy(this.headerBuf, kept, i, i + add);
        h = this.headerBuf;
        p = 0;
        avail = kept + add;
      }
      const b1 = avail >= 2 ? h[p + 1]! : 0;
      const len7 = b1 & 0x7f;
      const masked = (b1 & 0x80) !== 0;
      const headerSize = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (masked ? 4 : 0);
      if (avail < 2 || avail < headerSize) {
        if (kept === 0) chunk.copy(this.headerBuf, 0, i, n);
        this.headerLen = avail;
        break;
      }
      const b0 = h[p]!;
      let len = len7;
      let q = p + 2;
      if (len7 === 126) {
        len = (h[q]! << 8) | h[q + 1]!;
        q += 2;
      } else if (len7 === 127) {
        len = h.readUInt32BE(q) * 2 ** 32 + h.readUInt32BE(q + 4);
        q += 8;
      }
      this.frameMasked = masked;
      if (masked) {
        // Only the raw echo sends masked frames back (it returns our own bytes).
        h.copy(this.frameMask, 0, q, q + 4);
        this.maskPos = 0;
      }
      i += headerSize - kept;
      this.headerLen = 0;
      this.frameFin = (b0 & 0x80) !== 0;
      this.frameOpcode = b0 & 0x0f;
      this.frameLen = len;
      if (this.frameOpcode !== 0 && this.frameOpcode < 8) {
        this.messageOpcode = this.frameOpcode;
        this.messageLen = 0;
        this.messageCompressed = (b0 & 0x40) !== 0;
      }
      this.collectFrame = this.collect && this.frameOpcode < 8;
      this.remaining = len;
      if (len === 0) done += this.endFrame();
    }
    if (done > 0 && this.onMessages !== null && !this.failed) this.onMessages(done);
  }

  collectPart(chunk: Buffer, start: number, length: number): void {
    const part = chunk.subarray(start, start + length);
    if (this.frameMasked) {
      for (let k = 0; k < length; k++) part[k] = part[k]! ^ this.frameMask[(this.maskPos + k) & 3]!;
      this.maskPos = (this.maskPos + length) & 3;
    }
    this.parts.push(part);
  }

  /** Returns 1 when the frame completed an echoed message, else 0. */
  endFrame(): 0 | 1 {
    const opcode = this.frameOpcode;
    if (opcode >= 8) {
      if (opcode === OPCODE.close) {
        this.closeReceived = true;
        if (this.onCloseFrame !== null) this.onCloseFrame();
      }
      return 0;
    }
    this.messageLen += this.frameLen;
    if (!this.frameFin) return 0;
    if (this.messageOpcode !== this.expectOpcode) {
      this.fail(new Error(`Echo came back with opcode ${this.messageOpcode}, expected ${this.expectOpcode}`));
      return 0;
    }
    if (!this.collect) {
      if (this.messageLen !== this.expectLength) {
        this.fail(new Error(`Echo of ${this.messageLen} bytes, expected ${this.expectLength}`));
        return 0;
      }
      return 1;
    }
    let data = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts);
    this.parts = [];
    if (this.messageCompressed) {
      if (!this.deflate) {
        this.fail(new Error('RSV1 set without permessage-deflate'));
        return 0;
      }
      try {
        // The message ends in a sync flush, not a final block: inflate up to it.
        data = zlib.inflateRawSync(Buffer.concat([data, DEFLATE_TAIL]), {
          finishFlush: zlib.constants.Z_SYNC_FLUSH,
        });
      } catch (error) {
        this.fail(new Error(`Echo did not inflate: ${(error as Error).message}`));
        return 0;
      }
    }
    if (data.length !== this.expectLength) {
      this.fail(new Error(`Echo of ${data.length} bytes after inflating, expected ${this.expectLength}`));
      return 0;
    }
    if (this.verifyPayload !== null && !data.equals(this.verifyPayload)) {
      this.fail(new Error('Echo content differs from what was sent'));
      return 0;
    }
    return 1;
  }

  /** Close cleanly: our close frame, then wait (bounded) for the server to end TCP. */
  close(timeoutMs = 2000): Promise<void> {
    return new Promise((resolve) => {
      if (this.socket.destroyed) return resolve();
      const timer = setTimeout(() => this.socket.destroy(), timeoutMs);
      this.socket.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.socket.write(CLOSE_FRAME);
      this.onCloseFrame = () => this.socket.end();
    });
  }
}

/** Opens `count` connections, `parallel` handshakes at a time. */
export async function openClients(
  port: number,
  count: number,
  expect: Expect,
  parallel = 100,
): Promise<Client[]> {
  const request = upgradeRequest(port, expect.deflate === true);
  const clients: Client[] = [];
  let next = 0;
  // Set by the clients' callbacks (the cast keeps TypeScript from narrowing it to null here).
  let failure = null as Error | null;
  async function worker(): Promise<void> {
    while (next < count && failure === null) {
      next++;
      const client = new Client(port, expect);
      clients.push(client);
      client.socket.write(request);
      await new Promise<void>((resolve) => {
        client.onOpen = resolve;
        client.onFail = (error) => {
          failure = error;
          resolve();
        };
      });
    }
  }
  await Promise.all(Array.from({ length: Math.min(parallel, count) }, worker));
  if (failure !== null) {
    for (const client of clients) client.socket.destroy();
    throw failure;
  }
  return clients;
}

export async function closeClients(clients: Client[]): Promise<void> {
  await Promise.all(clients.map((client) => client.close()));
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** `count` copies of `frame` back to back, for k = 0..count: one write per reply batch. */
function batches(frame: Buffer, count: number): Buffer[] {
  const out = [Buffer.alloc(0)];
  for (let k = 1; k <= count; k++) out.push(Buffer.concat(Array.from({ length: k }, () => frame)));
  return out;
}

/**
 * Saturating echo: each connection keeps `inflight` messages outstanding and sends as many new ones
 * as came back in a chunk, in one write. Measures over `durationMs` after the connections are open.
 * `around` is called with 'start' and 'end' (async) to sample the server's counters.
 */
export async function runEcho({
  port,
  conns,
  inflight,
  frame,
  expect,
  durationMs,
  around,
}: {
  port: number;
  conns: number;
  inflight: number;
  frame: Buffer;
  expect: Expect;
  durationMs: number;
  around: Around;
}): Promise<RateResult> {
  const clients = await openClients(port, conns, expect);
  const batch = batches(frame, inflight);
  let received = 0;
  let outstanding = 0;
  let stopping = false;
  // Set by the clients' callbacks (the cast keeps TypeScript from narrowing it to null here).
  let failure = null as Error | null;
  let drained: (() => void) | null = null;
  for (const client of clients) {
    client.onFail = (error) => {
      failure ??= error;
      drained?.();
    };
    client.onMessages = (n) => {
      received += n;
      if (!stopping) {
        client.socket.write(batch[n]!);
      } else {
        outstanding -= n;
        if (outstanding === 0) drained?.();
      }
    };
  }
  for (const client of clients) client.socket.write(batch[inflight]!);
  // Let every connection reach its steady state before counting.
  await sleep(Math.min(300, durationMs / 5));
  await around('start');
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  const r0 = received;
  await sleep(durationMs);
  const r1 = received;
  const t1 = performance.now();
  const elu = performance.eventLoopUtilization(elu0).utilization;
  await around('end');
  // Stop and wait for what is still in flight, so that this server is idle when the next one runs.
  stopping = true;
  // While running, every reply is answered at once: exactly conns × inflight are outstanding.
  outstanding = conns * inflight;
  if (outstanding > 0 && failure === null) {
    await Promise.race([new Promise<void>((resolve) => (drained = resolve)), sleep(10_000)]);
  }
  if (failure !== null) {
    for (const client of clients) client.socket.destroy();
    throw failure;
  }
  if (outstanding !== 0) {
    for (const client of clients) client.socket.destroy();
    throw new Error(`${outstanding} echoes never came back after the run`);
  }
  await closeClients(clients);
  const seconds = (t1 - t0) / 1000;
  return { messages: r1 - r0, seconds, rate: (r1 - r0) / seconds, clientElu: elu };
}

/**
 * Handshakes per second: `concurrency` loops of connect, upgrade, close frame both ways, TCP closed.
 */
export async function runHandshakes({
  port,
  concurrency,
  durationMs,
  around,
}: {
  port: number;
  concurrency: number;
  durationMs: number;
  around: Around;
}): Promise<RateResult> {
  const request = upgradeRequest(port, false);
  let completed = 0;
  // Set by the clients' callbacks (the cast keeps TypeScript from narrowing it to null here).
  let failure = null as Error | null;
  let running = true;
  let active = 0;
  let idle: (() => void) | null = null;
  function one(): void {
    active++;
    const client = new Client(port, {});
    let closedCleanly = false;
    client.onOpen = () => client.socket.write(CLOSE_FRAME);
    client.onCloseFrame = () => {
      closedCleanly = true;
      client.socket.end();
    };
    client.onFail = (error) => (failure ??= error);
    client.socket.on('close', () => {
      active--;
      if (closedCleanly) completed++;
      else failure ??= new Error('A handshake connection ended before the closing handshake');
      if (running && failure === null) one();
      else if (active === 0) idle?.();
    });
    client.socket.write(request);
  }
  for (let k = 0; k < concurrency; k++) one();
  await sleep(Math.min(300, durationMs / 5));
  await around('start');
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  const c0 = completed;
  await sleep(durationMs);
  const c1 = completed;
  const t1 = performance.now();
  const elu = performance.eventLoopUtilization(elu0).utilization;
  await around('end');
  running = false;
  if (active > 0) await Promise.race([new Promise<void>((resolve) => (idle = resolve)), sleep(5000)]);
  if (failure !== null) throw failure;
  const seconds = (t1 - t0) / 1000;
  return { messages: c1 - c0, seconds, rate: (c1 - c0) / seconds, clientElu: elu };
}

/**
 * Round-trip latency at a fixed rate: messages go out on a schedule (round-robin over the
 * connections), each reply is matched to its send time (replies keep order per connection).
 */
export async function runLatency({
  port,
  conns,
  rate,
  frame,
  expect,
  durationMs,
  around,
}: {
  port: number;
  conns: number;
  rate: number;
  frame: Buffer;
  expect: Expect;
  durationMs: number;
  around: Around;
}): Promise<LatencyResult> {
  const clients = await openClients(port, conns, expect);
  const total = Math.floor((rate * durationMs) / 1000);
  const samples = new Float64Array(total);
  const sentAt = clients.map((): number[] => []);
  let sent = 0;
  let received = 0;
  // Set by the clients' callbacks (the cast keeps TypeScript from narrowing it to null here).
  let failure = null as Error | null;
  let finished: (() => void) | null = null;
  clients.forEach((client, index) => {
    const queue = sentAt[index]!;
    client.onFail = (error) => {
      failure ??= error;
      finished?.();
    };
    client.onMessages = (n) => {
      const now = performance.now();
      for (let k = 0; k < n; k++) samples[received++] = now - queue.shift()!;
      if (received === total) finished?.();
    };
  });
  await around('start');
  const elu0 = performance.eventLoopUtilization();
  const t0 = performance.now();
  let turn = 0;
  const timer = setInterval(() => {
    const due = Math.min(total, Math.floor(((performance.now() - t0) * rate) / 1000));
    while (sent < due) {
      const index = turn++ % conns;
      sentAt[index]!.push(performance.now());
      clients[index]!.socket.write(frame);
      sent++;
    }
    if (sent === total) clearInterval(timer);
  }, 1);
  await Promise.race([new Promise<void>((resolve) => (finished = resolve)), sleep(durationMs + 10_000)]);
  clearInterval(timer);
  const elu = performance.eventLoopUtilization(elu0).utilization;
  await around('end');
  if (failure !== null) {
    for (const client of clients) client.socket.destroy();
    throw failure;
  }
  if (received !== total) {
    for (const client of clients) client.socket.destroy();
    throw new Error(`Only ${received} of ${total} echoes came back`);
  }
  await closeClients(clients);
  const sorted = samples.sort();
  const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  return { messages: total, p50: at(0.5), p99: at(0.99), max: sorted[sorted.length - 1]!, clientElu: elu };
}

/**
 * Idle memory: open `conns` connections, let the server settle and collect, and compare its RSS
 * with the RSS it had (after a collection) before they opened.
 */
export async function runMemory({
  port,
  conns,
  gc,
}: {
  port: number;
  conns: number;
  gc: () => Promise<MemorySample>;
}): Promise<MemoryResult> {
  // Warm the server's code paths first so that one-time costs (JIT, lazy modules) are not counted.
  await closeClients(await openClients(port, 20, {}));
  await sleep(200);
  const before = await gc();
  const clients = await openClients(port, conns, {});
  await sleep(500);
  const after = await gc();
  await closeClients(clients);
  return {
    conns,
    rssBefore: before.rss,
    rssAfter: after.rss,
    bytesPerConn: (after.rss - before.rss) / conns,
    heapPerConn: (after.heapUsed - before.heapUsed) / conns,
    // Heap pages V8 keeps committed (grown spaces count in RSS even when empty).
    heapCommittedPerConn: (after.heapTotal - before.heapTotal) / conns,
    // Off-heap memory V8 knows of: ArrayBuffer backing stores, native zlib state and the like.
    externalPerConn: (after.external - before.external) / conns,
  };
}
