// SHA-1 (FIPS 180-4), only for Sec-WebSocket-Accept (RFC 6455 4.2.2 item 5.4).
// It is not used for anything security-relevant: the accept value only proves the server read the key.

// Scratch space, reused: the codec is synchronous, so no two digests ever run at once.
const w = new Int32Array(80);
const tail = new Uint8Array(128);

/** The 20-byte SHA-1 digest of `data`. */
export function sha1(data: Uint8Array): Uint8Array {
  const out = new Uint8Array(20);
  sha1Into(data, out);
  return out;
}

/** Writes the SHA-1 digest of `data` into `out[0..20)` without allocating. */
export function sha1Into(data: Uint8Array, out: Uint8Array): void {
  let h0 = 0x67452301;
  let h1 = 0xefcdab89;
  let h2 = 0x98badcfe;
  let h3 = 0x10325476;
  let h4 = 0xc3d2e1f0;

  // Padding (FIPS 180-4 5.1.1): 0x80, zeros, then the bit length as a 64-bit big-endian number.
  const length = data.length;
  tail.fill(0);
  // Everything from the last full block of `data` onwards is copied into `tail` (one or two blocks).
  const fullBlocks = Math.floor(length / 64);
  const rem = length - fullBlocks * 64;
  tail.set(data.subarray(fullBlocks * 64), 0);
  tail[rem] = 0x80;
  const tailBlocks = rem + 9 > 64 ? 2 : 1;
  const bitsHigh = Math.floor(length / 0x20000000); // length * 8 / 2^32
  const bitsLow = (length * 8) >>> 0;
  const end = tailBlocks * 64;
  tail[end - 8] = bitsHigh >>> 24;
  tail[end - 7] = bitsHigh >>> 16;
  tail[end - 6] = bitsHigh >>> 8;
  tail[end - 5] = bitsHigh;
  tail[end - 4] = bitsLow >>> 24;
  tail[end - 3] = bitsLow >>> 16;
  tail[end - 2] = bitsLow >>> 8;
  tail[end - 1] = bitsLow;

  const total = fullBlocks + tailBlocks;
  for (let block = 0; block < total; block++) {
    const src = block < fullBlocks ? data : tail;
    const base = block < fullBlocks ? block * 64 : (block - fullBlocks) * 64;
    for (let i = 0; i < 16; i++) {
      const j = base + i * 4;
      w[i] = (src[j]! << 24) | (src[j + 1]! << 16) | (src[j + 2]! << 8) | src[j + 3]!;
    }
    for (let i = 16; i < 80; i++) {
      const x = w[i - 3]! ^ w[i - 8]! ^ w[i - 14]! ^ w[i - 16]!;
      w[i] = (x << 1) | (x >>> 31);
    }
    let a = h0;
    let b = h1;
    let c = h2;
    let d = h3;
    let e = h4;
    for (let i = 0; i < 80; i++) {
      let f: number;
      let k: number;
      if (i < 20) {
        f = (b & c) | (~b & d);
        k = 0x5a827999;
      } else if (i < 40) {
        f = b ^ c ^ d;
        k = 0x6ed9eba1;
      } else if (i < 60) {
        f = (b & c) | (b & d) | (c & d);
        k = 0x8f1bbcdc;
      } else {
        f = b ^ c ^ d;
        k = 0xca62c1d6;
      }
      const t = (((a << 5) | (a >>> 27)) + f + e + k + w[i]!) | 0;
      e = d;
      d = c;
      c = (b << 30) | (b >>> 2);
      b = a;
      a = t;
    }
    h0 = (h0 + a) | 0;
    h1 = (h1 + b) | 0;
    h2 = (h2 + c) | 0;
    h3 = (h3 + d) | 0;
    h4 = (h4 + e) | 0;
  }

  writeWord(out, 0, h0);
  writeWord(out, 4, h1);
  writeWord(out, 8, h2);
  writeWord(out, 12, h3);
  writeWord(out, 16, h4);
}

function writeWord(out: Uint8Array, at: number, h: number): void {
  out[at] = h >>> 24;
  out[at + 1] = h >>> 16;
  out[at + 2] = h >>> 8;
  out[at + 3] = h;
}
