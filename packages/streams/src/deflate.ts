// permessage-deflate (RFC 7692) for runtimes without node:zlib, on pako's zlib port.
//
// The codec's compressor interfaces are synchronous, so CompressionStream cannot back them. pako is
// zlib itself, ported: one long-lived z_stream per direction gives context takeover for free, a sync
// flush ends every message, window bits 9..15 are zlib's, and driving inflate() with a bounded output
// buffer lets us stop as soon as a message passes its budget. fflate was measured too (README).
//
// Window bits: raw deflate cannot use an 8-bit window (zlib and pako use 9 instead). A peer that asked
// for 8 is still served correctly: deflate never emits a distance above window size - 262 (250 for a
// 9-bit window), so every back-reference fits the peer's 256-byte window.

import {
  ZStream,
  Z_BUF_ERROR,
  Z_DEFAULT_STRATEGY,
  Z_OK,
  Z_STREAM_END,
  Z_SYNC_FLUSH,
  zlibDeflate,
  zlibDeflateEnd,
  zlibDeflateInit2,
  zlibDeflateReset,
  zlibInflate,
  zlibInflateEnd,
  zlibInflateInit2,
  zlibInflateReset,
  zlibInflateResetKeep,
} from 'pako';
import type {
  InflateResult,
  MessageCompressor,
  MessageDecompressor,
  PerMessageDeflate,
  PerMessageDeflateParams,
} from '@rfc6455/codec';

const OUT_CHUNK = 16 * 1024;
const Z_DEFLATED = 8;
/** Appended to every received message before inflating (RFC 7692 7.2.2). */
const TAIL = new Uint8Array([0x00, 0x00, 0xff, 0xff]);
const EMPTY_BLOCK = new Uint8Array([0x00]);

/** Same default as @rfc6455/node: zlib's fast matcher, a third of level 6's time for ~8 % more bytes. */
export const DEFAULT_LEVEL = 3;

export interface DeflateTuning {
  /** Compression level 0..9 (default 3). */
  level?: number;
  /** memLevel 1..9 (default 8). */
  memLevel?: number;
}

function windowBits(bits: number): number {
  return Math.max(9, Math.min(15, bits));
}

function concat(pieces: Uint8Array[], total: number): Uint8Array {
  if (pieces.length === 1) return pieces[0] as Uint8Array;
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of pieces) {
    out.set(p, at);
    at += p.byteLength;
  }
  return out;
}

/** Compresses the messages this side sends: one raw deflate stream, sync-flushed per message. */
export class PakoMessageCompressor implements MessageCompressor {
  private readonly strm = new ZStream();
  private closed = false;

  constructor(
    maxWindowBits: number,
    private readonly noContextTakeover: boolean,
    tuning: DeflateTuning = {},
  ) {
    const status = zlibDeflateInit2(
      this.strm,
      tuning.level ?? DEFAULT_LEVEL,
      Z_DEFLATED,
      -windowBits(maxWindowBits),
      tuning.memLevel ?? 8,
      Z_DEFAULT_STRATEGY,
    );
    if (status !== Z_OK) throw new Error(`pako deflateInit2 failed (${status}): check level and memLevel`);
  }

  compress(data: Uint8Array): Uint8Array {
    if (this.closed) throw new Error('the compressor is closed');
    const strm = this.strm;
    strm.input = data;
    strm.next_in = 0;
    strm.avail_in = data.byteLength;
    const out: Uint8Array[] = [];
    let total = 0;
    do {
      const buf = new Uint8Array(OUT_CHUNK);
      strm.output = buf;
      strm.next_out = 0;
      strm.avail_out = OUT_CHUNK;
      const status = zlibDeflate(strm, Z_SYNC_FLUSH);
      if (status !== Z_OK && status !== Z_BUF_ERROR) throw new Error(`pako deflate failed (${status})`);
      const have = OUT_CHUNK - strm.avail_out;
      if (have > 0) out.push(buf.subarray(0, have));
      total += have;
    } while (strm.avail_out === 0);
    strm.input = EMPTY_BLOCK; // drop the reference to the caller's data
    if (this.noContextTakeover) zlibDeflateReset(strm);
    const all = concat(out, total);
    const n = all.byteLength;
    const tail = n >= 4 && all[n - 4] === 0 && all[n - 3] === 0 && all[n - 2] === 0xff && all[n - 1] === 0xff;
    const body = tail ? all.subarray(0, n - 4) : all;
    // Nothing at all for an empty message: the peer still needs a block (RFC 7692 7.2.3.6).
    return body.byteLength === 0 ? EMPTY_BLOCK : body;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    zlibDeflateEnd(this.strm);
  }
}

class TooBig extends Error {}
class Corrupt extends Error {}

/** Decompresses the messages this side receives, stopping as soon as a message passes its budget. */
export class PakoMessageDecompressor implements MessageDecompressor {
  private readonly strm = new ZStream();
  private broken = false;
  private closed = false;

  constructor(
    maxWindowBits: number,
    private readonly noContextTakeover: boolean,
  ) {
    // A window at least as large as the peer's reads everything it sends.
    const status = zlibInflateInit2(this.strm, -windowBits(maxWindowBits));
    if (status !== Z_OK) throw new Error(`pako inflateInit2 failed (${status})`);
  }

  decompress(data: Uint8Array, fin: boolean, maxOutput: number): InflateResult {
    if (this.broken || this.closed) {
      return { ok: false, reason: 'corrupt', message: 'the decompressor failed earlier' };
    }
    const out: Uint8Array[] = [];
    try {
      const n = this.inflate(data, out, 0, maxOutput);
      if (fin) {
        this.inflate(TAIL, out, n, maxOutput);
        // RFC 7692 7.2.2: without context takeover the peer starts every message from an empty window.
        if (this.noContextTakeover) zlibInflateReset(this.strm);
      }
      return { ok: true, data: out };
    } catch (err) {
      this.broken = true;
      if (err instanceof TooBig) {
        return { ok: false, reason: 'too-big', message: `inflated message exceeds ${maxOutput} bytes` };
      }
      return { ok: false, reason: 'corrupt', message: `invalid compressed data: ${(err as Error).message}` };
    }
  }

  private inflate(input: Uint8Array, out: Uint8Array[], produced: number, maxOutput: number): number {
    const strm = this.strm;
    strm.input = input;
    strm.next_in = 0;
    strm.avail_in = input.byteLength;
    for (;;) {
      const buf = new Uint8Array(OUT_CHUNK);
      strm.output = buf;
      strm.next_out = 0;
      strm.avail_out = OUT_CHUNK;
      const status = zlibInflate(strm, Z_SYNC_FLUSH);
      const have = OUT_CHUNK - strm.avail_out;
      if (have > 0) {
        out.push(buf.subarray(0, have));
        produced += have;
        if (produced > maxOutput) throw new TooBig();
      }
      if (status === Z_STREAM_END) {
        // A block with BFINAL ended the deflate stream (RFC 7692 7.2.3.4); what follows is a new stream
        // that may refer back into the same window, so reset the state but keep the window.
        zlibInflateResetKeep(strm);
        if (strm.avail_in === 0) break;
        continue;
      }
      if (status !== Z_OK && status !== Z_BUF_ERROR) throw new Corrupt(strm.msg || `status ${status}`);
      // A full output buffer means inflate may have more to give, even with no input left.
      if (strm.avail_out !== 0) break;
    }
    strm.input = EMPTY_BLOCK;
    return produced;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    zlibInflateEnd(this.strm);
  }
}

/** Options of the permessage-deflate implementation (the negotiation options live in the codec). */
export interface DeflateRuntimeOptions extends DeflateTuning {
  /** Messages smaller than this many bytes are sent uncompressed (default 1024, like ws). */
  threshold?: number;
}

/** What the codec's Connection needs, on pako. The server compresses with the server_* parameters. */
export function createPakoPerMessageDeflate(
  params: PerMessageDeflateParams,
  role: 'server' | 'client',
  options: DeflateRuntimeOptions = {},
): PerMessageDeflate {
  const server = role === 'server';
  const compressor = new PakoMessageCompressor(
    server ? params.serverMaxWindowBits : params.clientMaxWindowBits,
    server ? params.serverNoContextTakeover : params.clientNoContextTakeover,
    options,
  );
  const decompressor = new PakoMessageDecompressor(
    server ? params.clientMaxWindowBits : params.serverMaxWindowBits,
    server ? params.clientNoContextTakeover : params.serverNoContextTakeover,
  );
  return { params, compressor, decompressor, threshold: options.threshold ?? 1024 };
}

/** Builds the compressor pair for negotiated parameters (pako's, node:zlib's or your own). */
export type DeflateFactory = (
  params: PerMessageDeflateParams,
  role: 'server' | 'client',
  options: DeflateRuntimeOptions,
) => PerMessageDeflate;

/** Which engine backs permessage-deflate: 'auto' (node:zlib where it loads, else pako), or one of them. */
export type DeflateEngine = 'auto' | 'node:zlib' | 'pako' | DeflateFactory;

let nodeFactory: Promise<DeflateFactory | null> | undefined;

/**
 * node:zlib through @rfc6455/node's engine (an optional peer dependency), or null where it does not
 * load: a runtime without node:zlib, or a bundle without @rfc6455/node. The specifier is a variable so
 * that bundlers and type checkers for such runtimes never try to resolve it.
 */
function loadNodeFactory(): Promise<DeflateFactory | null> {
  const specifier = '@rfc6455/node';
  nodeFactory ??= (import(specifier) as Promise<{ createPerMessageDeflate?: DeflateFactory }>).then(
    (mod) => (typeof mod.createPerMessageDeflate === 'function' ? mod.createPerMessageDeflate : null),
    () => null,
  );
  return nodeFactory;
}

/** The factory for `engine`; throws when 'node:zlib' is asked for and does not load. */
export async function resolveDeflateEngine(engine: DeflateEngine = 'auto'): Promise<DeflateFactory> {
  if (typeof engine === 'function') return engine;
  if (engine === 'pako') return createPakoPerMessageDeflate;
  if (engine !== 'auto' && engine !== 'node:zlib') {
    throw new Error(`deflateEngine must be 'auto', 'node:zlib', 'pako' or a function, got ${String(engine)}`);
  }
  const node = await loadNodeFactory();
  if (node) return node;
  if (engine === 'node:zlib') {
    throw new Error("deflateEngine 'node:zlib' needs @rfc6455/node and node:zlib; use 'auto' or 'pako'");
  }
  return createPakoPerMessageDeflate;
}
