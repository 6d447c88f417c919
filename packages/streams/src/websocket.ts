// The WebSocket over a WHATWG { readable, writable } byte stream: the pump around the codec's Connection.
//
//   readable.read() -> conn.receive(chunk) -> events -> 'message' events and the stream face's readable
//   send()/close()  -> conn.send*()         -> flush(): takeOutput(), the codec's one ordered output
//
// Every byte for the wire goes through flush(). Reading stops while the stream face's readable is full: backpressure reaches the
// peer through the socket's own stream.

import { Connection, decodeUtf8, encodeUtf8 } from '@rfc6455/codec';
import type { Event as CodecEvent, PerMessageDeflate } from '@rfc6455/codec';

/** A connected byte stream: a socket's two halves (Deno.Conn, a workerd Socket, Duplex.toWeb(socket)). */
export interface ByteStream {
  readable: ReadableStream<Uint8Array>;
  writable: WritableStream<Uint8Array>;
}

/** Options of both sides. */
export interface SocketOptions {
  /** Largest message and frame accepted, in bytes, after decompression; more closes with 1009 (default: the codec's, 16 MiB per frame, 64 MiB per message). */
  maxPayload?: number;
  /** Milliseconds to wait for the peer to end the stream after the closing handshake (default 30 000). */
  closeTimeout?: number;
  /** Ping every `interval` ms; no pong within `timeout` ms (default `interval`) ends the connection (1006). Needs timers. */
  keepalive?: { interval: number; timeout?: number } | false;
  /** Messages the stream face's readable holds before the socket is no longer read (default 16). */
  highWaterMark?: number;
}

export const DEFAULT_CLOSE_TIMEOUT = 30_000;

export type BinaryType = 'blob' | 'arraybuffer';
/** What send() and the stream face's writable take. */
export type SendData = string | ArrayBuffer | ArrayBufferView | Blob;

/** What `opened` resolves to (the WebSocketStream face). */
export interface WebSocketStreamOpenInfo {
  readable: ReadableStream<string | Uint8Array>;
  writable: WritableStream<string | BufferSource>;
  protocol: string;
  extensions: string;
}

/** What `closed` resolves to, and what `close()` of the stream face takes. */
export interface WebSocketCloseInfo {
  closeCode?: number;
  reason?: string;
}

/** `closed` rejects with this when the connection ended without a closing handshake (or failed). */
export class WebSocketError extends Error {
  override readonly name = 'WebSocketError';
  constructor(
    message: string,
    readonly closeCode: number,
    readonly reason: string,
  ) {
    super(message);
  }
}

/** The close event; the runtime's own CloseEvent where it has one. */
const CloseEventImpl: new (type: string, init: CloseEventInit) => CloseEvent =
  typeof CloseEvent === 'function'
    ? CloseEvent
    : class extends Event {
        readonly code: number;
        readonly reason: string;
        readonly wasClean: boolean;
        constructor(type: string, init: CloseEventInit) {
          super(type, init);
          this.code = init.code ?? 0;
          this.reason = init.reason ?? '';
          this.wasClean = init.wasClean ?? false;
        }
      };

const hasTimers = typeof setTimeout === 'function' && typeof clearTimeout === 'function';
/** Frames up to this size are gathered into one write (two small writes stall on Nagle's algorithm). */
const GATHER_LIMIT = 64 * 1024;
/** Past this many bytes waiting to be written, only the newest ping's pong is kept (bounded memory). */
const PONG_BACKLOG = 64 * 1024;

/** What accept()/connect() hand to the constructor: the handshake is done and its reader and writer taken. */
export interface OpenSetup {
  conn: Connection;
  reader: ReadableStreamDefaultReader<Uint8Array>;
  writer: WritableStreamDefaultWriter<Uint8Array>;
  /** Bytes that came right behind the handshake head: frames. */
  rest: Uint8Array;
  url: string;
  protocol: string;
  extensions: string;
  deflate: PerMessageDeflate | null;
  options: SocketOptions;
}

/** The WebSocketStream face, made the first time `opened` is read. */
interface StreamFace {
  opened: Promise<WebSocketStreamOpenInfo>;
  controller: ReadableStreamDefaultController<string | Uint8Array>;
}

let callsHandlers: boolean | undefined;
/** Whether this runtime's EventTarget calls an `on<type>` property by itself (workerd's does). */
function runtimeCallsHandlers(): boolean {
  if (callsHandlers === undefined) {
    let called = false;
    const probe = new (class extends EventTarget {
      get onprobe(): () => void {
        return () => (called = true);
      }
    })();
    probe.dispatchEvent(new Event('probe'));
    callsHandlers = called;
  }
  return callsHandlers;
}

type Handler = ((this: WebSocket, ev: Event) => unknown) | null;

export class WebSocket extends EventTarget {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSING = 2;
  static readonly CLOSED = 3;
  readonly CONNECTING = 0;
  readonly OPEN = 1;
  readonly CLOSING = 2;
  readonly CLOSED = 3;

  readonly url: string;
  readonly protocol: string;
  readonly extensions: string;
  #readyState = 1;
  #binaryType: BinaryType = 'blob';
  #buffered = 0;

  readonly #conn: Connection;
  readonly #reader: ReadableStreamDefaultReader<Uint8Array>;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #deflate: PerMessageDeflate | null;
  readonly #closeTimeout: number;
  readonly #highWaterMark: number;
  #rest: Uint8Array | null;
  #ended = false;
  #finished = false;
  #closeInfo: { code: number; reason: string; wasClean: boolean } | null = null;
  /** Resolves the promise the read loop waits on while the stream face's readable is full. */
  #wakeReader: (() => void) | null = null;
  /** Frames waiting for the write in flight; the batch's promise resolves once they are written. */
  #outbox: Uint8Array[] = [];
  #batch: { promise: Promise<void>; resolve: () => void } | null = null;
  #writing = false;
  /** The batch of the last frames queued: the stream face's writes resolve with it. */
  #lastWrite: Promise<void> = Promise.resolve();
  #pendingPong: Uint8Array | null = null;
  /** True while the events of one received chunk are being handled (see flush()). */
  #dispatching = false;
  /** Sends wait here while a Blob is being read, so that messages keep their order. */
  #blobChain: Promise<void> | null = null;
  #timers: ReturnType<typeof setTimeout>[] = [];
  #keepalive: ReturnType<typeof setInterval> | null = null;
  #pongDeadline: ReturnType<typeof setTimeout> | null = null;
  #stream: StreamFace | null = null;
  readonly #closed: Promise<WebSocketCloseInfo>;
  #resolveClosed!: (info: WebSocketCloseInfo) => void;
  #rejectClosed!: (err: WebSocketError) => void;
  readonly #handlers = new Map<string, EventListener>();

  /** Made by accept() and connect(); not for direct use. */
  constructor(setup: OpenSetup) {
    super();
    if (!(setup?.conn instanceof Connection)) {
      throw new TypeError('use accept(stream) or connect(stream, url) to make a WebSocket');
    }
    this.#conn = setup.conn;
    this.#reader = setup.reader;
    this.#writer = setup.writer;
    this.#rest = setup.rest;
    this.url = setup.url;
    this.protocol = setup.protocol;
    this.extensions = setup.extensions;
    this.#deflate = setup.deflate;
    this.#closeTimeout = setup.options.closeTimeout ?? DEFAULT_CLOSE_TIMEOUT;
    this.#highWaterMark = setup.options.highWaterMark ?? 16;
    this.#closed = new Promise((resolve, reject) => {
      this.#resolveClosed = resolve;
      this.#rejectClosed = reject;
    });
    // A caller of the browser face never looks at `closed`: its rejection is not an unhandled one.
    this.#closed.catch(() => {});
    // The open event and the first message wait for a task, so that handlers attached right after
    // `await accept(...)` see them.
    const start = () => {
      this.dispatchEvent(new Event('open'));
      this.#startKeepalive(setup.options.keepalive);
      void this.#readLoop();
    };
    if (hasTimers) setTimeout(start, 0);
    else void Promise.resolve().then(start);
  }

  get readyState(): number {
    return this.#readyState;
  }

  /** Bytes passed to send() (framed, compressed) that the socket's stream has not yet taken. */
  get bufferedAmount(): number {
    return this.#buffered;
  }

  get binaryType(): BinaryType {
    return this.#binaryType;
  }
  set binaryType(value: BinaryType) {
    // As in browsers, other values are ignored.
    if (value === 'blob' || value === 'arraybuffer') this.#binaryType = value;
  }

  get onopen(): Handler {
    return this.#getHandler('open');
  }
  set onopen(fn: Handler) {
    this.#setHandler('open', fn);
  }
  get onmessage(): Handler {
    return this.#getHandler('message');
  }
  set onmessage(fn: Handler) {
    this.#setHandler('message', fn);
  }
  get onclose(): Handler {
    return this.#getHandler('close');
  }
  set onclose(fn: Handler) {
    this.#setHandler('close', fn);
  }
  get onerror(): Handler {
    return this.#getHandler('error');
  }
  set onerror(fn: Handler) {
    this.#setHandler('error', fn);
  }

  #getHandler(type: string): Handler {
    const listener = this.#handlers.get(type) as { fn?: Handler } | undefined;
    return listener?.fn ?? null;
  }

  #setHandler(type: string, fn: Handler): void {
    const old = this.#handlers.get(type);
    if (old && !runtimeCallsHandlers()) this.removeEventListener(type, old);
    this.#handlers.delete(type);
    if (typeof fn !== 'function') return;
    const listener = Object.assign((ev: Event) => void fn.call(this, ev), { fn });
    this.#handlers.set(type, listener);
    // workerd's EventTarget calls `on<type>` properties itself: a listener too would call them twice.
    if (!runtimeCallsHandlers()) this.addEventListener(type, listener);
  }

  /** The WebSocketStream face: resolves at once (the socket is open), with a readable of messages and a writable. */
  get opened(): Promise<WebSocketStreamOpenInfo> {
    return (this.#stream ??= this.#makeStreamFace()).opened;
  }

  /** Resolves with the close code and reason after a closing handshake; rejects with a WebSocketError otherwise. */
  get closed(): Promise<WebSocketCloseInfo> {
    return this.#closed;
  }

  #makeStreamFace(): StreamFace {
    let controller!: ReadableStreamDefaultController<string | Uint8Array>;
    const readable = new ReadableStream<string | Uint8Array>(
      {
        start: (c) => {
          controller = c;
        },
        pull: () => this.#wake(),
        cancel: () => {
          if (this.#readyState === 1) this.close();
        },
      },
      new CountQueuingStrategy({ highWaterMark: this.#highWaterMark }),
    );
    const writable = new WritableStream<string | BufferSource>({
      write: (chunk) => this.#send(chunk, true),
      close: () => {
        this.close();
        return this.#closed.then(
          () => undefined,
          () => undefined,
        );
      },
      abort: () => {
        if (this.#readyState < 2) this.close();
      },
    });
    const info = { readable, writable, protocol: this.protocol, extensions: this.extensions };
    if (this.#closeInfo) {
      if (this.#closeInfo.wasClean) controller.close();
      else controller.error(this.#closeError());
    }
    return { opened: Promise.resolve(info), controller };
  }

  /**
   * Sends a message: text for a string (encoded as UTF-8), binary otherwise; a Blob is read first and
   * later sends wait for it. After close() the data is discarded and counted in bufferedAmount, as
   * browsers do.
   */
  send(data: SendData): void {
    void this.#send(data, false);
  }

  /** Sends `data` (or queues it behind a Blob being read); resolves once its frame is written. */
  #send(data: SendData, fromStream: boolean): Promise<void> {
    if (this.#readyState !== 1 || !this.#conn.canSend) {
      if (fromStream) throw new WebSocketError('the WebSocket is closing or closed', 0, '');
      this.#buffered += byteLength(data);
      return Promise.resolve();
    }
    const blob = typeof Blob === 'function' && data instanceof Blob;
    if (!blob && this.#blobChain === null) {
      this.#sendNow(data as string | ArrayBuffer | ArrayBufferView);
      return this.#lastWrite;
    }
    // Keep the order: this message goes after the Blobs that are still being read.
    const size = byteLength(data);
    const kept = blob || typeof data === 'string' ? data : copyBytes(data);
    this.#buffered += size;
    const link = (this.#blobChain ?? Promise.resolve())
      .then(async () =>
        kept instanceof Uint8Array || typeof kept === 'string'
          ? kept
          : new Uint8Array(await kept.arrayBuffer()),
      )
      .then(
        (bytes) => {
          this.#buffered -= size;
          this.#sendNow(bytes);
          return this.#lastWrite;
        },
        () => {
          this.#buffered -= size;
          this.#failLocally();
        },
      );
    this.#blobChain = link;
    void link.then(() => {
      if (this.#blobChain === link) this.#blobChain = null;
    });
    return link;
  }

  #sendNow(data: string | ArrayBuffer | ArrayBufferView): void {
    if (!this.#conn.canSend) return;
    if (typeof data === 'string') {
      this.#conn.sendText(encodeUtf8(data));
      this.flush();
      return;
    }
    // A server's frames carry the caller's bytes as they are: copy them, the caller may reuse its array.
    const bytes = this.#conn.role === 'server' ? copyBytes(data) : viewBytes(data);
    this.#conn.sendBinary(bytes);
    this.flush();
  }

  /**
   * Starts the closing handshake. Browser face: close(code?, reason?); code 1000 or 3000-4999, reason at
   * most 123 UTF-8 bytes. WebSocketStream face: close({ closeCode, reason }).
   */
  close(code?: number | WebSocketCloseInfo, reason?: string): void {
    if (typeof code === 'object' && code !== null) {
      reason = code.reason;
      code = code.closeCode;
    }
    if (code !== undefined && code !== 1000 && !(code >= 3000 && code <= 4999 && Number.isInteger(code))) {
      throw new DOMException(
        `close code must be 1000 or 3000-4999, got ${String(code)}`,
        'InvalidAccessError',
      );
    }
    const reasonBytes = reason === undefined ? 0 : encodeUtf8(reason).byteLength;
    if (reasonBytes > 123) {
      throw new DOMException(
        `close reason must be at most 123 UTF-8 bytes, got ${reasonBytes}`,
        'SyntaxError',
      );
    }
    if (this.#readyState >= 2) return;
    this.#readyState = 2;
    if (this.#blobChain) {
      // Messages whose Blob is still being read go out first.
      void this.#blobChain.then(() => this.#sendClose(code, reason));
      return;
    }
    this.#sendClose(code, reason);
  }

  #sendClose(code: number | undefined, reason: string | undefined): void {
    // The peer's close (or a violation) is already in: the codec answers it with its own close frame.
    if (!this.#conn.canSend || this.#conn.state === 'CLOSED') return;
    if (code === undefined) this.#conn.sendClose();
    else this.#conn.sendClose(code, reason === '' ? undefined : reason);
    this.flush();
    this.#armCloseTimer();
  }

  /**
   * Writes what the codec queued (every send and every automatic reply, in the order produced). While
   * the events of a chunk that brought the peer's close (or a violation) are handled, the codec holds
   * its close frame, and takeOutput() would hand it out and end sending: the messages and pongs those
   * events produce stay in the codec, ahead of it, until #handle() has handled them all.
   */
  flush(): void {
    if (this.#dispatching && this.#conn.canSend && this.#conn.state === 'CLOSED') return;
    const chunks = this.#conn.takeOutput();
    if (chunks.length > 0 && !this.#ended) this.#write(chunks);
    if (this.#conn.shouldCloseTransport) this.#endTransport();
  }

  /**
   * Queues frames for the socket. One write is in flight at a time; what is sent meanwhile is gathered
   * and goes out as one write when it completes, so a burst of small frames costs one write, not one each.
   */
  #write(chunks: Uint8Array[]): void {
    for (const c of chunks) {
      this.#outbox.push(c);
      this.#buffered += c.byteLength;
    }
    if (this.#batch === null) {
      let resolve!: () => void;
      const promise = new Promise<void>((r) => (resolve = r));
      this.#batch = { promise, resolve };
    }
    this.#lastWrite = this.#batch.promise;
    if (!this.#writing) void this.#drain();
  }

  async #drain(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#outbox.length > 0) {
        const chunks = this.#outbox;
        const batch = this.#batch;
        this.#outbox = [];
        this.#batch = null;
        let total = 0;
        for (const piece of gatherSmall(chunks)) {
          await this.#writer.write(piece);
          total += piece.byteLength;
        }
        this.#buffered -= total;
        batch?.resolve();
        if (this.#outbox.length === 0 && this.#pendingPong) this.#sendPong(this.#pendingPong);
      }
    } catch (err) {
      this.#buffered = 0;
      this.#outbox = [];
      this.#batch?.resolve();
      this.#transportFailed(err);
    } finally {
      this.#writing = false;
    }
    if (this.#ended) this.#writer.close().catch(() => {});
  }

  #endTransport(): void {
    if (this.#ended) return;
    this.#ended = true;
    // Our last frames first: a write in flight closes the writer when it is done.
    if (!this.#writing) this.#writer.close().catch(() => {});
    this.#armCloseTimer();
  }

  /** After our close (or the end of our side), the peer has closeTimeout ms to end the stream. */
  #armCloseTimer(): void {
    if (!hasTimers || this.#finished) return;
    const timer = setTimeout(() => {
      this.#reader.cancel().catch(() => {});
      this.#writer.abort().catch(() => {});
    }, this.#closeTimeout);
    this.#timers.push(timer);
  }

  #transportFailed(_err: unknown): void {
    // The read loop sees the stream end (or fail) and reports 1006.
    if (!this.#ended) {
      this.#ended = true;
      this.#reader.cancel().catch(() => {});
    }
  }

  /** A Blob could not be read: close with 1011 (internal error). */
  #failLocally(): void {
    if (this.#readyState < 2) {
      this.#readyState = 2;
      this.#conn.sendClose(1011);
      this.flush();
    }
  }

  #wake(): void {
    const wake = this.#wakeReader;
    this.#wakeReader = null;
    wake?.();
  }

  async #readLoop(): Promise<void> {
    try {
      const rest = this.#rest;
      this.#rest = null;
      if (rest !== null && rest.byteLength > 0) this.#handle(this.#conn.receive(rest));
      while (this.#closeInfo === null) {
        const controller = this.#stream?.controller;
        if (controller && (controller.desiredSize ?? 1) <= 0) {
          await new Promise<void>((resolve) => (this.#wakeReader = resolve));
          continue;
        }
        const { value, done } = await this.#reader.read();
        if (done) break;
        this.#handle(this.#conn.receive(value));
      }
    } catch {
      // A failed read is the end of the stream.
    }
    if (this.#closeInfo === null) this.#handle(this.#conn.receiveEof());
    // RFC 6455 7.1.1: after the close, wait (bounded by closeTimeout) for the peer to end the stream.
    try {
      for (;;) {
        const { done } = await this.#reader.read();
        if (done) break;
      }
    } catch {
      // ended
    }
    this.#finish();
  }

  #handle(events: CodecEvent[]): void {
    this.#dispatching = true;
    try {
      this.#handleEach(events);
    } finally {
      this.#dispatching = false;
    }
    this.flush();
  }

  #handleEach(events: CodecEvent[]): void {
    for (const event of events) {
      switch (event.type) {
        case 'text':
          this.#deliver(decodeUtf8(event.data), event.data, false);
          break;
        case 'binary':
          this.#deliver(null, event.data, true);
          break;
        case 'ping':
          this.#onPing(event.data);
          break;
        case 'pong':
          this.#clearPongDeadline();
          break;
        case 'close':
          this.#readyState = 3;
          this.#closeInfo = { code: event.code, reason: event.reason, wasClean: event.wasClean };
          this.#armCloseTimer();
          break;
        case 'fragment':
          break;
      }
      // What a handler sent goes out before the next event's answers.
      this.flush();
    }
  }

  #deliver(text: string | null, data: Uint8Array, binary: boolean): void {
    if (binary) {
      const copy = new Uint8Array(data); // a copy (a Buffer's slice() would be a view)
      this.#stream?.controller.enqueue(copy);
      const payload: unknown =
        this.#binaryType === 'arraybuffer'
          ? copy.buffer
          : typeof Blob === 'function'
            ? new Blob([copy])
            : copy.buffer;
      this.dispatchEvent(new MessageEvent('message', { data: payload, origin: origin(this.url) }));
    } else {
      this.#stream?.controller.enqueue(text as string);
      this.dispatchEvent(new MessageEvent('message', { data: text, origin: origin(this.url) }));
    }
  }

  #onPing(data: Uint8Array): void {
    if (!this.#conn.canSend) return;
    const full = this.#writing && this.#buffered > PONG_BACKLOG;
    if (full) {
      // The peer is not reading: keep only the newest ping's pong (RFC 6455 5.5.3), sent on drain.
      this.#pendingPong = new Uint8Array(data);
      return;
    }
    this.#sendPong(data);
  }

  #sendPong(data: Uint8Array): void {
    this.#pendingPong = null;
    if (this.#conn.canSend) this.#conn.sendPong(data);
    this.flush();
  }

  #startKeepalive(keepalive: SocketOptions['keepalive']): void {
    if (!keepalive || !hasTimers || typeof setInterval !== 'function') return;
    const timeout = keepalive.timeout ?? keepalive.interval;
    this.#keepalive = setInterval(() => {
      if (!this.#conn.canSend) return;
      this.#conn.sendPing();
      this.flush();
      if (this.#pongDeadline === null) {
        this.#pongDeadline = setTimeout(() => {
          // No pong: the peer is gone. End the stream; the read loop reports 1006.
          this.#ended = true;
          this.#writer.abort().catch(() => {});
          this.#reader.cancel().catch(() => {});
        }, timeout);
      }
    }, keepalive.interval);
  }

  #clearPongDeadline(): void {
    if (this.#pongDeadline !== null) clearTimeout(this.#pongDeadline);
    this.#pongDeadline = null;
  }

  #closeError(): WebSocketError {
    const info = this.#closeInfo ?? { code: 1006, reason: '' };
    return new WebSocketError(
      `the connection closed without a closing handshake (${info.code}${info.reason ? ` ${info.reason}` : ''})`,
      info.code,
      info.reason,
    );
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    for (const t of this.#timers) clearTimeout(t);
    this.#timers = [];
    if (this.#keepalive !== null) clearInterval(this.#keepalive);
    this.#clearPongDeadline();
    this.#deflate?.compressor.close?.();
    this.#deflate?.decompressor.close?.();
    if (!this.#ended) {
      this.#ended = true;
      this.#writer.close().catch(() => {});
    }
    this.#reader.releaseLock();
    this.#readyState = 3;
    const info = this.#closeInfo ?? { code: 1006, reason: '', wasClean: false };
    const controller = this.#stream?.controller;
    if (info.wasClean) {
      controller?.close();
      this.#resolveClosed({ closeCode: info.code, reason: info.reason });
    } else {
      const err = this.#closeError();
      controller?.error(err);
      this.#rejectClosed(err);
      this.dispatchEvent(new Event('error'));
    }
    this.dispatchEvent(
      new CloseEventImpl('close', { code: info.code, reason: info.reason, wasClean: info.wasClean }),
    );
  }
}

function byteLength(data: SendData): number {
  if (typeof data === 'string') return encodeUtf8(data).byteLength;
  if (typeof Blob === 'function' && data instanceof Blob) return data.size;
  return (data as ArrayBuffer | ArrayBufferView).byteLength;
}

function viewBytes(data: ArrayBuffer | ArrayBufferView | Blob): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  throw new TypeError('send() takes a string, an ArrayBuffer, a typed array or DataView, or a Blob');
}

function copyBytes(data: ArrayBuffer | ArrayBufferView | Blob): Uint8Array {
  return new Uint8Array(viewBytes(data));
}

/** Runs of small chunks merged into writes of at most GATHER_LIMIT bytes; large chunks as they are. */
function gatherSmall(chunks: Uint8Array[]): Uint8Array[] {
  const out: Uint8Array[] = [];
  let run: Uint8Array[] = [];
  let runBytes = 0;
  const close = () => {
    if (run.length === 1) out.push(run[0] as Uint8Array);
    else if (run.length > 1) {
      const merged = new Uint8Array(runBytes);
      let at = 0;
      for (const c of run) {
        merged.set(c, at);
        at += c.byteLength;
      }
      out.push(merged);
    }
    run = [];
    runBytes = 0;
  };
  for (const c of chunks) {
    if (runBytes + c.byteLength > GATHER_LIMIT) close();
    if (c.byteLength > GATHER_LIMIT) out.push(c);
    else {
      run.push(c);
      runBytes += c.byteLength;
    }
  }
  close();
  return out;
}

function origin(url: string): string {
  try {
    return new URL(url).origin;
  } catch {
    return '';
  }
}
