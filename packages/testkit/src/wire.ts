// Frames as they travel, for the fuzzer: a client frame builder that can break every rule on purpose,
// and a reader for the server's frames. Independent of the codec, so a codec bug cannot hide itself.

export const OP_CONTINUATION = 0x0;
export const OP_TEXT = 0x1;
export const OP_BINARY = 0x2;
export const OP_CLOSE = 0x8;
export const OP_PING = 0x9;
export const OP_PONG = 0xa;

/** One frame a client sends; every field may break the protocol (that is the point of some of them). */
export interface WireFrame {
  fin: boolean;
  /** RSV1..RSV3 as the top bits of a 3-bit number: 4 = RSV1, 2 = RSV2, 1 = RSV3. */
  rsv: number;
  opcode: number;
  payload: Uint8Array;
  /** The masking key; null sends the frame unmasked (a violation from a client). */
  mask: number | null;
  /** Sets the top bit of a 64-bit length (a violation); the real length follows in the low bits. */
  lengthTopBit?: boolean;
}

export function encodeFrame(frame: WireFrame): Uint8Array {
  const length = frame.payload.length;
  const wide = frame.lengthTopBit === true || length > 0xffff;
  const extended = wide ? 8 : length > 125 ? 2 : 0;
  const maskBytes = frame.mask === null ? 0 : 4;
  const out = new Uint8Array(2 + extended + maskBytes + length);
  out[0] = (frame.fin ? 0x80 : 0) | ((frame.rsv & 7) << 4) | (frame.opcode & 0x0f);
  const maskBit = frame.mask === null ? 0 : 0x80;
  if (extended === 0) {
    out[1] = maskBit | length;
  } else if (extended === 2) {
    out[1] = maskBit | 126;
    out[2] = length >>> 8;
    out[3] = length & 0xff;
  } else {
    out[1] = maskBit | 127;
    const view = new DataView(out.buffer);
    view.setUint32(2, frame.lengthTopBit === true ? 0x80000000 : Math.floor(length / 2 ** 32));
    view.setUint32(6, length >>> 0);
  }
  const start = 2 + extended + maskBytes;
  if (frame.mask === null) {
    out.set(frame.payload, start);
  } else {
    const key = [frame.mask >>> 24, (frame.mask >>> 16) & 0xff, (frame.mask >>> 8) & 0xff, frame.mask & 0xff];
    out.set(key, 2 + extended);
    for (let i = 0; i < length; i++) out[start + i] = frame.payload[i]! ^ key[i & 3]!;
  }
  return out;
}

/** A frame the server sent, as read from the wire. */
export interface ServerFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  payload: Uint8Array;
}

/** Reads whole frames from the front of `bytes`; returns them and how many bytes they took. */
export function readFrames(bytes: Uint8Array): { frames: ServerFrame[]; used: number } {
  const frames: ServerFrame[] = [];
  let at = 0;
  while (bytes.length - at >= 2) {
    const b0 = bytes[at]!;
    const b1 = bytes[at + 1]!;
    const len7 = b1 & 0x7f;
    const extended = len7 === 126 ? 2 : len7 === 127 ? 8 : 0;
    const masked = (b1 & 0x80) !== 0;
    const head = 2 + extended + (masked ? 4 : 0);
    if (bytes.length - at < head) break;
    const view = new DataView(bytes.buffer, bytes.byteOffset + at, head);
    const length =
      extended === 0
        ? len7
        : extended === 2
          ? view.getUint16(2)
          : view.getUint32(2) * 2 ** 32 + view.getUint32(6);
    if (bytes.length - at - head < length) break;
    let payload = bytes.slice(at + head, at + head + length);
    if (masked) {
      const key = bytes.subarray(at + head - 4, at + head);
      payload = payload.map((b, i) => b ^ key[i & 3]!);
    }
    frames.push({ fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0x0f, masked, payload });
    at += head + length;
  }
  return { frames, used: at };
}

/** `0a 1b ff …`: bytes for a human, in lines of 32. */
export function hex(bytes: Uint8Array): string {
  const lines: string[] = [];
  for (let i = 0; i < bytes.length; i += 32) {
    lines.push([...bytes.subarray(i, i + 32)].map((b) => b.toString(16).padStart(2, '0')).join(' '));
  }
  return lines.join('\n');
}
