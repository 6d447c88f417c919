// The WebSocket object: a socket pump around the codec's Connection.
//
//   socket 'data' -> conn.receive(chunk) -> events -> emit 'message' / 'ping' / 'pong' / 'close'
//   ws.send(x)    -> conn.sendText/sendBinary(x) -> conn.takeOutput() -> outbox -> socket.write
//
// Sends made while a received chunk is being handled are gathered and written once, after the
// handlers (outbox.ts); other sends are written at once.
//
// Every protocol decision (framing, masking, UTF-8, limits, the closing handshake) is the codec's;
// this file owns sockets, timers and the two API faces (ws-style EventEmitter, browser-style).

import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { IncomingMessage, ClientRequest } from 'node:http';
import { Connection } from '@rfc6455/codec';
import type { Event as CodecEvent, PerMessageDeflate } from '@rfc6455/codec';
import type {
  EventListenerLike,
  WebSocketEventName,
  WsCloseEvent,
  WsErrorEvent,
  WsEvent,
  WsMessageEvent,
} from './events.js';
import { installBrowserFace } from './browser-face.js';
import { DEFAULT_CLOSE_TIMEOUT, checkKeepalive, checkMaxBufferedAmount, checkTimeout } from './options.js';
import { ClientHandshake } from './client.js';
import type { ClientHandshakeOptions } from './client.js';
import { Http2Handshake } from './http2-client.js';
import type { OpenSetup } from './open-setup.js';
import { Outbox } from './outbox.js';
import { DEFAULT_PUBLISH_MAX_BUFFERED } from './topics.js';
import type { PreparedMessage } from '@rfc6455/codec';
import type { SlowSubscriberPolicy, TopicHub } from './topics.js';
import { WebSocketError, closedError, frameError } from './errors.js';

export type BinaryType = 'nodebuffer' | 'arraybuffer' | 'fragments' | 'blob';
const BINARY_TYPES: readonly string[] = ['nodebuffer', 'arraybuffer', 'fragments', 'blob'];

/** What `send` accepts. */
export type SendData = string | ArrayBufferView | ArrayBuffer | SharedArrayBuffer | readonly Uint8Array[];

/**
 * What a ws-style 'message' listener is typed to receive (ws's name): a Buffer, an ArrayBuffer or, with
 * binaryType 'fragments', a Buffer[]; each is SendData, so `ws.send(data, { binary: isBinary })` echoes.
 * With binaryType 'blob' the data is a Blob, which @types/ws leaves out of RawData too.
 */
export type RawData = Buffer | ArrayBuffer | Buffer[];

export interface SendOptions {
  /** Send as a binary message (default: true unless `data` is a string). */
  binary?: boolean;
  /**
   * Compress this message when permessage-deflate was negotiated (default true; messages under the
   * `threshold` still go uncompressed). `false` sends it without compression.
   */
  compress?: boolean;
  /**
   * false: this is a fragment and more follow; the message ends with a send whose `fin` is true.
   * Fragments are never compressed (the codec compresses whole messages only; RFC 7692 lets any
   * message go uncompressed), and the message's type is the one given with its first fragment.
   */
  fin?: boolean;
  /** Accepted for ws compatibility; masking follows the role (RFC 6455 5.3). */
  mask?: boolean;
}

export { WebSocketError } from './errors.js';

const READY_STATES = ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'] as const;
const EMPTY = Buffer.alloc(0);
const NO_FRAMES: Uint8Array[] = [];
const SLOW_PEER_REASON = 'too slow: send buffer over the limit';
// The socket's listeners are shared by every connection (a closure each would live as long as the
// connection): each finds its WebSocket on the socket.
const kWebSocket = Symbol('rfc6455.webSocket');
type OwnedSocket = Duplex & { [kWebSocket]: WebSocket };
function socketOnData(this: OwnedSocket, chunk: Buffer): void {
  this[kWebSocket]._onData(chunk);
}
function socketOnEnd(this: OwnedSocket): void {
  this[kWebSocket]._onEnd();
}
function socketOnClose(this: OwnedSocket): void {
  this[kWebSocket]._onSocketClose();
}
/** HTTP/2 streams (OpenSetup.closeLater): the application's 'close' runs outside the stream's own. */
function socketOnCloseLater(this: OwnedSocket): void {
  setImmediate(socketOnCloseFor, this);
}
function socketOnCloseFor(socket: OwnedSocket): void {
  socket[kWebSocket]._onSocketClose();
}
function socketOnError(this: OwnedSocket, err: Error): void {
  this[kWebSocket]._onSocketError(err);
}
function socketOnDrain(this: OwnedSocket): void {
  this[kWebSocket]._onDrain();
}

export type { OpenSetup } from './open-setup.js';

/** Set by the class's static block: opens a server-side socket (private to this module). */
let openAccepted: (ws: WebSocket, setup: OpenSetup) => void;

/** The client's options: ws's, with `finishRequest` given this WebSocket. */
export type ClientOptions = ClientHandshakeOptions<WebSocket>;

function toBuffer(view: Uint8Array): Buffer {
  // Views into a received chunk (a Buffer) are Buffers already.
  return Buffer.isBuffer(view) ? view : Buffer.from(view.buffer, view.byteOffset, view.byteLength);
}

/** Ends the socket unless it is ending already (a second end() builds an Error, stack trace and all). */
function endOnce(socket: Duplex | null): void {
  if (socket !== null && !socket.writableEnded) socket.end();
}

/** What a send would have queued, for bufferedAmount after close (strings as UTF-8). */
function byteLength(data: SendData | Blob | undefined): number {
  if (data === undefined || data === null) return 0;
  if (typeof data === 'string') return Buffer.byteLength(data);
  if (data instanceof Blob) return data.size;
  if (Array.isArray(data))
    return (data as readonly Uint8Array[]).reduce((n, piece) => n + piece.byteLength, 0);
  return (data as ArrayBufferView | ArrayBuffer).byteLength;
}

function toUint8Array(data: SendData): Uint8Array {
  if (data instanceof Uint8Array) return data;
  // binaryType 'fragments' delivers a Buffer[]: sent back as one message of those bytes.
  if (Array.isArray(data)) return Buffer.concat(data as readonly Uint8Array[]);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (
    data instanceof ArrayBuffer ||
    (typeof SharedArrayBuffer !== 'undefined' && data instanceof SharedArrayBuffer)
  ) {
    return new Uint8Array(data);
  }
  throw new TypeError(
    'send() takes a string, a Buffer, a TypedArray, a DataView, an ArrayBuffer or an array of Buffers; convert other values first',
  );
}

/**
 * A WebSocket connection, client or server side. `new WebSocket(url, protocols?, options?)` connects
 * to a server; a WebSocketServer hands you its sockets through its 'connection' event.
 */
// The interface of the same name below types the events (the usual typed-EventEmitter merge).
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class WebSocket extends EventEmitter {
  declare static readonly CONNECTING: 0;
  declare static readonly OPEN: 1;
  declare static readonly CLOSING: 2;
  declare static readonly CLOSED: 3;
  // On the prototype, enumerable and read-only, as WebIDL and ws define them (see the end of the file).
  declare readonly CONNECTING: 0;
  declare readonly OPEN: 1;
  declare readonly CLOSING: 2;
  declare readonly CLOSED: 3;

  private _readyState: 0 | 1 | 2 | 3 = 0;
  private _binaryType: BinaryType = 'nodebuffer';
  private _protocol = '';
  private _extensions = '';
  private _url = '';
  private _conn: Connection | null = null;
  private _socket: Duplex | null = null;
  private _pmd: PerMessageDeflate | null = null;
  /** Created by the first send: an idle connection needs none. */
  private _outboxOrNull: Outbox | null = null;
  /** True while the events of a received chunk are being handled: sends wait in the outbox. */
  private _gathering = false;
  /** maxBufferedAmount (0: off). */
  private _maxBuffered = 0;
  /** Closed for not reading (maxBufferedAmount): 'close' reports 1008. */
  private _closedSlowPeer = false;
  private _closeTimeout = DEFAULT_CLOSE_TIMEOUT;
  private _closeTimer: NodeJS.Timeout | null = null;
  private _keepalive: { interval: number; timeout: number } | null = null;
  private _pingTimer: NodeJS.Timeout | null = null;
  private _pongTimer: NodeJS.Timeout | null = null;
  private _autoPong = true;
  /** Latest ping payload waiting for the socket to drain (RFC 6455 5.5.3: answering the latest is enough). */
  private _pendingPong: Uint8Array | null = null;
  private _closeCode = 1006;
  private _closeReason = '';
  private _wasClean = false;
  private _closeEventSeen = false;
  private _closeEmitted = false;
  private _errorEmitted = false;
  /**
   * While a Blob passed to send() is being read, later sends, pings, pongs and close() wait here so
   * that everything leaves in call order (as in ws); null when nothing waits.
   */
  private _waiting: (() => void)[] | null = null;
  /** Bytes of Blobs being read (counted in bufferedAmount, as in ws). */
  private _waitingBytes = 0;
  /** Bytes passed to send() after the closing handshake began (WHATWG: bufferedAmount still grows). */
  private _lateBytes = 0;
  /** Set by the WebSocketServer that accepted this socket: its topics (topics.ts). */
  _topicHub: TopicHub | null = null;
  /** Client only, while CONNECTING: the opening handshake. */
  private _handshake: ClientHandshake<WebSocket> | Http2Handshake<WebSocket> | null = null;

  constructor(url: string | URL, protocols?: string | string[], options?: ClientOptions);
  constructor(url: string | URL, options?: ClientOptions);
  /** As in ws: `null` makes a server-side socket that a WebSocketServer opens later (its `WebSocket` option). */
  constructor(url: null, protocols?: undefined, options?: object);
  constructor(
    url: string | URL | null,
    protocols?: string | string[] | ClientOptions,
    options?: ClientOptions | object,
  ) {
    super();
    if (url === null) return;
    let list: string[] = [];
    let opts = (options ?? {}) as ClientOptions;
    if (typeof protocols === 'string') list = [protocols];
    else if (Array.isArray(protocols)) list = protocols;
    else if (protocols !== undefined && protocols !== null && typeof protocols === 'object') opts = protocols;
    this._closeTimeout = checkTimeout('closeTimeout', opts.closeTimeout, DEFAULT_CLOSE_TIMEOUT);
    checkMaxBufferedAmount(opts.maxBufferedAmount);
    this._url = String(url);
    // RFC 8441: over an HTTP/2 stream when asked (http2-client.ts), else an HTTP/1.1 Upgrade.
    const Handshake = opts.http2 ? Http2Handshake : ClientHandshake;
    this._handshake = new Handshake<WebSocket>(url, list, opts, {
      socket: this,
      opened: (setup) => {
        this._url = this.url;
        this._handshake = null;
        this._open(setup);
        this.emit('open');
      },
      failed: (err) => {
        this._url = this.url;
        this._handshake = null;
        this._failHandshake(err);
      },
    });
  }

  /** The handshake's request while CONNECTING (ws has it as `_req`: getHeader() shows what was sent). */
  get _req(): ClientRequest | null {
    return this._handshake?.currentRequest ?? null;
  }

  // ---- state -------------------------------------------------------------------------------------

  /** 0 CONNECTING, 1 OPEN, 2 CLOSING, 3 CLOSED (as WebSocket.CONNECTING ... WebSocket.CLOSED). */
  get readyState(): 0 | 1 | 2 | 3 {
    return this._readyState;
  }
  /** The subprotocol the server selected ('' when none). */
  get protocol(): string {
    return this._protocol;
  }
  /** The negotiated Sec-WebSocket-Extensions value ('' when none). */
  get extensions(): string {
    return this._extensions;
  }
  /** The URL this client connected to ('' on the server side). */
  get url(): string {
    return this._handshake?.url ?? this._url;
  }
  /**
   * Bytes handed to send/ping/pong/close and not yet written: queued or held here, or handed to the
   * socket whose write callback has not run (what the connection holds in memory).
   */
  get bufferedAmount(): number {
    return (
      (this._outboxOrNull === null ? 0 : this._outboxOrNull.buffered) + this._waitingBytes + this._lateBytes
    );
  }
  /** How binary messages are delivered: Buffer (default), ArrayBuffer, Buffer[] or Blob. */
  get binaryType(): BinaryType {
    return this._binaryType;
  }
  /** Another value is ignored, as in ws and browsers (WebIDL enumeration assignment). */
  set binaryType(type: BinaryType) {
    if (BINARY_TYPES.includes(type)) this._binaryType = type;
  }
  /** True once pause() was called and resume() was not. */
  get isPaused(): boolean {
    return (
      this._socket !== null &&
      'isPaused' in this._socket &&
      (this._socket as { isPaused(): boolean }).isPaused()
    );
  }

  // ---- opening -----------------------------------------------------------------------------------

  /** Wires a socket whose handshake is done. `head` holds bytes that followed the handshake head. */
  private _open(setup: OpenSetup): void {
    const { socket, options } = setup;
    this._closeTimeout = checkTimeout('closeTimeout', options.closeTimeout, this._closeTimeout);
    this._keepalive = checkKeepalive(options.keepalive);
    this._maxBuffered = checkMaxBufferedAmount(options.maxBufferedAmount);
    this._autoPong = options.autoPong ?? true;
    this._protocol = setup.protocol;
    this._extensions = setup.extensions;
    this._pmd = setup.perMessageDeflate;
    const limits: { maxFramePayload?: number; maxMessageSize?: number } = {};
    if (options.maxPayload !== undefined) {
      if (!Number.isInteger(options.maxPayload) || options.maxPayload < 0) {
        throw new Error(`maxPayload must be a whole number of bytes, got ${String(options.maxPayload)}`);
      }
      limits.maxFramePayload = options.maxPayload;
      limits.maxMessageSize = options.maxPayload;
    }
    this._conn = new Connection({
      role: setup.role,
      ...limits,
      // Pongs are answered here so that they can be bounded under backpressure (see _onPing).
      autoPong: false,
      perMessageDeflate: setup.perMessageDeflate,
      ...(setup.randomFill ? { randomFill: setup.randomFill } : {}),
    });
    this._socket = socket;
    if ('setNoDelay' in socket) (socket as { setNoDelay(v: boolean): void }).setNoDelay(true);
    if ('setTimeout' in socket) (socket as { setTimeout(ms: number): void }).setTimeout(0);
    (socket as OwnedSocket)[kWebSocket] = this;
    // Frames that came with the handshake's head go back into the socket before there is a 'data'
    // listener: with one, unshift() on a flowing socket emits 'data' at once, before the caller's
    // 'open' or 'connection' listeners could attach theirs. Now they arrive on a later tick.
    if (setup.head.byteLength > 0) socket.unshift(toBuffer(setup.head));
    socket.on('data', socketOnData);
    socket.on('end', socketOnEnd);
    socket.on('close', setup.closeLater === true ? socketOnCloseLater : socketOnClose);
    socket.on('error', socketOnError);
    socket.on('drain', socketOnDrain);
    this._readyState = 1;
    // The head reader of `port` mode leaves the socket paused, so that nothing is read before now.
    socket.resume();
    this._startKeepalive();
  }

  // ---- receiving ---------------------------------------------------------------------------------

  _onData(chunk: Buffer): void {
    const conn = this._conn;
    if (!conn) return;
    this._dispatch(conn.receive(chunk));
  }

  _onEnd(): void {
    const conn = this._conn;
    if (conn) this._dispatch(conn.receiveEof());
    // A half-closed peer gets our FIN too (RFC 6455 7.1.1: the TCP close follows the closing handshake),
    // after what we hold.
    this._flush(true);
    endOnce(this._socket);
  }

  private _dispatch(events: CodecEvent[]): void {
    const outer = this._gathering;
    this._gathering = true;
    try {
      this._handle(events);
      // After the handlers: what they sent in answer goes out ahead of a queued pong or close frame.
      this._queueCodecOutput();
    } finally {
      this._gathering = outer;
      if (!outer) this._flush();
    }
    this._maybeEndTransport();
  }

  private _handle(events: CodecEvent[]): void {
    for (const event of events) {
      if (this._closeEmitted) return;
      switch (event.type) {
        case 'text':
          this.emit('message', toBuffer(event.data), false);
          break;
        case 'binary':
          this.emit('message', this._binary(event.data), true);
          break;
        case 'fragment':
          // Not produced: streaming is off.
          break;
        case 'ping':
          this._onPing(event.data);
          this.emit('ping', toBuffer(event.data));
          break;
        case 'pong':
          this._clearPongTimer();
          this.emit('pong', toBuffer(event.data));
          break;
        case 'close':
          this._onCloseEvent(event);
          break;
      }
    }
  }

  private _binary(data: Uint8Array): Buffer | ArrayBuffer | Buffer[] | Blob {
    switch (this._binaryType) {
      case 'nodebuffer':
        return toBuffer(data);
      case 'fragments':
        return [toBuffer(data)];
      case 'arraybuffer':
        if (
          data.byteOffset === 0 &&
          data.byteLength === data.buffer.byteLength &&
          data.buffer instanceof ArrayBuffer
        ) {
          return data.buffer;
        }
        {
          // A copy: the view usually sits inside a larger socket chunk.
          const copy = new ArrayBuffer(data.byteLength);
          new Uint8Array(copy).set(data);
          return copy;
        }
      case 'blob':
        return new Blob([data]);
    }
  }

  private _onPing(data: Uint8Array): void {
    if (!this._autoPong || !this._canSend()) return;
    if (this._needsDrain()) {
      // Backpressure: keep only the newest ping's pong; it goes out on 'drain' (issue: bounded pongs).
      this._pendingPong = Uint8Array.from(data);
      return;
    }
    this._conn!.sendPong(data);
    this._writeOutput(undefined);
  }

  _onDrain(): void {
    // Bytes held while the socket was full go first; if they fill it again, the next 'drain' is ours.
    if (!this._flush()) return;
    if (this._pendingPong && this._canSend()) {
      const data = this._pendingPong;
      this._pendingPong = null;
      this._conn!.sendPong(data);
      this._writeOutput(undefined);
    }
    this.emit('drain');
  }

  private _onCloseEvent(event: Extract<CodecEvent, { type: 'close' }>): void {
    this._closeEventSeen = true;
    // A connection we failed for a violation closes abnormally for the application, as in ws and
    // browsers (WHATWG "fail the WebSocket connection": 1006); the code we sent is on the error.
    this._closeCode = event.error !== undefined ? 1006 : event.code;
    // 1006 has no close frame, hence no reason.
    this._closeReason = this._closeCode === 1006 ? '' : event.reason;
    this._wasClean = event.wasClean;
    if (this._readyState < 2) this._readyState = 2;
    this._stopKeepalive();
    if (event.error !== undefined)
      this._emitError(frameError(event.error, event.reason, event.code, event.detail));
  }

  /** Ends TCP when the codec says so (server first; the client waits for the server's FIN, RFC 6455 7.1.1). */
  private _maybeEndTransport(): void {
    const conn = this._conn;
    const socket = this._socket;
    if (!conn || !socket || !conn.shouldCloseTransport) return;
    if (conn.role === 'server') {
      this._flush(true); // held bytes (the close frame among them) go ahead of the FIN
      endOnce(socket);
    }
    // Both sides: do not wait forever for the peer's FIN.
    this._armCloseTimer();
  }

  private _armCloseTimer(): void {
    if (this._closeTimer !== null || this._closeEmitted) return;
    this._closeTimer = setTimeout(() => {
      this._closeTimer = null;
      this._socket?.destroy();
    }, this._closeTimeout);
    this._closeTimer.unref?.();
  }

  _onSocketError(err: Error): void {
    // A peer that resets the connection is not a program error: report it only to listeners.
    this._emitError(
      new WebSocketError(`socket error: ${err.message}`, (err as { code?: string }).code ?? 'WS_ERR_SOCKET'),
    );
    this._socket?.destroy();
  }

  _onSocketClose(): void {
    const conn = this._conn;
    if (conn && !this._closeEventSeen) {
      // No FIN seen before the close: give the codec its end of stream (1006 unless the handshake completed).
      const events = conn.receiveEof();
      for (const e of events) if (e.type === 'close') this._onCloseEvent(e);
    }
    this._finishClose();
  }

  /** Emits 'close' exactly once and frees what this connection holds. */
  _finishClose(): void {
    if (this._closeEmitted) return;
    this._closeEmitted = true;
    this._readyState = 3;
    this._stopKeepalive();
    if (this._closeTimer !== null) clearTimeout(this._closeTimer);
    this._closeTimer = null;
    this._pendingPong = null;
    const socket = this._socket;
    if (socket) {
      socket.off('data', socketOnData);
      socket.off('end', socketOnEnd);
      socket.off('drain', socketOnDrain);
      // Keep an error listener: a late error on a dead socket must not crash the process.
    }
    this._pmd?.compressor.close?.();
    this._pmd?.decompressor.close?.();
    if (this._closedSlowPeer) {
      // Whatever the peer answered, or nothing before closeTimeout: the application closed it for this.
      this._closeCode = 1008;
      this._closeReason = SLOW_PEER_REASON;
    }
    this.emit('close', this._closeCode, Buffer.from(this._closeReason));
  }

  _emitError(err: Error): void {
    if (this._errorEmitted) return;
    this._errorEmitted = true;
    // An 'error' without a listener would throw: peers must not be able to crash the process.
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  // ---- sending -----------------------------------------------------------------------------------

  /** After the handlers of a chunk: what the codec still holds (answers, its close frame) goes to the outbox. */
  private _queueCodecOutput(): void {
    const conn = this._conn;
    if (!conn) return;
    const out = conn.takeOutput();
    if (out.length > 0) this._writeFrames(out, undefined);
  }

  /**
   * A send call just queued its frame in the codec's one ordered output: move that output to the
   * outbox, `cb` with it. One exception: while the handlers of a chunk that brought the peer's close
   * (or a violation) run, the codec holds its close frame, and takeOutput() would hand it out and end
   * sending; their answers then stay in the codec, ahead of it, until _dispatch takes everything.
   */
  private _writeOutput(cb: ((err?: Error) => void) | undefined): boolean {
    const conn = this._conn!;
    const closeWaits = this._gathering && conn.canSend && conn.state === 'CLOSED';
    return this._writeFrames(closeWaits ? NO_FRAMES : conn.takeOutput(), cb);
  }

  /**
   * Queues [header, payload, ...] and writes them now, or after the handlers when gathering.
   * Returns false when the socket needs 'drain' (as socket.write would).
   */
  private _writeFrames(pieces: Uint8Array[], cb: ((err?: Error) => void) | undefined): boolean {
    const socket = this._socket;
    if (!socket || socket.destroyed || !socket.writable) {
      if (cb) process.nextTick(cb, closedError());
      return false;
    }
    const outbox = (this._outboxOrNull ??= new Outbox(() => this._flush()));
    outbox.push(pieces, cb);
    if (!this._gathering) return this._flush();
    return outbox.accepts(socket);
  }

  /**
   * Writes what the outbox holds (or holds it while the socket is full; `force` writes it anyway,
   * before an end()); returns false when a 'drain' will follow.
   */
  private _flush(force = false): boolean {
    const socket = this._socket;
    const outbox = this._outboxOrNull;
    if (outbox === null || outbox.queued === 0) return true;
    if (!socket || socket.destroyed || !socket.writable) {
      // Closed by a handler (terminate) or by the peer while the sends waited.
      outbox.discard(closedError());
      return false;
    }
    return outbox.flush(socket, force);
  }

  /** True when the socket, counting what waits in the outbox, is past its high-water mark. */
  private _needsDrain(): boolean {
    const socket = this._socket;
    if (!socket) return false;
    const outbox = this._outboxOrNull;
    if (outbox !== null) return !outbox.accepts(socket);
    return socket.writableNeedDrain || socket.writableLength >= socket.writableHighWaterMark;
  }

  /**
   * OPEN for us, and the codec has not handed out its close frame: the messages that arrived in the
   * same chunk as a close or a violation can still be answered ahead of it (Autobahn 3.x, 5.15).
   */
  private _canSend(): boolean {
    return this._readyState === 1 && this._conn !== null && this._conn.canSend;
  }

  private _notOpen(what: string, cb: ((err?: Error) => void) | undefined, bytes = 0): false {
    if (this._readyState === 0) {
      throw new Error(`WebSocket is not open yet (readyState 0 CONNECTING): wait for 'open' before ${what}`);
    }
    const state = this._readyState === 1 ? 2 : this._readyState;
    // WHATWG send(): after close() the data is dropped but bufferedAmount still grows (ws does too).
    this._lateBytes += bytes;
    const err = new WebSocketError(
      `WebSocket is not open (readyState ${state} ${READY_STATES[state]}): ${what} did nothing`,
      'WS_ERR_NOT_OPEN',
    );
    if (cb) process.nextTick(cb, err);
    return false;
  }

  /**
   * While Blobs are being read, `step` waits behind them so that sends leave in call order. Callers
   * test `this._waiting !== null` first: the common send allocates no closure.
   */
  private _afterBlobs(step: () => void): void {
    this._waiting!.push(step);
  }

  /** Reads a Blob, then sends it and whatever waited behind it. */
  private _sendBlob(blob: Blob, opts: SendOptions, cb: ((err?: Error) => void) | undefined): void {
    this._waiting = [];
    this._waitingBytes += blob.size;
    const sent = (bytes: Uint8Array | null, err?: Error): void => {
      this._waitingBytes -= blob.size;
      const waiting = this._waiting ?? [];
      this._waiting = null;
      if (bytes === null) {
        if (cb) cb(err);
      } else if (this._canSend()) {
        this.send(bytes, { ...opts, binary: opts.binary ?? true }, cb);
      } else if (cb) {
        cb(new WebSocketError('the socket closed while the Blob was being read', 'WS_ERR_CLOSED'));
      }
      for (let i = 0; i < waiting.length; i++) {
        waiting[i]!();
        // Another Blob started reading: the rest waits behind it.
        if (this._waiting !== null) {
          (this._waiting as (() => void)[]).push(...waiting.slice(i + 1));
          return;
        }
      }
    };
    blob.arrayBuffer().then(
      (buffer) => sent(new Uint8Array(buffer)),
      (err: Error) => sent(null, err),
    );
  }

  /**
   * Sends a message. Returns the boolean of the last socket.write: false means the kernel buffer is
   * full; wait for 'drain' before sending much more. `cb` runs once the data was written (or failed).
   * A Blob is read first (asynchronously); what is sent after it waits, so that order is kept.
   */
  send(data: SendData | Blob | number | undefined, cb?: (err?: Error) => void): boolean;
  send(data: SendData | Blob | number | undefined, options: SendOptions, cb?: (err?: Error) => void): boolean;
  send(
    data: SendData | Blob | number | undefined,
    options?: SendOptions | ((err?: Error) => void),
    cb?: (err?: Error) => void,
  ): boolean {
    if (typeof options === 'function') {
      cb = options;
      options = {};
    }
    const opts = options ?? {};
    if (this._readyState === 0) return this._notOpen('send()', cb);
    if (typeof data === 'number') data = String(data);
    if (this._waiting !== null) {
      this._afterBlobs(() => this.send(data, opts, cb));
      return false;
    }
    if (!this._canSend()) return this._notOpen('send()', cb, byteLength(data));
    // A peer that does not read gets no more: checked before the message is framed (and compressed).
    if (this._maxBuffered > 0 && this.bufferedAmount > this._maxBuffered) {
      this._closeSlowPeer();
      return this._notOpen('send()', cb);
    }
    if (data === undefined || data === null) data = EMPTY;
    if (data instanceof Blob) {
      this._sendBlob(data, opts, cb);
      return false;
    }
    const binary = opts.binary ?? typeof data !== 'string';
    const fin = opts.fin ?? true;
    const conn = this._conn as Connection;
    // A fragmented message under way keeps the type of its first fragment (the codec's record).
    const sending = conn.sendingFragmentKind;
    if (sending !== null || !fin) {
      const kind = sending ?? (binary ? 'binary' : 'text');
      const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : toUint8Array(data);
      conn.sendFragment(kind, bytes, fin);
    } else {
      const per = opts.compress === false ? { compress: false } : undefined;
      if (binary) {
        conn.sendBinary(typeof data === 'string' ? Buffer.from(data, 'utf8') : toUint8Array(data), per);
      } else {
        conn.sendText(typeof data === 'string' ? data : toUint8Array(data), per);
      }
    }
    return this._writeOutput(cb);
  }

  // ---- topics (topics.ts) ------------------------------------------------------------------------

  private _hub(method: string): TopicHub {
    if (this._topicHub === null) {
      throw new Error(
        `${method} is for the sockets of a WebSocketServer (topics live on the server); a client cannot subscribe`,
      );
    }
    return this._topicHub;
  }
  /** Receives what `wss.publish(topic, ...)` sends; false when already subscribed or not open. Undone on close. */
  subscribe(topic: string): boolean {
    return this._hub('subscribe()').subscribe(this, topic);
  }
  /** False when it was not subscribed. */
  unsubscribe(topic: string): boolean {
    return this._hub('unsubscribe()').unsubscribe(this, topic);
  }
  isSubscribed(topic: string): boolean {
    return this._topicHub !== null && this._topicHub.isSubscribed(this, topic);
  }
  /** The topics this socket is subscribed to. */
  get topics(): string[] {
    return this._topicHub === null ? [] : this._topicHub.topicsOf(this);
  }

  /**
   * A published message, framed once for every subscriber. A subscriber with more than its limit
   * waiting (maxBufferedAmount, or DEFAULT_PUBLISH_MAX_BUFFERED where that is off) is closed with
   * 1008 or skipped, per `slow`: it never holds up the others. A fragmented message being sent cannot
   * be interleaved with another message (RFC 6455 5.4): the publish skips this socket until it ends.
   */
  _sendPrepared(message: PreparedMessage, slow: SlowSubscriberPolicy): boolean {
    if (!this._canSend() || this._conn!.sendingFragmentKind !== null) return false;
    if (this._waiting !== null) {
      // Behind a Blob being read: keeps send order.
      this._afterBlobs(() => {
        if (!this._canSend()) return;
        this._conn!.sendPrepared(message);
        this._writeOutput(undefined);
      });
      return true;
    }
    const limit = this._maxBuffered > 0 ? this._maxBuffered : DEFAULT_PUBLISH_MAX_BUFFERED;
    if (this.bufferedAmount > limit) {
      if (slow === 'close') this._closeSlowPeer();
      return false;
    }
    this._conn!.sendPrepared(message);
    this._writeOutput(undefined);
    return true;
  }

  /**
   * A send found more than maxBufferedAmount waiting: the peer does not read. Closes with 1008
   * (RFC 6455 7.4.1, policy violation; not 1013, which says the server is overloaded, while here the
   * peer is at fault). The close frame waits behind the data, and no send is accepted after it, so
   * memory stays bounded; closeTimeout bounds the wait, and 'close' reports 1008 either way.
   */
  private _closeSlowPeer(): void {
    this._closedSlowPeer = true;
    this.close(1008, SLOW_PEER_REASON);
  }

  /** Sends a ping (RFC 6455 5.5.2); the payload is at most 125 bytes (a number is sent as its digits). */
  ping(data?: SendData | number, mask?: boolean, cb?: (err?: Error) => void): void {
    this._sendControl('ping', data, mask, cb);
  }

  /** Sends an unsolicited pong (RFC 6455 5.5.3). */
  pong(data?: SendData | number, mask?: boolean, cb?: (err?: Error) => void): void {
    this._sendControl('pong', data, mask, cb);
  }

  /** ping() and pong(): ws's (data?, mask?, cb?) signature, where any argument may be the callback. */
  private _sendControl(
    kind: 'ping' | 'pong',
    data: SendData | number | undefined,
    mask: boolean | undefined,
    cb: ((err?: Error) => void) | undefined,
  ): void {
    if (typeof data === 'function') {
      cb = data;
      data = undefined;
    } else if (typeof mask === 'function') {
      cb = mask;
    }
    if (this._readyState === 0) {
      this._notOpen(`${kind}()`, cb);
      return;
    }
    if (typeof data === 'number') data = String(data);
    if (this._waiting !== null) {
      this._afterBlobs(() => this._sendControl(kind, data, mask, cb));
      return;
    }
    if (!this._canSend()) {
      this._notOpen(`${kind}()`, cb, byteLength(data));
      return;
    }
    const payload =
      data === undefined || data === null ? EMPTY : typeof data === 'string' ? data : toUint8Array(data);
    const conn = this._conn!;
    if (kind === 'ping') conn.sendPing(payload);
    else conn.sendPong(payload);
    this._writeOutput(cb);
  }

  /**
   * Starts the closing handshake (RFC 6455 7.1.2). Data sent before stays ahead of the close frame.
   * Throws on a code you may not send (1004-1006, 1015, <1000, >4999) or a reason over 123 bytes.
   */
  close(code?: number, reason?: string | Buffer): void {
    if (this._readyState === 3) return;
    if (this._readyState === 1 && this._waiting !== null) {
      this._afterBlobs(() => this.close(code, reason));
      return;
    }
    if (this._readyState === 0) {
      this._abortConnecting();
      return;
    }
    const conn = this._conn;
    if (!conn) return;
    if (conn.state !== 'OPEN') {
      // Our close frame is out already, or queued as the reply to the peer's (it follows the
      // current handlers' sends): just wait.
      this._maybeEndTransport();
      return;
    }
    const text =
      reason === undefined ? undefined : typeof reason === 'string' ? reason : reason.toString('utf8');
    conn.sendClose(code, text);
    this._readyState = 2;
    this._stopKeepalive();
    this._writeOutput(undefined);
    this._armCloseTimer();
  }

  /** Destroys the connection now, without a closing handshake; 'close' reports 1006. */
  terminate(): void {
    if (this._readyState === 3) return;
    if (this._readyState === 0) {
      this._abortConnecting();
      return;
    }
    this._readyState = 2;
    this._socket?.destroy();
  }

  /**
   * close()/terminate() while CONNECTING (also from an 'upgrade' listener): the handshake is
   * abandoned, readyState is CLOSING at once, 'error' and 'close' (1006) follow on the next tick (as ws).
   */
  private _abortConnecting(): void {
    const handshake = this._handshake;
    this._readyState = 2;
    // ws says "closed" for terminate() too.
    handshake?.abort('WebSocket was closed before the connection was established');
  }

  /** Stops reading from the socket (TCP flow control pushes back on the peer); a no-op before open and after close, as in ws. */
  pause(): void {
    if (this._readyState === 0 || this._readyState === 3) return;
    this._socket?.pause();
  }

  /** Reads again after pause(); a no-op before open and after close, as in ws. */
  resume(): void {
    if (this._readyState === 0 || this._readyState === 3) return;
    this._socket?.resume();
  }

  // ---- keepalive ---------------------------------------------------------------------------------

  private _startKeepalive(): void {
    const ka = this._keepalive;
    if (!ka) return;
    this._pingTimer = setInterval(() => {
      if (!this._canSend()) return;
      this._conn!.sendPing(EMPTY);
      this._writeOutput(undefined);
      if (this._pongTimer === null) {
        this._pongTimer = setTimeout(() => {
          this._pongTimer = null;
          // No pong in time: the peer is gone (close code 1006 to the application).
          this.terminate();
        }, ka.timeout);
        this._pongTimer.unref?.();
      }
    }, ka.interval);
    this._pingTimer.unref?.();
  }

  private _clearPongTimer(): void {
    if (this._pongTimer !== null) clearTimeout(this._pongTimer);
    this._pongTimer = null;
  }

  private _stopKeepalive(): void {
    if (this._pingTimer !== null) clearInterval(this._pingTimer);
    this._pingTimer = null;
    this._clearPongTimer();
  }

  // ---- client handshake results ------------------------------------------------------------------

  /** The handshake failed before the connection opened: 'error' (if any, and listened to), then 'close' 1006. */
  private _failHandshake(err: Error | null): void {
    if (this._closeEmitted) return;
    this._readyState = 2;
    if (err) this._emitError(err);
    this._finishClose();
  }

  /** Server side: wires an accepted connection (acceptWebSocket below is the way in). */
  static {
    openAccepted = (ws, setup) => ws._open(setup);
    installBrowserFace(WebSocket.prototype, (ws) => (ws as WebSocket)._wasClean);
  }
}

/** What a browser-style 'message' event carries: a string for text, per binaryType for binary. */
export type MessageData = string | Buffer | ArrayBuffer | Buffer[] | Blob;

/** The browser-style face, installed on the prototype by browser-face.ts. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface WebSocket {
  onopen: ((event: WsEvent<WebSocket>) => void) | null;
  onmessage: ((event: WsMessageEvent<WebSocket, MessageData>) => void) | null;
  onerror: ((event: WsErrorEvent<WebSocket>) => void) | null;
  onclose: ((event: WsCloseEvent<WebSocket>) => void) | null;
  /** Browser-style listener; `{ once: true }` removes it after the first call. */
  addEventListener(
    type: 'open',
    listener: EventListenerLike<WsEvent<WebSocket>>,
    options?: { once?: boolean },
  ): void;
  addEventListener(
    type: 'message',
    listener: EventListenerLike<WsMessageEvent<WebSocket, MessageData>>,
    options?: { once?: boolean },
  ): void;
  addEventListener(
    type: 'error',
    listener: EventListenerLike<WsErrorEvent<WebSocket>>,
    options?: { once?: boolean },
  ): void;
  addEventListener(
    type: 'close',
    listener: EventListenerLike<WsCloseEvent<WebSocket>>,
    options?: { once?: boolean },
  ): void;
  removeEventListener(type: WebSocketEventName, listener: EventListenerLike<never>): void;
}

/** Typed ws-style events. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface WebSocket {
  on(event: 'open', listener: () => void): this;
  on(event: 'message', listener: (data: RawData, isBinary: boolean) => void): this;
  on(event: 'ping' | 'pong', listener: (data: Buffer) => void): this;
  on(event: 'close', listener: (code: number, reason: Buffer) => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  on(event: 'upgrade', listener: (res: IncomingMessage) => void): this;
  on(event: 'unexpected-response', listener: (req: ClientRequest, res: IncomingMessage) => void): this;
  on(event: 'redirect', listener: (url: string, req: ClientRequest) => void): this;
  on(event: 'drain', listener: () => void): this;
  // Any other event, as EventEmitter allows: listeners of any shape.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  on(event: string | symbol, listener: (...args: any[]) => void): this;
  once(event: 'open', listener: () => void): this;
  once(event: 'message', listener: (data: RawData, isBinary: boolean) => void): this;
  once(event: 'ping' | 'pong', listener: (data: Buffer) => void): this;
  once(event: 'close', listener: (code: number, reason: Buffer) => void): this;
  once(event: 'error', listener: (err: Error) => void): this;
  once(event: 'upgrade', listener: (res: IncomingMessage) => void): this;
  once(event: 'unexpected-response', listener: (req: ClientRequest, res: IncomingMessage) => void): this;
  once(event: 'drain', listener: () => void): this;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  once(event: string | symbol, listener: (...args: any[]) => void): this;
}

// WebIDL puts the ready-state constants on the prototype and makes the attributes enumerable; ws
// does the same, and code that copies or inspects sockets can tell.
for (const [i, name] of READY_STATES.entries()) {
  Object.defineProperty(WebSocket.prototype, name, { enumerable: true, value: i });
  Object.defineProperty(WebSocket, name, { enumerable: true, value: i });
}
for (const name of [
  'binaryType',
  'bufferedAmount',
  'extensions',
  'isPaused',
  'protocol',
  'readyState',
  'url',
  'onopen',
  'onerror',
  'onclose',
  'onmessage',
]) {
  Object.defineProperty(WebSocket.prototype, name, { enumerable: true });
}

/**
 * The server's way to make a connection's WebSocket: builds `Ctor` (WebSocket or the subclass the
 * server's `WebSocket` option names) as ws does, with `null` for the URL, and opens it on `setup`.
 */
export function acceptWebSocket(
  Ctor: new (url: null, protocols: undefined, options: object) => WebSocket,
  setup: OpenSetup,
): WebSocket {
  const ws = new Ctor(null, undefined, setup.options);
  openAccepted(ws, setup);
  return ws;
}
