// Pieces of one payload as they arrive: views into received chunks (or inflated output), joined
// once when the payload is complete. A payload that arrived whole is handed out as the view
// itself, without a copy.
//
// A peer may cut a message into a million 1-byte fragments. As a million views, that costs about
// a hundred bytes of heap per byte of payload, far past any message limit. So after the first few
// views, small pieces are copied into a shared buffer: memory stays proportional to the bytes held.

/** Views kept as they are before small pieces start being copied. */
const FREE_VIEWS = 16;
/** Pieces at least this long are always kept as views (the view costs little next to its bytes). */
const SMALL_PIECE = 1024;
/** Size of the buffer that small pieces are copied into. */
const COPY_BUFFER = 16 * 1024;

export class PieceList {
  private readonly pieces: Uint8Array[] = [];
  /** Total bytes held. */
  length = 0;
  /** Block receiving copies of small pieces, and how much of it is filled. */
  private tail: Uint8Array | null = null;
  private tailFill = 0;

  push(piece: Uint8Array): void {
    const n = piece.length;
    if (n === 0) return;
    this.length += n;
    const tail = this.tail;
    if (tail !== null && n <= tail.length - this.tailFill) {
      tail.set(piece, this.tailFill);
      this.tailFill += n;
      return;
    }
    this.sealTail();
    if (n >= SMALL_PIECE || this.pieces.length < FREE_VIEWS) {
      this.pieces.push(piece);
      return;
    }
    const fresh = new Uint8Array(COPY_BUFFER);
    fresh.set(piece);
    this.tail = fresh;
    this.tailFill = n;
  }

  /** Moves the copy buffer into the list, trimmed so that a view never pins unused bytes. */
  private sealTail(): void {
    const tail = this.tail;
    if (tail === null) return;
    this.pieces.push(this.tailFill === tail.length ? tail : tail.slice(0, this.tailFill));
    this.tail = null;
    this.tailFill = 0;
  }

  /** Everything held as one array (the single piece itself when there is one), and empties the list. */
  take(): Uint8Array {
    this.sealTail();
    const pieces = this.pieces;
    let out: Uint8Array;
    if (pieces.length === 1) {
      out = pieces[0]!;
    } else {
      out = new Uint8Array(this.length);
      let offset = 0;
      for (let i = 0; i < pieces.length; i++) {
        const piece = pieces[i]!;
        out.set(piece, offset);
        offset += piece.length;
      }
    }
    pieces.length = 0;
    this.length = 0;
    return out;
  }

  clear(): void {
    this.pieces.length = 0;
    this.length = 0;
    this.tail = null;
    this.tailFill = 0;
  }
}
