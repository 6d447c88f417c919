// String <-> UTF-8 bytes. Uses the runtime's TextEncoder/TextDecoder when present; the pure
// fallbacks keep the codec working in a bare ECMAScript context (no Web APIs at all).

interface NativeEncoder {
  encode(input: string): Uint8Array;
}
interface NativeDecoder {
  decode(input: Uint8Array): string;
}
interface TextGlobals {
  TextEncoder?: new () => NativeEncoder;
  TextDecoder?: new (label?: string) => NativeDecoder;
}

const globals = globalThis as TextGlobals;
const nativeEncoder: NativeEncoder | null =
  typeof globals.TextEncoder === 'function' ? new globals.TextEncoder() : null;
const nativeDecoder: NativeDecoder | null =
  typeof globals.TextDecoder === 'function' ? new globals.TextDecoder('utf-8') : null;

/** Encodes a string as UTF-8; lone surrogates become U+FFFD, as TextEncoder does. */
export function encodeUtf8(text: string): Uint8Array {
  return nativeEncoder !== null ? nativeEncoder.encode(text) : encodeUtf8Fallback(text);
}

/**
 * Decodes UTF-8 (normally already validated by Utf8Validator). Invalid bytes become U+FFFD
 * rather than throwing.
 */
export function decodeUtf8(bytes: Uint8Array): string {
  return nativeDecoder !== null ? nativeDecoder.decode(bytes) : decodeUtf8Fallback(bytes);
}

/** The pure encoder, exported for tests; prefer encodeUtf8. */
export function encodeUtf8Fallback(text: string): Uint8Array {
  const n = text.length;
  // Pass 1: the exact size, so the output is allocated once.
  let size = 0;
  for (let i = 0; i < n; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) size += 1;
    else if (c < 0x800) size += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < n && isLowSurrogate(text.charCodeAt(i + 1))) {
      size += 4;
      i++;
    } else size += 3; // BMP character, or a lone surrogate encoded as U+FFFD
  }
  const out = new Uint8Array(size);
  let o = 0;
  for (let i = 0; i < n; i++) {
    let c = text.charCodeAt(i);
    if (c < 0x80) {
      out[o++] = c;
    } else if (c < 0x800) {
      out[o++] = 0xc0 | (c >> 6);
      out[o++] = 0x80 | (c & 0x3f);
    } else if (c >= 0xd800 && c <= 0xdfff) {
      const next = i + 1 < n ? text.charCodeAt(i + 1) : 0;
      if (c <= 0xdbff && isLowSurrogate(next)) {
        const cp = 0x10000 + ((c - 0xd800) << 10) + (next - 0xdc00);
        out[o++] = 0xf0 | (cp >> 18);
        out[o++] = 0x80 | ((cp >> 12) & 0x3f);
        out[o++] = 0x80 | ((cp >> 6) & 0x3f);
        out[o++] = 0x80 | (cp & 0x3f);
        i++;
        continue;
      }
      c = 0xfffd;
      out[o++] = 0xe0 | (c >> 12);
      out[o++] = 0x80 | ((c >> 6) & 0x3f);
      out[o++] = 0x80 | (c & 0x3f);
    } else {
      out[o++] = 0xe0 | (c >> 12);
      out[o++] = 0x80 | ((c >> 6) & 0x3f);
      out[o++] = 0x80 | (c & 0x3f);
    }
  }
  return out;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** Code units collected before turning them into a string (keeps fromCharCode's argument list small). */
const DECODE_BATCH = 4096;

/**
 * The pure decoder, exported for tests; prefer decodeUtf8. Invalid input becomes U+FFFD per
 * maximal invalid subpart, as the WHATWG Encoding standard (and TextDecoder) do.
 */
export function decodeUtf8Fallback(bytes: Uint8Array): string {
  const n = bytes.length;
  const units: number[] = [];
  let out = '';
  let i = 0;
  while (i < n) {
    const b = bytes[i++]!;
    let cp = b;
    if (b >= 0x80) {
      let need = 0;
      let lo = 0x80;
      let hi = 0xbf;
      if (b >= 0xc2 && b < 0xe0) {
        need = 1;
        cp = b & 0x1f;
      } else if (b >= 0xe0 && b < 0xf0) {
        need = 2;
        cp = b & 0x0f;
        if (b === 0xe0) lo = 0xa0;
        else if (b === 0xed) hi = 0x9f;
      } else if (b >= 0xf0 && b < 0xf5) {
        need = 3;
        cp = b & 0x07;
        if (b === 0xf0) lo = 0x90;
        else if (b === 0xf4) hi = 0x8f;
      }
      if (need === 0) {
        cp = 0xfffd;
      } else {
        while (need > 0 && i < n) {
          const c = bytes[i]!;
          if (c < lo || c > hi) break;
          cp = (cp << 6) | (c & 0x3f);
          lo = 0x80;
          hi = 0xbf;
          need--;
          i++;
        }
        if (need > 0) cp = 0xfffd; // the bytes consumed so far form one maximal subpart
      }
    }
    if (cp >= 0x10000) {
      cp -= 0x10000;
      units.push(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
    } else {
      units.push(cp);
    }
    if (units.length >= DECODE_BATCH) {
      out += String.fromCharCode(...units);
      units.length = 0;
    }
  }
  return units.length > 0 ? out + String.fromCharCode(...units) : out;
}
