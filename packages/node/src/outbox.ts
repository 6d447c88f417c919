// Gathered writes. A socket.write costs far more than copying a small frame: a write request, a
// callback, and under load a writev system call. So the frames that one received chunk causes (the
// handlers' replies, pongs, the close reply) wait here and leave together in a single write.
//
// Small pieces (headers, short payloads) are copied at once into a shared slab, so a caller may
// reuse its buffer as soon as send() returns, and the copies of one connection's frames lie side by
// side: they leave as one Buffer. Pieces of COPY_LIMIT bytes or more are queued as they are, never
// copied (as with socket.write, such a buffer must not change until its callback ran).
//
// Memory follows bufferedAmount. A view that waits in a socket pins its whole slab, so a peer that
// does not read would hold slabs full of other connections' (long written) bytes. Hence: while a
// write of ours is still in the socket (the kernel did not take it), what is sent next is held here
// instead, in chunks this connection owns, and leaves in one write once that write completes. A
// slow connection thus holds its queued bytes plus at most two of its chunks and the one slab of
// the write it is stuck in, and one write request per round, not one per message.

import type { Writable } from 'node:stream';

const COPY_LIMIT = 16 * 1024;
const SLAB_SIZE = 64 * 1024;
/** Chunks of a connection whose socket is full: small, as they are what it wastes at most. */
const OWN_SIZE = 16 * 1024;

// Slab bytes are never reused: a view handed to the socket stays valid until the socket drops it.
let slab: Buffer | null = null;
let slabUsed = 0;
/** The shared slabs' memory, to tell their views from other pieces. */
const slabs = new WeakSet<ArrayBufferLike>();

export type WriteCallback = (err?: Error) => void;

export class Outbox {
  /** Queued pieces in order, the open run not included; null while empty. */
  private pieces: Uint8Array[] | null = null;
  /** The run of copies being extended: run[runStart, runEnd), in a slab or in `own`. */
  private run: Buffer | null = null;
  private runStart = 0;
  private runEnd = 0;
  /** Per-send callbacks of the queued bytes, in order. */
  private callbacks: WriteCallback[] | null = null;
  /** Bytes queued and not yet handed to the socket. */
  queued = 0;
  /** Bytes handed to the socket whose write callback has not run. */
  private writing = 0;
  /** True while bytes are held behind a write the socket has not finished: copies go to `own`. */
  private holding = false;
  /** This connection's chunk for copies while holding. */
  private own: Buffer | null = null;
  private ownUsed = 0;

  /** @param resume called when a write completed and bytes are held: flush them. */
  constructor(private readonly resume: () => void) {}

  /** Bytes handed to send and not yet written. */
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
      if (this.holding) {
        this.copyOwn(frame);
        continue;
      }
      if (slab === null || slabUsed + n > SLAB_SIZE) {
        slab = Buffer.allocUnsafeSlow(SLAB_SIZE);
        slabs.add(slab.buffer);
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
   * True while a write of ours sits in the socket (the kernel has not taken it all): a flush now
   * holds the bytes instead of writing them.
   */
  private stuck(socket: Writable): boolean {
    return this.writing > 0 && socket.writableLength > 0;
  }

  /**
   * What a send should return: false only when a 'drain' is sure to follow (the socket waits for
   * one, or the bytes held or about to be written reach its high-water mark).
   */
  accepts(socket: Writable): boolean {
    if (socket.writableNeedDrain) return false;
    const hwm = socket.writableHighWaterMark;
    // Held bytes leave in one write once the socket is empty: that write returns false iff they reach hwm.
    return (this.stuck(socket) ? this.queued : socket.writableLength + this.queued) < hwm;
  }

  /**
   * Writes everything queued: one socket.write when no piece is large. The queued callbacks run
   * once those bytes are out (or failed). Returns what the last socket.write returned. While the
   * socket has not finished our last write, the bytes are held (unless `force`: the socket is about
   * to be ended) and go out when it has.
   */
  flush(socket: Writable, force = false): boolean {
    if (this.queued > 0 && !force && this.stuck(socket)) {
      this.hold();
      return this.accepts(socket);
    }
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
    if (this.holding) {
      // Written to an empty socket: back to the shared slab, and the chunk goes once written.
      this.holding = false;
      this.own = null;
    }
    this.writing += total;
    const done = (err?: Error | null): void => {
      this.writing -= total;
      if (callbacks !== null) for (const cb of callbacks) cb(err ?? undefined);
      if (!this.holding) return;
      if (this.queued > 0) this.resume();
      else {
        // Nothing waited after all: an idle connection keeps no chunk.
        this.holding = false;
        this.own = null;
        this.run = null;
      }
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
    this.holding = false;
    this.own = null;
    if (callbacks !== null) for (const cb of callbacks) process.nextTick(cb, err);
  }

  /** Starts holding: queued copies move out of the shared slabs, into memory of this connection. */
  private hold(): void {
    if (this.holding) return;
    this.seal();
    this.holding = true;
    const pieces = this.pieces;
    if (pieces === null) return;
    let bytes = 0;
    for (const piece of pieces) if (slabs.has(piece.buffer)) bytes += piece.byteLength;
    if (bytes === 0) return;
    const copy = Buffer.allocUnsafeSlow(bytes);
    let at = 0;
    for (let i = 0; i < pieces.length; i++) {
      const piece = pieces[i]!;
      if (!slabs.has(piece.buffer)) continue;
      copy.set(piece, at);
      pieces[i] = copy.subarray(at, at + piece.byteLength);
      at += piece.byteLength;
    }
  }

  /** Copies a small frame into this connection's chunk, extending the open run. */
  private copyOwn(frame: Uint8Array): void {
    const n = frame.byteLength;
    let own = this.own;
    if (own === null || this.ownUsed + n > own.byteLength) {
      own = this.own = Buffer.allocUnsafeSlow(OWN_SIZE);
      this.ownUsed = 0;
    }
    if (this.run !== own || this.runEnd !== this.ownUsed) {
      this.seal();
      this.run = own;
      this.runStart = this.ownUsed;
    }
    own.set(frame, this.ownUsed);
    this.ownUsed += n;
    this.runEnd = this.ownUsed;
  }

  /** Closes the open run into a piece. */
  private seal(): void {
    const run = this.run;
    if (run === null) return;
    (this.pieces ??= []).push(run.subarray(this.runStart, this.runEnd));
    this.run = null;
  }
}
