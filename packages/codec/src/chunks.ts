// Pieces of one payload as they arrive: views into received chunks (or inflated output), joined
// once when the payload is complete. A payload that arrived whole is handed out as the view
// itself, without a copy.

export class PieceList {
  private readonly pieces: Uint8Array[] = [];
  /** Total bytes held. */
  length = 0;

  push(piece: Uint8Array): void {
    if (piece.length === 0) return;
    this.pieces.push(piece);
    this.length += piece.length;
  }

  /** Everything held as one array (the single piece itself when there is one), and empties the list. */
  take(): Uint8Array {
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
  }
}
