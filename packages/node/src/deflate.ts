// permessage-deflate (RFC 7692) backed by node:zlib.
//
// The codec's MessageCompressor/MessageDecompressor interfaces are synchronous, so that compression
// can never reorder messages and the codec stays free of callbacks. Node offers two synchronous ways
// to run zlib, and we use both:
//
// 1. 'stream' (the default on Node): one long-lived zlib.DeflateRaw/InflateRaw per direction, driven
//    synchronously through its native handle's writeSync(), the same call Node's own *Sync functions
//    make. Context takeover is free (the stream keeps its window), no-context-takeover is the public
//    reset(). We do not use `_processChunk(chunk, flag)` without a callback: on Node 20 that path
//    closes the handle when it returns (it backs the one-shot *Sync functions) and adds an 'error'
//    listener per call. The handle is internal API, so it is feature-detected.
// 2. 'stateless' (the fallback when the handle is missing, e.g. another runtime's node:zlib): the
//    public deflateRawSync/inflateRawSync with `dictionary` set to the last window of data, which is
//    exactly what context takeover means (RFC 7692 7.2.3.2), at roughly ten times the cost per small
//    message. Received frames of one message are buffered (bounded) and inflated at the end.
//
// Both stop inflating as soon as the output passes the budget the codec hands in (`maxOutput`):
// at most one zlib output chunk (16 KiB) past the limit is ever produced.
//
// Window bits: zlib cannot deflate raw with an 8-bit window (it uses 9). That is still correct for a
// peer that asked for 8: zlib never emits a distance above window size - 262 (MAX_DIST), which is 250
// for a 9-bit window, so every back-reference fits the peer's 256-byte window.

import zlib from 'node:zlib';
import { inflateRawSyncWithInfo, zlibHandle } from './node-internals.js';
import type { NativeHandle } from './node-internals.js';
import type {
  InflateResult,
  MessageCompressor,
  MessageDecompressor,
  PerMessageDeflate,
  PerMessageDeflateParams,
} from '@rfc6455/codec';

/** The 4 octets a sync flush ends with; stripped on send, appended on receive (RFC 7692 7.2.1, 7.2.2). */
const TAIL = new Uint8Array([0x00, 0x00, 0xff, 0xff]);
const OUT_CHUNK = 16 * 1024;

export type ZlibEngineKind = 'stream' | 'stateless';

/**
 * zlib's own default is 6. Levels 1 to 3 use zlib's fast matcher: on 16 KiB of JSON-like text,
 * level 3 deflates in a third of level 6's time for about 8 % more bytes (22.2 % of the input
 * against 20.4 %). Messages are compressed on the event loop, so CPU matters more here.
 */
export const DEFAULT_LEVEL = 3;

/** zlib settings for the messages we compress. */
export interface DeflateTuning {
  /** zlib compression level 0..9 (default DEFAULT_LEVEL, 3). */
  level?: number;
  /** zlib memLevel 1..9 (default 8). */
  memLevel?: number;
  /** zlib strategy (default Z_DEFAULT_STRATEGY). */
  strategy?: number;
  /** 'stream' when available (fast), or force 'stateless' (public API only). Mostly for tests. */
  engine?: ZlibEngineKind;
}

/** Internal shape of a node:zlib stream that we drive synchronously (feature-detected). */
function streamEngineAvailable(): boolean {
  const probe = zlib.createInflateRaw();
  const ok = zlibHandle(probe) !== null;
  probe.close();
  return ok;
}

let detected: boolean | undefined;
function pickEngine(wanted: ZlibEngineKind | undefined): ZlibEngineKind {
  if (wanted === 'stateless') return 'stateless';
  detected ??= streamEngineAvailable();
  if (!detected && wanted === 'stream') {
    throw new Error(
      "zlib engine 'stream' is not available in this runtime; use engine 'stateless' or omit it",
    );
  }
  return detected ? 'stream' : 'stateless';
}

class TooBig extends Error {}
/** zlib refused the data; `code` is zlib's (Z_DATA_ERROR, ...), as ws reports it. */
class ZlibError extends Error {
  constructor(
    message: string,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

/** One zlib stream run synchronously; throws TooBig past `maxOutput`, Error on corrupt input. */
class SyncZlib {
  private readonly stream: zlib.DeflateRaw | zlib.InflateRaw;
  private readonly handle: NativeHandle;
  private readonly state: Uint32Array;
  private closed = false;

  constructor(stream: zlib.DeflateRaw | zlib.InflateRaw) {
    this.stream = stream;
    // A failed writeSync destroys the stream, which emits 'error' on a later tick: keep it handled.
    stream.on('error', () => {});
    const native = zlibHandle(stream);
    if (native === null)
      throw new Error('this Node has no synchronous zlib handle; use the stateless engine');
    this.handle = native.handle;
    this.state = native.state;
  }

  /** Input bytes the last run() left unconsumed (an inflater stops early only at the end of its stream). */
  left = 0;

  /**
   * Runs `input` (from `offset`) through the stream with `flush`, appending output pieces to `out`;
   * returns bytes produced.
   */
  run(
    input: Uint8Array,
    flush: number,
    out: Uint8Array[],
    produced: number,
    maxOutput: number,
    offset = 0,
  ): number {
    if (this.closed || this.stream.destroyed) throw new Error('zlib stream is closed');
    let inOff = offset;
    let inLen = input.byteLength - offset;
    for (;;) {
      const buf = Buffer.allocUnsafe(OUT_CHUNK);
      this.handle.writeSync(flush, input, inOff, inLen, buf, 0, OUT_CHUNK);
      if (this.stream.destroyed) {
        const err: (Error & { code?: string }) | null = this.stream.errored;
        throw new ZlibError(err?.message ?? 'zlib failed', err?.code);
      }
      const availOut = this.state[0] as number;
      const availIn = this.state[1] as number;
      const have = OUT_CHUNK - availOut;
      if (have > 0) {
        out.push(buf.subarray(0, have));
        produced += have;
        if (produced > maxOutput) throw new TooBig();
      }
      inOff += inLen - availIn;
      inLen = availIn;
      // A full output buffer means zlib may have more to give, even with no input left.
      if (availOut !== 0) {
        this.left = availIn;
        return produced;
      }
    }
  }

  reset(): void {
    this.stream.reset();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stream.close();
  }
}

/** Keeps the last `size` bytes seen (the LZ77 window that context takeover carries over). */
class Window {
  private bytes: Buffer = Buffer.alloc(0);
  constructor(private readonly size: number) {}
  get(): Buffer | undefined {
    return this.bytes.byteLength > 0 ? this.bytes : undefined;
  }
  push(pieces: Uint8Array[]): void {
    let total = this.bytes.byteLength;
    for (const p of pieces) total += p.byteLength;
    const keep = Math.min(total, this.size);
    const next = Buffer.allocUnsafe(keep);
    let pos = keep;
    // Fill from the end: the newest bytes are the ones that matter.
    for (let i = pieces.length - 1; i >= -1 && pos > 0; i--) {
      const p = i >= 0 ? (pieces[i] as Uint8Array) : this.bytes;
      const take = Math.min(p.byteLength, pos);
      next.set(p.subarray(p.byteLength - take), pos - take);
      pos -= take;
    }
    this.bytes = next;
  }
  clear(): void {
    this.bytes = Buffer.alloc(0);
  }
}

/**
 * The last `size` bytes a decompressor produced, as a ring (one copy of each output byte at most,
 * never a shift). Needed only to restart inflation after a final block (RFC 7692 7.2.3.4).
 */
class History {
  private buf: Buffer | undefined;
  private pos = 0;
  private filled = 0;
  constructor(private readonly size: number) {}

  push(pieces: Uint8Array[], total: number): void {
    if (total === 0) return;
    const size = this.size;
    const buf = (this.buf ??= Buffer.allocUnsafe(size));
    let skip = total > size ? total - size : 0;
    for (const p of pieces) {
      if (skip >= p.byteLength) {
        skip -= p.byteLength;
        continue;
      }
      let start = skip;
      skip = 0;
      while (start < p.byteLength) {
        const k = Math.min(p.byteLength - start, size - this.pos);
        buf.set(p.subarray(start, start + k), this.pos);
        start += k;
        this.pos = (this.pos + k) % size;
        this.filled = Math.min(size, this.filled + k);
      }
    }
  }

  /** The window: the last `size` bytes of what was pushed followed by `more`. */
  window(more: Uint8Array[], moreTotal: number): Buffer {
    const ring = this.buf;
    const parts: Uint8Array[] = [];
    if (ring && this.filled > 0) {
      if (this.filled === this.size && this.pos > 0) parts.push(ring.subarray(this.pos));
      parts.push(ring.subarray(this.filled === this.size ? 0 : this.pos - this.filled, this.pos));
    }
    const all = Buffer.concat([...parts, ...more], this.filled + moreTotal);
    return all.byteLength > this.size ? all.subarray(all.byteLength - this.size) : all;
  }

  clear(): void {
    this.pos = 0;
    this.filled = 0;
  }
}

function concat(pieces: Uint8Array[], total: number): Buffer {
  if (pieces.length === 1) {
    const p = pieces[0] as Uint8Array;
    return Buffer.from(p.buffer, p.byteOffset, p.byteLength);
  }
  return Buffer.concat(pieces, total);
}

const EMPTY_BLOCK = new Uint8Array([0x00]);

function stripTail(data: Buffer): Uint8Array {
  const n = data.byteLength;
  const tail =
    n >= 4 && data[n - 4] === 0 && data[n - 3] === 0 && data[n - 2] === 0xff && data[n - 1] === 0xff;
  const body = tail ? data.subarray(0, n - 4) : data;
  // zlib emits nothing for an empty message right after a flush; the peer needs a block (RFC 7692 7.2.3.6).
  return body.byteLength === 0 ? EMPTY_BLOCK : body;
}

function deflateWindowBits(bits: number): number {
  // See the note on 8-bit windows at the top of this file.
  return Math.max(9, Math.min(15, bits));
}

/** Compresses the messages this side sends. */
export class ZlibMessageCompressor implements MessageCompressor {
  readonly engine: ZlibEngineKind;
  private readonly noContextTakeover: boolean;
  private readonly options: zlib.ZlibOptions;
  private readonly sync: SyncZlib | undefined;
  private readonly window: Window | undefined;

  constructor(maxWindowBits: number, noContextTakeover: boolean, tuning: DeflateTuning = {}) {
    this.engine = pickEngine(tuning.engine);
    this.noContextTakeover = noContextTakeover;
    const windowBits = deflateWindowBits(maxWindowBits);
    this.options = { windowBits };
    this.options.level = tuning.level ?? DEFAULT_LEVEL;
    if (tuning.memLevel !== undefined) this.options.memLevel = tuning.memLevel;
    if (tuning.strategy !== undefined) this.options.strategy = tuning.strategy;
    if (this.engine === 'stream') {
      this.sync = new SyncZlib(zlib.createDeflateRaw(this.options));
    } else if (!noContextTakeover) {
      this.window = new Window(1 << windowBits);
    }
  }

  compress(data: Uint8Array): Uint8Array {
    if (this.sync) {
      const out: Uint8Array[] = [];
      const n = this.sync.run(data, zlib.constants.Z_SYNC_FLUSH, out, 0, Number.MAX_SAFE_INTEGER);
      if (this.noContextTakeover) this.sync.reset();
      return stripTail(concat(out, n));
    }
    const dictionary = this.window?.get();
    const options: zlib.ZlibOptions = { ...this.options, finishFlush: zlib.constants.Z_SYNC_FLUSH };
    if (dictionary) options.dictionary = dictionary;
    const result = zlib.deflateRawSync(data, options);
    this.window?.push([data]);
    return stripTail(result);
  }

  close(): void {
    this.sync?.close();
  }
}

/**
 * The 4 octets the receiver appends (RFC 7692 7.2.2) and one sentinel octet, inflated with Z_BLOCK,
 * which makes zlib stop at the next block boundary. A well-formed message ends with the header bits
 * of an empty stored block whose LEN/NLEN the tail supplies, so zlib stops right after the tail: the
 * sentinel is left over and nothing is produced (it is never fed, so no window changes). A message
 * cut inside a block reads the tail as that block's data: output, an error, or a different stop.
 */
const TAIL_SENTINEL = new Uint8Array([0x00, 0x00, 0xff, 0xff, 0x00]);

class Truncated extends Error {}

/** Decompresses the messages this side receives, within the budget the codec gives per call. */
export class ZlibMessageDecompressor implements MessageDecompressor {
  readonly engine: ZlibEngineKind;
  private readonly noContextTakeover: boolean;
  private readonly windowBits: number;
  private sync: SyncZlib | undefined;
  private readonly window: Window | undefined;
  /** Stream engine: what was inflated lately, to carry the window over a final block. */
  private readonly history: History | undefined;
  /** Stream engine: the deflate stream ended with a final block; the next input starts a new one. */
  private ended = false;
  /** Stream engine: deflate streams started within the current message, and the budget they cost. */
  private restarts = 0;
  private restartCost = 0;
  /** Stream engine: compressed bytes of the current message so far. */
  private fed = 0;
  /** Stateless engine: compressed frames of the current message, inflated at its end. */
  private pending: Uint8Array[] = [];
  private pendingBytes = 0;
  private broken = false;

  constructor(maxWindowBits: number, noContextTakeover: boolean, tuning: Pick<DeflateTuning, 'engine'> = {}) {
    this.engine = pickEngine(tuning.engine);
    this.noContextTakeover = noContextTakeover;
    // An inflater with a window at least as large as the peer's decodes everything it sends.
    this.windowBits = Math.max(9, Math.min(15, maxWindowBits));
    if (this.engine === 'stream') {
      this.sync = new SyncZlib(zlib.createInflateRaw({ windowBits: this.windowBits }));
      this.history = new History(1 << this.windowBits);
    } else if (!noContextTakeover) {
      this.window = new Window(1 << this.windowBits);
    }
  }

  decompress(data: Uint8Array, fin: boolean, maxOutput: number): InflateResult {
    if (this.broken) return { ok: false, reason: 'corrupt', message: 'the decompressor failed earlier' };
    try {
      return this.sync ? this.streamStep(data, fin, maxOutput) : this.statelessStep(data, fin, maxOutput);
    } catch (err) {
      this.broken = true;
      if (err instanceof TooBig || (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
        return { ok: false, reason: 'too-big', message: `inflated message exceeds ${maxOutput} bytes` };
      }
      if (err instanceof Truncated) {
        return {
          ok: false,
          reason: 'corrupt',
          message: 'compressed message ends inside a deflate block (RFC 7692 7.2.1)',
        };
      }
      const result: InflateResult = {
        ok: false,
        reason: 'corrupt',
        message: `invalid compressed data: ${(err as Error).message}`,
      };
      // zlib's own code (Z_DATA_ERROR, ...), which ws passes through as the error's code.
      const code = (err as { code?: unknown }).code;
      if (typeof code === 'string') result.code = code;
      return result;
    }
  }

  private streamStep(data: Uint8Array, fin: boolean, maxOutput: number): InflateResult {
    const out: Uint8Array[] = [];
    let n = 0;
    if (data.byteLength > 0) {
      n = this.inflate(data, out, n, maxOutput);
      this.fed += data.byteLength;
    }
    if (fin) {
      // A compressed message with no payload at all is read as empty (as ws does) and the tail is not
      // fed; a payload with bytes must end where RFC 7692 7.2.1 says, at an empty stored block's header.
      if (!this.ended && this.fed > 0) {
        const before = n;
        n = this.sync!.run(TAIL_SENTINEL, zlib.constants.Z_BLOCK, out, n, maxOutput - this.restartCost);
        const left = this.sync!.left;
        // All of it left over and nothing produced: the message ended exactly with a final block
        // (no empty stored block after it), so it is complete; the next message starts a new stream.
        if (left === TAIL_SENTINEL.byteLength && n === before) this.ended = true;
        else if (left !== 1 || n !== before) throw new Truncated();
      }
      this.fed = 0;
      this.restarts = 0;
      this.restartCost = 0;
      if (this.noContextTakeover) {
        // RFC 7692 7.2.2: the peer starts every message from an empty window.
        this.history!.clear();
        this.ended = false;
        this.sync!.reset();
        return { ok: true, data: out };
      }
    }
    this.history!.push(out, n);
    return { ok: true, data: out };
  }

  /** A new inflater whose window is what was inflated so far (`out` holds this call's part). */
  private restart(out: Uint8Array[], n: number, maxOutput: number): void {
    const dictionary = this.history!.window(out, n);
    // The first new stream of a message is free; later ones are charged their window against the
    // message budget, so that a run of tiny final blocks cannot make us copy windows without bound.
    if (this.restarts++ > 0) {
      this.restartCost += dictionary.byteLength;
      if (n + this.restartCost > maxOutput) throw new TooBig();
    }
    this.sync!.close();
    const options: zlib.ZlibOptions = { windowBits: this.windowBits };
    if (dictionary.byteLength > 0) options.dictionary = dictionary;
    this.sync = new SyncZlib(zlib.createInflateRaw(options));
    this.ended = false;
  }

  /**
   * Inflates `input`. A block with BFINAL set ends zlib's stream; RFC 7692 7.2.3.4 lets a sender end a
   * message (or a part of one) that way, and what follows is a new deflate stream that may still refer
   * back into the window (7.2.2), so a new inflater takes over with that window as its dictionary.
   */
  private inflate(input: Uint8Array, out: Uint8Array[], n: number, maxOutput: number): number {
    let offset = 0;
    for (;;) {
      const fresh = this.ended;
      if (fresh) this.restart(out, n, maxOutput);
      n = this.sync!.run(input, zlib.constants.Z_SYNC_FLUSH, out, n, maxOutput - this.restartCost, offset);
      const left = this.sync!.left;
      if (left === 0) return n;
      const next = input.byteLength - left;
      // A fresh inflater always consumes something; if not, fail rather than loop.
      if (fresh && next === offset) throw new ZlibError('zlib made no progress', undefined);
      // zlib stopped with input left and room to write: its stream ended with a final block.
      this.ended = true;
      offset = next;
    }
  }
  private statelessStep(data: Uint8Array, fin: boolean, maxOutput: number): InflateResult {
    // Nothing comes out before `fin`, so the codec's budget is the whole message's; a deflate stream
    // that is much larger than its output is hostile (RFC 7692 does not bound it; we do).
    const compressedLimit = maxOutput + Math.ceil(maxOutput / 64) + 1024;
    if (this.pendingBytes + data.byteLength + TAIL.byteLength > compressedLimit) {
      throw new TooBig();
    }
    // The codec may reuse the chunk the frame came in: keep a copy.
    this.pending.push(Buffer.from(data));
    this.pendingBytes += data.byteLength;
    if (!fin) return { ok: true, data: [] };
    this.pending.push(TAIL);
    const input = Buffer.concat(this.pending, this.pendingBytes + TAIL.byteLength);
    this.pending = [];
    this.pendingBytes = 0;
    const pieces: Buffer[] = [];
    let total = 0;
    let offset = 0;
    let charged = 0;
    let pushed = 0;
    let dictionary = this.window?.get();
    let window = this.window;
    for (let stream = 0; ; stream++) {
      const options: zlib.ZlibOptions = {
        windowBits: this.windowBits,
        finishFlush: zlib.constants.Z_SYNC_FLUSH,
        // maxOutputLength must be >= 1; a zero budget is checked below.
        maxOutputLength: Math.max(1, Math.min(maxOutput - total - charged, 0x7fffffff)),
      };
      if (dictionary) options.dictionary = dictionary;
      const { buffer, engine } = inflateRawSyncWithInfo(zlib.inflateRawSync, input.subarray(offset), options);
      total += buffer.byteLength;
      if (total + charged > maxOutput) throw new TooBig();
      if (buffer.byteLength > 0) pieces.push(buffer);
      offset += engine.bytesWritten;
      // zlib stops early only where a final block ended its stream (RFC 7692 7.2.3.4): what follows
      // is a new stream on the same window, unless it is just the (empty stored block and) tail.
      const rest = input.byteLength - offset;
      if (engine.bytesWritten === 0 || rest <= TAIL.byteLength) break;
      if (rest === TAIL.byteLength + 1 && input[offset] === 0) break;
      window ??= new Window(1 << this.windowBits);
      window.push(pieces.slice(pushed));
      pushed = pieces.length;
      dictionary = window.get();
      // As in the stream engine: streams after the second cost their window against the budget.
      if (stream > 0) charged += dictionary?.byteLength ?? 0;
    }
    this.window?.push(pieces.slice(pushed));
    return { ok: true, data: pieces };
  }

  close(): void {
    this.sync?.close();
    this.pending = [];
  }
}

/** Options of the permessage-deflate implementation (negotiation options live in the codec). */
export interface PerMessageDeflateRuntimeOptions extends DeflateTuning {
  /** Messages smaller than this many bytes are sent uncompressed (default 1024, like ws). */
  threshold?: number;
}

/**
 * Builds what the codec's Connection needs from negotiated parameters. `role` says which side we are:
 * the server compresses with the server_* parameters and inflates with the client_* ones.
 */
export function createPerMessageDeflate(
  params: PerMessageDeflateParams,
  role: 'server' | 'client',
  options: PerMessageDeflateRuntimeOptions = {},
): PerMessageDeflate {
  const server = role === 'server';
  const compressor = new ZlibMessageCompressor(
    server ? params.serverMaxWindowBits : params.clientMaxWindowBits,
    server ? params.serverNoContextTakeover : params.clientNoContextTakeover,
    options,
  );
  const decompressor = new ZlibMessageDecompressor(
    server ? params.clientMaxWindowBits : params.serverMaxWindowBits,
    server ? params.clientNoContextTakeover : params.serverNoContextTakeover,
    options.engine === undefined ? {} : { engine: options.engine },
  );
  return { params, compressor, decompressor, threshold: options.threshold ?? 1024 };
}

/**
 * The codec's SharedDeflate on node:zlib: one message with a fresh context (server_no_context_takeover),
 * compressed once for every subscriber of a topic that negotiated it.
 */
export function sharedDeflate(
  tuning: DeflateTuning = {},
): (data: Uint8Array, windowBits: number) => Uint8Array {
  const options: zlib.ZlibOptions = {
    level: tuning.level ?? DEFAULT_LEVEL,
    finishFlush: zlib.constants.Z_SYNC_FLUSH,
  };
  if (tuning.memLevel !== undefined) options.memLevel = tuning.memLevel;
  if (tuning.strategy !== undefined) options.strategy = tuning.strategy;
  return (data, windowBits) =>
    stripTail(zlib.deflateRawSync(data, { ...options, windowBits: deflateWindowBits(windowBits) }));
}
