// RFC 6455 5.2: the base framing protocol. Opcodes, header decode and encode.
import { maskInPlace, readMaskKey } from './mask.js';

export { maskInPlace, readMaskKey } from './mask.js';

/** RFC 6455 5.2 and 11.8: the opcodes with a meaning; every other value is reserved. */
export const Opcode = {
  Continuation: 0x0,
  Text: 0x1,
  Binary: 0x2,
  Close: 0x8,
  Ping: 0x9,
  Pong: 0xa,
} as const;
export type Opcode = (typeof Opcode)[keyof typeof Opcode];
export type DataOpcode = typeof Opcode.Continuation | typeof Opcode.Text | typeof Opcode.Binary;
export type ControlOpcode = typeof Opcode.Close | typeof Opcode.Ping | typeof Opcode.Pong;

/** RFC 6455 5.5: control frames have the most significant opcode bit set. */
export function isControlOpcode(opcode: number): boolean {
  return (opcode & 0x8) !== 0;
}

/** True for the six opcodes RFC 6455 defines; 0x3-0x7 and 0xB-0xF are reserved (5.2). */
export function isKnownOpcode(opcode: number): opcode is Opcode {
  return opcode <= 0x2 || (opcode >= 0x8 && opcode <= 0xa);
}

/** RFC 6455 5.5: control frame payloads are at most 125 bytes. */
export const MAX_CONTROL_PAYLOAD = 125;

/** A decoded frame header. Mutable so that a connection can decode into one object it reuses. */
export interface FrameHeader {
  fin: boolean;
  rsv1: boolean;
  rsv2: boolean;
  rsv3: boolean;
  /** Any 4-bit value; reserved ones are the caller's to reject (see isKnownOpcode). */
  opcode: number;
  masked: boolean;
  /** The masking key as a big-endian 32-bit number (first octet in the top bits); 0 when unmasked. */
  maskKey: number;
  payloadLength: number;
  /** Bytes the header occupied: 2 to 14. */
  headerLength: number;
}

export function newFrameHeader(): FrameHeader {
  return {
    fin: false,
    rsv1: false,
    rsv2: false,
    rsv3: false,
    opcode: 0,
    masked: false,
    maskKey: 0,
    payloadLength: 0,
    headerLength: 0,
  };
}

/** decodeHeader result: more bytes are needed; nothing was consumed. */
export const HEADER_INCOMPLETE = 0;
/** decodeHeader result: a 64-bit length with its most significant bit set (RFC 6455 5.2). */
export const HEADER_LENGTH_TOP_BIT = -1;
/** decodeHeader result: a 64-bit length above Number.MAX_SAFE_INTEGER, too large for any limit. */
export const HEADER_LENGTH_UNSAFE = -2;

/**
 * Decodes the frame header starting at `bytes[offset]`, reading no further than `end`, into `out`.
 * Returns the header length (2..14), HEADER_INCOMPLETE, or a negative HEADER_LENGTH_* error.
 * Non-minimal length encodings (say 5 in the 16-bit form) are accepted: RFC 6455 5.2 says
 * "the minimal number of bytes MUST be used" for senders only, and accepting them costs nothing.
 */
export function decodeHeader(bytes: Uint8Array, offset: number, end: number, out: FrameHeader): number {
  const available = end - offset;
  if (available < 2) return HEADER_INCOMPLETE;
  const b0 = bytes[offset]!;
  const b1 = bytes[offset + 1]!;
  const masked = (b1 & 0x80) !== 0;
  const len7 = b1 & 0x7f;
  const extended = len7 < 126 ? 0 : len7 === 126 ? 2 : 8;
  const headerLength = 2 + extended + (masked ? 4 : 0);
  if (available < headerLength) return HEADER_INCOMPLETE;
  let payloadLength = len7;
  if (extended === 2) {
    payloadLength = (bytes[offset + 2]! << 8) | bytes[offset + 3]!;
  } else if (extended === 8) {
    const high = readUint32(bytes, offset + 2);
    if (high >= 0x80000000) return HEADER_LENGTH_TOP_BIT;
    // 2^53 - 1 is the largest integer a double holds exactly: high may use 21 bits.
    if (high > 0x1fffff) return HEADER_LENGTH_UNSAFE;
    payloadLength = high * 0x100000000 + readUint32(bytes, offset + 6);
  }
  out.fin = (b0 & 0x80) !== 0;
  out.rsv1 = (b0 & 0x40) !== 0;
  out.rsv2 = (b0 & 0x20) !== 0;
  out.rsv3 = (b0 & 0x10) !== 0;
  out.opcode = b0 & 0x0f;
  out.masked = masked;
  out.maskKey = masked ? readMaskKey(bytes, offset + headerLength - 4) : 0;
  out.payloadLength = payloadLength;
  out.headerLength = headerLength;
  return headerLength;
}

function readUint32(bytes: Uint8Array, offset: number): number {
  return (
    ((bytes[offset]! << 24) | (bytes[offset + 1]! << 16) | (bytes[offset + 2]! << 8) | bytes[offset + 3]!) >>>
    0
  );
}

/** Header size for a payload length, with or without a masking key. */
export function headerSize(payloadLength: number, masked: boolean): number {
  return (payloadLength < 126 ? 2 : payloadLength < 0x10000 ? 4 : 10) + (masked ? 4 : 0);
}

/** Writes a frame header into `target` at `offset` (which must have headerSize() bytes). Returns its length. */
export function writeHeader(
  target: Uint8Array,
  offset: number,
  opcode: number,
  payloadLength: number,
  fin: boolean,
  rsv1: boolean,
  maskKey: number | null,
): number {
  target[offset] = (fin ? 0x80 : 0) | (rsv1 ? 0x40 : 0) | opcode;
  const maskBit = maskKey === null ? 0 : 0x80;
  let i = offset + 2;
  if (payloadLength < 126) {
    target[offset + 1] = maskBit | payloadLength;
  } else if (payloadLength < 0x10000) {
    target[offset + 1] = maskBit | 126;
    target[i++] = payloadLength >>> 8;
    target[i++] = payloadLength & 0xff;
  } else {
    target[offset + 1] = maskBit | 127;
    const high = Math.floor(payloadLength / 0x100000000);
    const low = payloadLength >>> 0;
    target[i++] = high >>> 24;
    target[i++] = (high >>> 16) & 0xff;
    target[i++] = (high >>> 8) & 0xff;
    target[i++] = high & 0xff;
    target[i++] = low >>> 24;
    target[i++] = (low >>> 16) & 0xff;
    target[i++] = (low >>> 8) & 0xff;
    target[i++] = low & 0xff;
  }
  if (maskKey !== null) {
    target[i++] = maskKey >>> 24;
    target[i++] = (maskKey >>> 16) & 0xff;
    target[i++] = (maskKey >>> 8) & 0xff;
    target[i++] = maskKey & 0xff;
  }
  return i - offset;
}

/** Encodes a header on its own. */
export function encodeHeader(
  opcode: number,
  payloadLength: number,
  fin = true,
  rsv1 = false,
  maskKey: number | null = null,
): Uint8Array {
  const header = new Uint8Array(headerSize(payloadLength, maskKey !== null));
  writeHeader(header, 0, opcode, payloadLength, fin, rsv1, maskKey);
  return header;
}

/**
 * Masked frames up to this size are carved from a shared slab: a typed array over 64 bytes gets
 * its own zero-filled backing store, which costs microseconds per frame. Slab bytes are never
 * reused, so a view stays valid for as long as the caller holds it.
 */
const SLAB_SIZE = 128 * 1024;
const SLAB_MAX_FRAME = 16 * 1024;
let slab: Uint8Array | null = null;
let slabPos = 0;

function allocate(size: number): Uint8Array {
  if (size > SLAB_MAX_FRAME) return new Uint8Array(size);
  if (slab === null || slabPos + size > SLAB_SIZE) {
    slab = new Uint8Array(SLAB_SIZE);
    slabPos = 0;
  }
  const block = slab.subarray(slabPos, slabPos + size);
  slabPos = (slabPos + size + 7) & ~7; // next block 8-aligned, so its payload (at +16) is 4-aligned
  return block;
}

/**
 * Encodes one frame as the buffers to write, in order: [header, payload], or [header] when the
 * payload is empty. Unmasked, the payload is the caller's array itself (no copy). Masked (the
 * client role), the payload is a masked copy, so the caller's buffer is never changed; header and
 * copy share one block, the copy starting at a 4-aligned offset for the word-wide XOR.
 */
export function encodeFrame(
  opcode: number,
  payload: Uint8Array,
  fin = true,
  rsv1 = false,
  maskKey: number | null = null,
): Uint8Array[] {
  const out: Uint8Array[] = [];
  encodeFrameInto(out, opcode, payload, fin, rsv1, maskKey);
  return out;
}

/** encodeFrame, appending the buffers to `out` (the connection's output queue) instead of a new array. */
export function encodeFrameInto(
  out: Uint8Array[],
  opcode: number,
  payload: Uint8Array,
  fin: boolean,
  rsv1: boolean,
  maskKey: number | null,
): void {
  const length = payload.length;
  if (maskKey === null) {
    out.push(encodeHeader(opcode, length, fin, rsv1, null));
    if (length !== 0) out.push(payload);
    return;
  }
  const size = headerSize(length, true);
  const block = allocate(16 + length);
  const headerStart = 16 - size;
  writeHeader(block, headerStart, opcode, length, fin, rsv1, maskKey);
  out.push(block.subarray(headerStart, 16));
  if (length === 0) return;
  block.set(payload, 16);
  maskInPlace(block, 16, 16 + length, maskKey, 0);
  out.push(block.subarray(16, 16 + length));
}

/**
 * One frame in one buffer (header and payload copied together): for the small control frames the
 * connection queues itself (pongs, close frames), so a queued frame never pins a received chunk.
 */
export function encodeFrameWhole(
  opcode: number,
  payload: Uint8Array,
  fin: boolean,
  maskKey: number | null,
): Uint8Array {
  const length = payload.length;
  const size = headerSize(length, maskKey !== null);
  const frame = new Uint8Array(size + length);
  writeHeader(frame, 0, opcode, length, fin, false, maskKey);
  frame.set(payload, size);
  if (maskKey !== null) maskInPlace(frame, size, size + length, maskKey, 0);
  return frame;
}
