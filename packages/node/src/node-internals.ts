// The Node internals this package reads on purpose, in one place. Node's type declarations leave
// them out; each use below has a version floor (Node >= 20, the package's) or a fallback.
import type zlib from 'node:zlib';
import type http from 'node:http';

/** zlib's native handle: writeSync runs one inflate/deflate step synchronously. */
export interface NativeHandle {
  writeSync(
    flush: number,
    input: Uint8Array,
    inOff: number,
    inLen: number,
    out: Uint8Array,
    outOff: number,
    outLen: number,
  ): void;
}

/** A zlib stream's handle and its [availOutAfter, availInAfter] state, when this Node has them. */
export function zlibHandle(
  stream: zlib.DeflateRaw | zlib.InflateRaw,
): { handle: NativeHandle; state: Uint32Array } | null {
  const handle: unknown = Reflect.get(stream, '_handle');
  const state: unknown = Reflect.get(stream, '_writeState');
  if (
    typeof handle !== 'object' ||
    handle === null ||
    typeof Reflect.get(handle, 'writeSync') !== 'function'
  ) {
    return null;
  }
  // Not instanceof Uint32Array: a test runner's realm may differ from Node's.
  if (!ArrayBuffer.isView(state) || (state as Uint32Array).length < 2) return null;
  return { handle: handle as NativeHandle, state: state as Uint32Array };
}

/** zlib.inflateRawSync with `info: true` returns the engine too (Node's types say only Buffer). */
export function inflateRawSyncWithInfo(
  inflateRawSync: typeof zlib.inflateRawSync,
  input: Uint8Array,
  options: zlib.ZlibOptions,
): { buffer: Buffer; engine: { bytesWritten: number } } {
  const result: unknown = inflateRawSync(input, { ...options, info: true });
  return result as { buffer: Buffer; engine: { bytesWritten: number } };
}

/**
 * What node:http's own parser calls on a request it parsed: `req.headers` is then built on first use,
 * folding repeats exactly as Node does (set-cookie as a list, and so on).
 */
export function addHeaderLines(req: http.IncomingMessage, raw: string[]): void {
  const add: unknown = Reflect.get(req, '_addHeaderLines');
  if (typeof add !== 'function')
    throw new Error('this Node has no IncomingMessage._addHeaderLines; use Node >= 20');
  Reflect.apply(add, req, [raw, raw.length]);
}
