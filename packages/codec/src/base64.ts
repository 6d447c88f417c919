// Base64 (RFC 4648 section 4, the standard alphabet with padding), for Sec-WebSocket-Key and -Accept.

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

// Char code -> 6-bit value, or -1 for anything outside the alphabet.
const DECODE = new Int8Array(128).fill(-1);
for (let i = 0; i < 64; i++) DECODE[ALPHABET.charCodeAt(i)] = i;
const CODES = new Uint8Array(64);
for (let i = 0; i < 64; i++) CODES[i] = ALPHABET.charCodeAt(i);

/** Encodes bytes as padded standard base64. */
export function base64Encode(bytes: Uint8Array): string {
  let out = '';
  const n = bytes.length;
  const whole = n - (n % 3);
  for (let i = 0; i < whole; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out += ALPHABET[v >>> 18]! + ALPHABET[(v >>> 12) & 63]! + ALPHABET[(v >>> 6) & 63]! + ALPHABET[v & 63]!;
  }
  if (n - whole === 1) {
    const v = bytes[whole]! << 16;
    out += ALPHABET[v >>> 18]! + ALPHABET[(v >>> 12) & 63]! + '==';
  } else if (n - whole === 2) {
    const v = (bytes[whole]! << 16) | (bytes[whole + 1]! << 8);
    out += ALPHABET[v >>> 18]! + ALPHABET[(v >>> 12) & 63]! + ALPHABET[(v >>> 6) & 63]! + '=';
  }
  return out;
}

/** Writes the padded base64 of `bytes` as ASCII codes into `out` at `at`; returns the end offset. */
export function base64EncodeInto(bytes: Uint8Array, out: Uint8Array, at: number): number {
  const n = bytes.length;
  const whole = n - (n % 3);
  let o = at;
  for (let i = 0; i < whole; i += 3) {
    const v = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out[o++] = CODES[v >>> 18]!;
    out[o++] = CODES[(v >>> 12) & 63]!;
    out[o++] = CODES[(v >>> 6) & 63]!;
    out[o++] = CODES[v & 63]!;
  }
  if (n > whole) {
    const v = (bytes[whole]! << 16) | (n - whole === 2 ? bytes[whole + 1]! << 8 : 0);
    out[o++] = CODES[v >>> 18]!;
    out[o++] = CODES[(v >>> 12) & 63]!;
    out[o++] = n - whole === 2 ? CODES[(v >>> 6) & 63]! : 0x3d;
    out[o++] = 0x3d;
  }
  return o;
}

/** True for a character of the base64 alphabet (padding excluded). */
export function isBase64Char(code: number): boolean {
  return code < 128 && DECODE[code]! >= 0;
}

export interface Base64DecodeOptions {
  /**
   * Accept non-zero bits in the unused low bits of the last character (RFC 4648 3.5 lets decoders
   * reject them; default false: rejected, so every accepted string is the canonical encoding).
   */
  allowNonZeroPadBits?: boolean;
}

/**
 * Decodes strict padded standard base64: length a multiple of 4, only the alphabet, at most two `=`
 * and only at the end, no whitespace. Returns null for anything else.
 */
export function base64Decode(text: string, options: Base64DecodeOptions = {}): Uint8Array | null {
  const n = text.length;
  if (n % 4 !== 0) return null;
  if (n === 0) return new Uint8Array(0);
  let pad = 0;
  if (text.charCodeAt(n - 1) === 0x3d) pad = text.charCodeAt(n - 2) === 0x3d ? 2 : 1;
  const out = new Uint8Array((n / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < n; i += 4) {
    const last = i + 4 === n;
    const a = sextet(text, i);
    const b = sextet(text, i + 1);
    const c = last && pad === 2 ? 0 : sextet(text, i + 2);
    const d = last && pad >= 1 ? 0 : sextet(text, i + 3);
    if ((a | b | c | d) < 0) return null;
    const v = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = v >>> 16;
    if (last && pad === 2) {
      if ((v & 0xffff) !== 0 && options.allowNonZeroPadBits !== true) return null;
      break;
    }
    out[o++] = (v >>> 8) & 0xff;
    if (last && pad === 1) {
      if ((v & 0xff) !== 0 && options.allowNonZeroPadBits !== true) return null;
      break;
    }
    out[o++] = v & 0xff;
  }
  return out;
}

function sextet(text: string, i: number): number {
  const code = text.charCodeAt(i);
  return code < 128 ? DECODE[code]! : -1;
}
