// Incremental UTF-8 validation (RFC 3629 section 4 syntax, as RFC 6455 5.6 and 8.1 require).
// A text message arrives in frames and chunks: the validator keeps the state of a sequence cut at a
// chunk boundary, fails at the first byte that no valid text could contain (8.1: "fail the
// WebSocket connection" as soon as invalid data is seen) and reports 'incomplete' when the
// message ends inside a sequence.

export type Utf8State = 'valid' | 'invalid' | 'incomplete';

/** Worth a Uint32Array view for the ASCII fast path from this many bytes on. */
const WORD_PATH_MIN = 32;
/** 0x80808080 as an int32: the top bit of each byte of a word. */
const HIGH_BITS = 0x80808080 | 0;

export class Utf8Validator {
  /** Continuation bytes still expected for the current sequence. */
  private need = 0;
  /** Bounds for the next continuation byte: the second byte of E0, ED, F0, F4 sequences is narrower. */
  private lo = 0x80;
  private hi = 0xbf;
  private failed = false;

  /** 'valid' on a character boundary, 'incomplete' inside a sequence, 'invalid' for good. */
  get state(): Utf8State {
    return this.failed ? 'invalid' : this.need === 0 ? 'valid' : 'incomplete';
  }

  /**
   * Validates the next bytes `bytes[start..end)` of the stream. Returns -1 while the stream can
   * still be valid text, or the index in `bytes` of the first invalid byte (after which the
   * validator stays invalid until reset()).
   */
  push(bytes: Uint8Array, start = 0, end = bytes.length): number {
    if (this.failed) return start;
    let i = start;
    let need = this.need;
    let lo = this.lo;
    let hi = this.hi;
    // Word-wide view for long ASCII runs: only over the 4-aligned part of the range.
    let words: Int32Array | null = null;
    let wordStart = 0;
    let wordCount = 0;
    if (end - start >= WORD_PATH_MIN) {
      const base = bytes.byteOffset;
      wordStart = start + ((4 - ((base + start) & 3)) & 3);
      wordCount = (end - wordStart) >>> 2;
      words = new Int32Array(bytes.buffer, base + wordStart, wordCount);
    }
    for (;;) {
      // Continuation bytes of the current sequence.
      while (need > 0) {
        if (i >= end) {
          this.need = need;
          this.lo = lo;
          this.hi = hi;
          return -1;
        }
        const c = bytes[i]!;
        if (c < lo || c > hi) return this.fail(i);
        lo = 0x80;
        hi = 0xbf;
        need--;
        i++;
      }
      if (i >= end) break;
      const b = bytes[i]!;
      if (b < 0x80) {
        i++;
        if (words !== null && i >= wordStart && ((i - wordStart) & 3) === 0) {
          let w = (i - wordStart) >>> 2;
          while (w < wordCount && (words[w]! & HIGH_BITS) === 0) w++;
          i = wordStart + (w << 2);
        }
        continue;
      }
      // Lead bytes: C0, C1 (overlong) and F5..FF (beyond U+10FFFF) never occur; 80..BF only follow.
      if (b < 0xc2) return this.fail(i);
      if (b < 0xe0) {
        need = 1;
      } else if (b < 0xf0) {
        need = 2;
        if (b === 0xe0)
          lo = 0xa0; // overlong below U+0800
        else if (b === 0xed) hi = 0x9f; // U+D800..U+DFFF surrogates
      } else if (b < 0xf5) {
        need = 3;
        if (b === 0xf0)
          lo = 0x90; // overlong below U+10000
        else if (b === 0xf4) hi = 0x8f; // above U+10FFFF
      } else {
        return this.fail(i);
      }
      i++;
    }
    this.need = 0;
    this.lo = 0x80;
    this.hi = 0xbf;
    return -1;
  }

  /** Ends a message: true when everything pushed was complete, valid text. Resets for the next message. */
  finish(): boolean {
    const ok = !this.failed && this.need === 0;
    this.reset();
    return ok;
  }

  reset(): void {
    this.need = 0;
    this.lo = 0x80;
    this.hi = 0xbf;
    this.failed = false;
  }

  private fail(index: number): number {
    this.failed = true;
    this.need = 0;
    return index;
  }
}

/** One-shot check: is `bytes` complete, valid UTF-8? */
export function isValidUtf8(bytes: Uint8Array): boolean {
  const validator = new Utf8Validator();
  return validator.push(bytes) === -1 && validator.finish();
}
