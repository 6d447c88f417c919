// Gathered writes. A socket.write costs far more than copying a small frame: a write request, a
// callback, and under load a writev system call. So the frames that one received chunk causes (the
// handlers' replies, pongs, the close reply) wait here and leave together in a single write.
//
// Small pieces (headers, short payloads) are copied at once into a shared slab, so a caller may
// reuse its buffer as soon as send() returns, and the copies of one connection's frames lie side by
// side: they leave as one Buffer. Pieces of COPY_LIMIT bytes or more are queued as they are, never
// copied (as with socket.write, such a buffer must not change until its callback ran).

import type { Writable } from 'node:stream';

const COPY_LIMIT = 16 * 1024;
const SLAB_SIZE = 64 * 1024;

// Slab bytes are never reused: a view handed to the socket stays valid until the socket drops it.
let slab: Buffer | null = null;
let slabUsed = 0;

export type WriteCallback = (err?: Error) => void;

export class Outbox {
  /** Queued pieces in order, the open run not included; null while empty. */
  private pieces: Uint8Array[] | null = null;
  /** The run of copies being extended: slab[runStart, runEnd). */
  private run: Buffer | null = null;
  private runStart = 0;
  private runEnd = 0;
  /** Per-send callbacks of the queued bytes, in order. */
  private callbacks: WriteCallback[] | null = null;
  /** Bytes queued and not yet handed to the socket. */
  queued = 0;
  /** Bytes handed to the socket whose write has not completed. */
  private writing = 0;

  /** Bytes handed to send and not yet written (WebSocket.bufferedAmount). */
  get buffered(): number {
    return this.queued + this.writing;
  }

  push(frames: readonly Uint8Array[], cb: WriteCallback | undefined): void {
    for (let i = 0; i < frames.length; i++) {
      const frame = frames[i]!;
      const n = frame.byteLength;
      this.queued += n;
      if (n >= COPY_LIMIT) {
        this.seal();
        (this.pieces ??= []).push(frame);
        continue;
      }
      if (slab === null || slabUsed + n > SLAB_SIZE) {
        slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
        slabUsed = 0;
      }
      // Another connection wrote to the slab since our last copy: this copy starts a new run.
      if (this.run !== slab || this.runEnd !== slabUsed) {
        this.seal();
        this.run = slab;
        this.runStart = slabUsed;
      }
      slab.set(frame, slabUsed);
      slabUsed += n;
      this.runEnd = slabUsed;
    }
    if (cb !== undefined) (this.callbacks ??= []).push(cb);
  }

  /**
   * Writes everything queued: one socket.write when no piece is large. The queued callbacks run
   * once those bytes are out (or failed). Returns what the last socket.write returned.
   */
  flush(socket: Writable): boolean {
    this.seal();
    const pieces = this.pieces;
    const callbacks = this.callbacks;
    const total = this.queued;
    this.pieces = null;
    this.callbacks = null;
    this.queued = 0;
    if (pieces === null) {
      if (callbacks !== null) for (const cb of callbacks) process.nextTick(cb);
      return true;
    }
    this.writing += total;
    const done = (err?: Error | null): void => {
      this.writing -= total;
      if (callbacks !== null) for (const cb of callbacks) cb(err ?? undefined);
    };
    if (pieces.length === 1) return socket.write(pieces[0], done);
    // Several writes in one cork: Node hands them to the kernel in one writev.
    socket.cork();
    for (let i = 0; i < pieces.length - 1; i++) socket.write(pieces[i]);
    const ok = socket.write(pieces[pieces.length - 1], done);
    socket.uncork();
    return ok;
  }

  /** Drops what is queued (the socket is gone): each callback gets `err`. */
  discard(err: Error): void {
    const callbacks = this.callbacks;
    this.pieces = null;
    this.run = null;
    this.callbacks = null;
    this.queued = 0;
    if (callbacks !== null) for (const cb of callbacks) process.nextTick(cb, err);
  }

  /** Closes the open run into a piece. */
  private seal(): void {
    const run = this.run;
    if (run === null) return;
    (this.pieces ??= []).push(run.subarray(this.runStart, this.runEnd));
    this.run = null;
  }
}
