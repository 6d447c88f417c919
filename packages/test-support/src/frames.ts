// The one frame builder and frame reader for every package's tests: frames exactly as described,
// including ones no encoder would make (reserved bits, unmasked client frames, lying lengths).
// The builder returns plain Uint8Array so the codec's tests compare it with the codec's output.

export interface FrameSpec {
  opcode: number;
  payload?: Uint8Array | string;
  fin?: boolean;
  rsv1?: boolean;
  rsv2?: boolean;
  rsv3?: boolean;
  /**
   * Masking (RFC 6455 5.3): true or unset masks with TEST_KEY, a number masks with that 32-bit key
   * (0 keeps the payload readable in dumps), false sends the frame unmasked (as a server does).
   */
  mask?: boolean | number;
  /** Force the length form: 7, 16 or 64 bits. Default: the minimal one (RFC 6455 5.2). */
  lengthBits?: 7 | 16 | 64;
  /** Announce this length instead of the payload's (for lies about the size). */
  length?: bigint;
}

export const TEST_KEY = 0x37fa213d;

const encoder = new TextEncoder();

export function bytesOf(payload: Uint8Array | string | undefined): Uint8Array {
  if (payload === undefined) return new Uint8Array(0);
  return typeof payload === 'string' ? encoder.encode(payload) : payload;
}

/** One frame's bytes exactly as described (no checks: that is the point). */
export function frame(spec: FrameSpec): Uint8Array {
  const payload = bytesOf(spec.payload);
  const key =
    spec.mask === false ? null : spec.mask === true || spec.mask === undefined ? TEST_KEY : spec.mask;
  const length = spec.length ?? BigInt(payload.length);
  const bits = spec.lengthBits ?? (length < 126n ? 7 : length < 0x10000n ? 16 : 64);
  const header: number[] = [
    ((spec.fin ?? true) ? 0x80 : 0) |
      (spec.rsv1 ? 0x40 : 0) |
      (spec.rsv2 ? 0x20 : 0) |
      (spec.rsv3 ? 0x10 : 0) |
      (spec.opcode & 0x0f),
  ];
  const maskBit = key === null ? 0 : 0x80;
  if (bits === 7) header.push(maskBit | Number(length));
  else if (bits === 16) header.push(maskBit | 126, Number(length >> 8n) & 0xff, Number(length & 0xffn));
  else {
    header.push(maskBit | 127);
    for (let shift = 56n; shift >= 0n; shift -= 8n) header.push(Number((length >> shift) & 0xffn));
  }
  if (key !== null) header.push(key >>> 24, (key >>> 16) & 0xff, (key >>> 8) & 0xff, key & 0xff);
  const out = new Uint8Array(header.length + payload.length);
  out.set(header);
  out.set(payload, header.length);
  if (key !== null) {
    const start = header.length;
    for (let i = 0; i < payload.length; i++) out[start + i]! ^= header[start - 4 + (i & 3)]!;
  }
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

/** A close frame payload: code (2 bytes, big-endian) and reason (RFC 6455 5.5.1). */
export function closePayload(code: number, reason = ''): Uint8Array {
  return concatBytes([new Uint8Array([code >>> 8, code & 0xff]), encoder.encode(reason)]);
}

/** Close frame payload -> [code, reason]; [1005, ''] when empty (RFC 6455 7.1.5). */
export function closeOf(payload: Uint8Array): [number, string] {
  if (payload.length < 2) return [1005, ''];
  return [(payload[0]! << 8) | payload[1]!, new TextDecoder().decode(payload.subarray(2))];
}

export interface ParsedFrame {
  fin: boolean;
  rsv1: boolean;
  opcode: number;
  masked: boolean;
  /** A view of the received bytes, still masked if the frame was (the key is the 4 bytes before it). */
  payload: Buffer;
}

/** Incremental frame parser: push what arrives, complete frames come out (and stay in `frames`). */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);
  readonly frames: ParsedFrame[] = [];
  push(chunk: Uint8Array): ParsedFrame[] {
    const bytes = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    this.buf = this.buf.length === 0 ? bytes : Buffer.concat([this.buf, bytes]);
    const out: ParsedFrame[] = [];
    for (;;) {
      if (this.buf.length < 2) break;
      const b0 = this.buf[0]!;
      const b1 = this.buf[1]!;
      let len = b1 & 0x7f;
      let off = 2;
      if (len === 126) {
        if (this.buf.length < 4) break;
        len = this.buf.readUInt16BE(2);
        off = 4;
      } else if (len === 127) {
        if (this.buf.length < 10) break;
        len = Number(this.buf.readBigUInt64BE(2));
        off = 10;
      }
      const masked = (b1 & 0x80) !== 0;
      if (masked) off += 4; // the masking key sits just before the payload
      if (this.buf.length < off + len) break;
      const f = {
        fin: (b0 & 0x80) !== 0,
        rsv1: (b0 & 0x40) !== 0,
        opcode: b0 & 0x0f,
        masked,
        payload: this.buf.subarray(off, off + len),
      };
      this.buf = this.buf.subarray(off + len);
      out.push(f);
      this.frames.push(f);
    }
    return out;
  }
  /** Bytes of an incomplete frame still waiting for the rest. */
  get pending(): number {
    return this.buf.length;
  }
}

export interface ReadFrame {
  opcode: number;
  fin: boolean;
  rsv1: boolean;
  masked: boolean;
  payload: Uint8Array;
}

/** Reads complete frames from written buffers (unmasked copies). Throws on leftover bytes. */
export function readFrames(parts: readonly Uint8Array[]): ReadFrame[] {
  const reader = new FrameReader();
  reader.push(concatBytes(parts));
  if (reader.pending !== 0) throw new Error(`incomplete frame: ${reader.pending} bytes left over`);
  return reader.frames.map((f) => {
    const payload = new Uint8Array(f.payload);
    if (f.masked) {
      const key = new Uint8Array(f.payload.buffer, f.payload.byteOffset - 4, 4);
      for (let i = 0; i < payload.length; i++) payload[i]! ^= key[i & 3]!;
    }
    return { opcode: f.opcode, fin: f.fin, rsv1: f.rsv1, masked: f.masked, payload };
  });
}
