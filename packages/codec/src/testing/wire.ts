// Test helpers: build raw frames (including ones no encoder would make) and read frames back.
import { decodeHeader, maskInPlace, newFrameHeader } from '../frames.js';
import { decodeUtf8, encodeUtf8 } from '../text.js';

export interface RawFrame {
  opcode: number;
  payload?: Uint8Array | string;
  fin?: boolean;
  rsv1?: boolean;
  rsv2?: boolean;
  rsv3?: boolean;
  /** Masking key as a 32-bit number; null for an unmasked frame. Default: masked with 0x37fa213d. */
  mask?: number | null;
  /** Force the length form: 7, 16 or 64 bits. Default: minimal. */
  lengthBits?: 7 | 16 | 64;
}

export const TEST_KEY = 0x37fa213d;

export function bytesOf(payload: Uint8Array | string | undefined): Uint8Array {
  if (payload === undefined) return new Uint8Array(0);
  return typeof payload === 'string' ? encodeUtf8(payload) : payload;
}

/** One frame's bytes exactly as described. */
export function rawFrame(frame: RawFrame): Uint8Array {
  const payload = bytesOf(frame.payload);
  const mask = frame.mask === undefined ? TEST_KEY : frame.mask;
  const n = payload.length;
  const bits = frame.lengthBits ?? (n < 126 ? 7 : n < 0x10000 ? 16 : 64);
  const header: number[] = [
    ((frame.fin ?? true) ? 0x80 : 0) |
      (frame.rsv1 ? 0x40 : 0) |
      (frame.rsv2 ? 0x20 : 0) |
      (frame.rsv3 ? 0x10 : 0) |
      frame.opcode,
  ];
  const maskBit = mask === null ? 0 : 0x80;
  if (bits === 7) header.push(maskBit | n);
  else if (bits === 16) header.push(maskBit | 126, n >>> 8, n & 0xff);
  else {
    const high = Math.floor(n / 2 ** 32);
    header.push(
      maskBit | 127,
      0,
      0,
      (high >>> 8) & 0xff,
      high & 0xff,
      n >>> 24,
      (n >>> 16) & 0xff,
      (n >>> 8) & 0xff,
      n & 0xff,
    );
  }
  if (mask !== null) header.push(mask >>> 24, (mask >>> 16) & 0xff, (mask >>> 8) & 0xff, mask & 0xff);
  const out = new Uint8Array(header.length + n);
  out.set(header);
  out.set(payload, header.length);
  if (mask !== null) maskInPlace(out, header.length, out.length, mask);
  return out;
}

export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const p of parts) size += p.length;
  const out = new Uint8Array(size);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export interface ReadFrame {
  opcode: number;
  fin: boolean;
  rsv1: boolean;
  masked: boolean;
  payload: Uint8Array;
}

/** Reads complete frames from written buffers (unmasking copies). Throws on leftover bytes. */
export function readFrames(parts: readonly Uint8Array[]): ReadFrame[] {
  const bytes = concatBytes(parts);
  const frames: ReadFrame[] = [];
  const h = newFrameHeader();
  let pos = 0;
  while (pos < bytes.length) {
    const n = decodeHeader(bytes, pos, bytes.length, h);
    if (n <= 0 || pos + n + h.payloadLength > bytes.length) throw new Error(`incomplete frame at ${pos}`);
    const payload = bytes.slice(pos + n, pos + n + h.payloadLength);
    if (h.masked) maskInPlace(payload, 0, payload.length, h.maskKey);
    frames.push({ opcode: h.opcode, fin: h.fin, rsv1: h.rsv1, masked: h.masked, payload });
    pos += n + h.payloadLength;
  }
  return frames;
}

/** Close frame payload -> [code, reason]; [1005, ''] when empty. */
export function closeOf(payload: Uint8Array): [number, string] {
  if (payload.length < 2) return [1005, ''];
  return [(payload[0]! << 8) | payload[1]!, decodeUtf8(payload.subarray(2))];
}
