// The WebSocket connection state machine (RFC 6455 sections 5 to 7), without I/O: bytes in,
// events out; calls in, bytes out.
import { PieceList } from './chunks.js';
import { CloseCode, PROTOCOL_ERRORS, decodeClosePayload, encodeClosePayload } from './close.js';
import type { ProtocolErrorKind } from './close.js';
import {
  HEADER_INCOMPLETE,
  HEADER_LENGTH_TOP_BIT,
  MAX_CONTROL_PAYLOAD,
  Opcode,
  decodeHeader,
  encodeFrameInto,
  encodeFrameWhole,
  isKnownOpcode,
  maskInPlace,
  newFrameHeader,
  readMaskKey,
} from './frames.js';
import { resolveLimits } from './limits.js';
import type { Limits } from './limits.js';
import type { PerMessageDeflate } from './permessage-deflate.js';
import type { PreparedMessage } from './prepared.js';
import { encodeUtf8 } from './text.js';
import { Utf8Validator } from './utf8.js';

export type Role = 'server' | 'client';

export interface ConnectionOptions {
  role: Role;
  /** Default 16 MiB. A frame announcing more closes with 1009 before its payload is read. */
  maxFramePayload?: number | undefined;
  /** Default 64 MiB, summed over fragments and counted after decompression (1009). Applies in streaming mode too. */
  maxMessageSize?: number | undefined;
  /** Default true: every ping queues a pong with the same payload in the output (bounded: MAX_PENDING_PONGS). */
  autoPong?: boolean | undefined;
  /** Default false. True: 'fragment' events, one per received data frame, instead of whole messages. */
  streaming?: boolean | undefined;
  /** Present when permessage-deflate was negotiated (RFC 7692). */
  perMessageDeflate?: PerMessageDeflate | null | undefined;
  /**
   * Fills an array with random bytes, for client masking keys (RFC 6455 5.3). Called with a pool of
   * 256 bytes, from which keys are taken 4 bytes at a time. Default: crypto.getRandomValues.
   * A function that leaves the bytes alone gives all-zero keys: deterministic, for tests.
   */
  randomFill?: ((bytes: Uint8Array) => void) | undefined;
}

/** Per-message choices for sendText/sendBinary. */
export interface SendMessageOptions {
  /**
   * false: send this message uncompressed even when permessage-deflate was negotiated (RFC 7692 6:
   * any message may go without RSV1). Default true: compressed when negotiated and the message is at
   * least the threshold.
   */
  compress?: boolean | undefined;
}

export type ConnectionState = 'OPEN' | 'CLOSING' | 'CLOSED';
export type CloseInitiator = 'local' | 'peer';

/**
 * The reading side. Every state but 'open' has given the one close event and parses nothing more.
 * 'closed': the peer's close frame arrived (RFC 6455 7.1.4); 'failed': the peer broke the protocol
 * (7.1.7); 'ended': the transport's stream ended (whatever came before: the TCP connection is gone).
 */
type Reading = 'open' | 'closed' | 'failed' | 'ended';

/**
 * Our close frame: not made; 'queued' at the end of the output, behind what the handlers still send
 * (the reply to the peer's close, or the close after a violation); 'out': sent by sendClose() or
 * handed out by takeOutput(), so nothing may follow it (RFC 6455 5.5.1).
 */
type OurClose = 'none' | 'queued' | 'out';

/** What receive() and receiveEof() return. The name shadows the DOM's Event where imported: alias it if needed. */
export type Event =
  /** A whole text message, validated UTF-8; a view into the received chunk when it lay in one. */
  | { type: 'text'; data: Uint8Array }
  | { type: 'binary'; data: Uint8Array }
  /** Streaming mode: one data frame of a message. */
  | { type: 'fragment'; kind: 'text' | 'binary'; data: Uint8Array; first: boolean; last: boolean }
  | { type: 'ping'; data: Uint8Array }
  | { type: 'pong'; data: Uint8Array }
  | {
      type: 'close';
      code: number;
      reason: string;
      initiator: CloseInitiator;
      wasClean: boolean;
      /** Set when we failed the connection because of a protocol violation by the peer. */
      error?: ProtocolErrorKind;
      /** With `error` 'inflate-failed': what the decompressor said, and its own error code if any. */
      detail?: { message: string; code?: string };
    };

export type CloseEvent = Extract<Event, { type: 'close' }>;

/** Where events go outside receive(): never pushed to (frames only complete inside receive). */
const NO_EVENTS: Event[] = [];

/**
 * Automatic pongs waiting in the output at most (between two takeOutput() calls). Every ping is
 * answered up to this many; past it the newest ping's pong replaces the last one waiting (RFC 6455
 * 5.5.3 allows answering only the latest), so a ping flood holds at most this many small frames.
 */
export const MAX_PENDING_PONGS = 32;

/** Masking keys drawn per call of randomFill: 64 keys. */
const KEY_POOL_SIZE = 256;

interface CryptoGlobal {
  crypto?: { getRandomValues?: (bytes: Uint8Array) => unknown };
}

// One for every client connection (servers never mask, so they never ask for it).
function defaultRandomFill(): ((bytes: Uint8Array) => void) | null {
  const crypto = (globalThis as CryptoGlobal).crypto;
  if (crypto === undefined || typeof crypto.getRandomValues !== 'function') return null;
  return (bytes) => {
    crypto.getRandomValues!(bytes);
  };
}

function toBytes(data: Uint8Array | string | undefined): Uint8Array {
  if (data === undefined) return new Uint8Array(0);
  return typeof data === 'string' ? encodeUtf8(data) : data;
}

export class Connection {
  readonly role: Role;
  private readonly isServer: boolean;
  private readonly limits: Limits;
  private readonly autoPong: boolean;
  private readonly streaming: boolean;
  private readonly deflate: PerMessageDeflate | null;
  private readonly randomFill: ((bytes: Uint8Array) => void) | null;

  // The closing handshake as two small state machines; state, canSend and shouldCloseTransport
  // are derived from them. tungstenite's Active is (open, none), ClosedByUs (open, out), ClosedByPeer
  // (closed, queued), CloseAcknowledged (closed, out); wsproto's LOCAL_CLOSING is (open, out).
  private reading: Reading = 'open';
  /**
   * Until our close frame is 'out', data may still be sent: it is written before the queued close
   * frame, so a message handler can answer the messages that arrived with a close or a violation.
   */
  private ourClose: OurClose = 'none';

  // Reading: the frame header, possibly gathered across chunks.
  private readonly header = newFrameHeader();
  /** Allocated when a header is first cut by a chunk boundary (idle connections never need it). */
  private headerBytes: Uint8Array | null = null;
  private headerFill = 0;
  private inPayload = false;
  // The frame being read.
  private frameOpcode = 0;
  private frameFin = false;
  private frameMasked = false;
  private frameKey = 0;
  private keyPos = 0;
  private remaining = 0;
  /** Control frame or compressed frame payload being gathered (allocated on first use, as the two below). */
  private _framePieces: PieceList | null = null;
  // The message being read: opcode 0 when none.
  private messageOpcode = 0;
  private messageCompressed = false;
  /** Bytes of the message so far (after decompression), for maxMessageSize. */
  private messageSize = 0;
  private firstFragment = true;
  private _messagePieces: PieceList | null = null;
  private _utf8: Utf8Validator | null = null;
  private events: Event[] = NO_EVENTS;

  // Writing: one ordered queue. Every frame (sent or automatic) is appended as it is made.
  private output: Uint8Array[] = [];
  /** Bytes in output. */
  private outputSize = 0;
  /** Our queued close frame (ourClose 'queued'): it stays behind everything, handed out last by takeOutput(). */
  private closeFrame: Uint8Array | null = null;
  /** Automatic pongs in output since the last takeOutput(), and where the last one sits. */
  private pongsPending = 0;
  private lastPongIndex = -1;
  /** The kind of the fragmented message being sent (sendFragment without fin), null when none. */
  private _sendingFragmentKind: 'text' | 'binary' | null = null;
  /** Client only, allocated at the first masked frame (servers never mask). */
  private keyPool: Uint8Array | null = null;
  private keyPoolPos = KEY_POOL_SIZE;

  constructor(options: ConnectionOptions) {
    if (options.role !== 'server' && options.role !== 'client') {
      throw new Error(`role must be 'server' or 'client' (got ${String(options.role)}).`);
    }
    this.role = options.role;
    this.isServer = options.role === 'server';
    this.limits = resolveLimits(options);
    this.autoPong = options.autoPong ?? true;
    this.streaming = options.streaming ?? false;
    this.deflate = options.perMessageDeflate ?? null;
    this.randomFill = options.randomFill ?? (this.isServer ? null : defaultRandomFill());
    if (!this.isServer && this.randomFill === null) {
      throw new Error(
        'A client connection needs random masking keys (RFC 6455 5.3), and this runtime has no ' +
          'crypto.getRandomValues: pass options.randomFill.',
      );
    }
  }

  // An idle connection holds none of these: it costs only what it has received.
  private get framePieces(): PieceList {
    return (this._framePieces ??= new PieceList());
  }
  private get messagePieces(): PieceList {
    return (this._messagePieces ??= new PieceList());
  }
  private get utf8(): Utf8Validator {
    return (this._utf8 ??= new Utf8Validator());
  }

  /** RFC 6455 7.1.3 and 7.1.4: CLOSING once our close frame is out, CLOSED once reading has stopped. */
  get state(): ConnectionState {
    if (this.reading !== 'open') return 'CLOSED';
    return this.ourClose === 'none' ? 'OPEN' : 'CLOSING';
  }

  /**
   * True while data may still be sent: until our close frame has left the codec. After a close or a
   * violation arrives, the messages delivered with it can still be answered ahead of the close frame.
   */
  get canSend(): boolean {
    return this.ourClose !== 'out';
  }

  /** True once this side should end the TCP connection (RFC 6455 7.1.1: the server first; a failed connection at once). */
  get shouldCloseTransport(): boolean {
    const reading = this.reading;
    switch (reading) {
      case 'open':
        return false;
      case 'closed':
        return this.isServer;
      case 'failed':
      case 'ended':
        return true;
      default:
        return unreachable(reading);
    }
  }

  /**
   * The kind of the fragmented message being sent: set by sendFragment(kind, data, false), null again
   * after its fin. While it is set, sendText/sendBinary throw and sendFragment must use this kind.
   */
  get sendingFragmentKind(): 'text' | 'binary' | null {
    return this._sendingFragmentKind;
  }

  /**
   * Feeds received bytes, split anywhere. Returns the events they complete. Never throws on peer
   * input. Payloads are unmasked in place: the chunk now belongs to the connection, and the events'
   * data may be views into it.
   */
  receive(chunk: Uint8Array): Event[] {
    const events: Event[] = [];
    if (this.reading !== 'open') return events;
    this.events = events;
    const end = chunk.length;
    let pos = 0;
    while (pos < end && this.reading === 'open') {
      if (!this.inPayload) {
        let n: number;
        if (this.headerFill === 0) {
          n = decodeHeader(chunk, pos, end, this.header);
          if (n === HEADER_INCOMPLETE) {
            (this.headerBytes ??= new Uint8Array(14)).set(chunk.subarray(pos, end));
            this.headerFill = end - pos;
            break;
          }
          if (n > 0) pos += n;
        } else {
          // Complete a header cut by a chunk boundary: copy at most what a header can need.
          const take = Math.min(14 - this.headerFill, end - pos);
          const headerBytes = this.headerBytes!;
          headerBytes.set(chunk.subarray(pos, pos + take), this.headerFill);
          n = decodeHeader(headerBytes, 0, this.headerFill + take, this.header);
          if (n === HEADER_INCOMPLETE) {
            this.headerFill += take;
            break;
          }
          if (n > 0) {
            pos += n - this.headerFill;
            this.headerFill = 0;
          }
        }
        if (n < 0) {
          // Above 2^53: beyond any limit we can hold (1009); top bit set: malformed (1002).
          this.fail(n === HEADER_LENGTH_TOP_BIT ? 'length-top-bit' : 'frame-too-big');
          break;
        }
        if (!this.startFrame()) break;
        if (this.remaining === 0) {
          this.endFrame();
          continue;
        }
        this.inPayload = true;
      }
      const start = pos;
      pos = Math.min(end, pos + this.remaining);
      if (this.frameMasked) this.keyPos = maskInPlace(chunk, start, pos, this.frameKey, this.keyPos);
      this.remaining -= pos - start;
      if (!this.onPayload(chunk.subarray(start, pos))) break;
      if (this.remaining === 0) {
        this.inPayload = false;
        this.endFrame();
      }
    }
    this.events = NO_EVENTS;
    return events;
  }

  /** The transport saw the end of the stream. A close event (1006) if the closing handshake did not complete. */
  receiveEof(): Event[] {
    const emitted = this.reading !== 'open';
    this.reading = 'ended';
    if (emitted) return [];
    return [
      {
        type: 'close',
        code: CloseCode.Abnormal,
        reason: 'The connection ended without a closing handshake',
        initiator: this.ourClose === 'none' ? 'peer' : 'local',
        wasClean: false,
      },
    ];
  }

  /**
   * Everything to write, in the order it was produced: the frames of every send call, the automatic
   * pongs, and last our queued close frame (the reply to the peer's close, or the close after a
   * violation). Write the buffers in order (a gathered write). Sends called before this (say, by the
   * handlers of the events that came with a close) still go ahead of that close frame; once this
   * hands it out, sends throw.
   */
  takeOutput(): Uint8Array[] {
    const output = this.output;
    const close = this.closeFrame;
    if (close !== null) {
      this.closeFrame = null;
      this.ourClose = 'out';
      output.push(close);
    } else if (output.length === 0) {
      return [];
    }
    this.output = [];
    this.outputSize = 0;
    this.pongsPending = 0;
    this.lastPongIndex = -1;
    return output;
  }

  /** Bytes that takeOutput() would hand out now: what the transport has not yet taken. */
  get outputBytes(): number {
    return this.closeFrame === null ? this.outputSize : this.outputSize + this.closeFrame.length;
  }

  /** Queues a text message. A Uint8Array must hold valid UTF-8 (it is not checked). */
  sendText(data: string | Uint8Array, options?: SendMessageOptions): void {
    this.sendMessage(Opcode.Text, typeof data === 'string' ? encodeUtf8(data) : data, 'sendText', options);
  }

  /** Queues a binary message. */
  sendBinary(data: Uint8Array, options?: SendMessageOptions): void {
    this.sendMessage(Opcode.Binary, data, 'sendBinary', options);
  }

  /**
   * A message framed once for many connections (topics): a server gets the prepared bytes themselves,
   * or the shared compressed frame when it negotiated server_no_context_takeover; with context
   * takeover it compresses with its own compressor, and a client masks its own copy. The frame joins
   * the one ordered output like any send; its arrays may be shared with other connections: write them,
   * never modify them.
   */
  sendPrepared(message: PreparedMessage): void {
    const opcode = message.opcode;
    const data = message.data;
    const options = message.compress ? undefined : { compress: false };
    if (!this.isServer) {
      this.sendMessage(opcode, data, 'sendPrepared', options);
      return;
    }
    const deflate = this.deflate;
    if (deflate === null || !message.compress || data.length < (deflate.threshold ?? 0)) {
      this.checkSendMessage('sendPrepared');
      this.queueShared(message.frames());
      return;
    }
    if (deflate.params.serverNoContextTakeover) {
      const shared = message.sharedDeflatedFrames(deflate.params.serverMaxWindowBits);
      if (shared !== null) {
        this.checkSendMessage('sendPrepared');
        this.queueShared(shared);
        return;
      }
    }
    message.compressions++;
    this.sendMessage(opcode, data, 'sendPrepared', options);
  }

  /**
   * Queues one frame of a message sent in pieces; `fin` ends the message. Fragments are never compressed,
   * even with permessage-deflate (whole-message compression needs the whole message; RFC 7692
   * lets any message go uncompressed). Text fragments may split UTF-8 sequences.
   */
  sendFragment(kind: 'text' | 'binary', data: Uint8Array, fin: boolean): void {
    this.checkCanSend('sendFragment');
    const opcode = kind === 'text' ? Opcode.Text : Opcode.Binary;
    let wireOpcode: number = opcode;
    const sending = this._sendingFragmentKind;
    if (sending !== null) {
      if (sending !== kind) {
        throw new Error(
          `sendFragment('${kind}') while a ${sending} message is ` +
            'being sent: finish that message (fin = true) before starting another.',
        );
      }
      wireOpcode = Opcode.Continuation;
    }
    this._sendingFragmentKind = fin ? null : kind;
    this.frame(wireOpcode, data, fin, false);
  }

  /** Queues a ping (RFC 6455 5.5.2), at most 125 bytes of payload. */
  sendPing(data?: Uint8Array | string): void {
    this.checkCanSend('sendPing');
    this.frame(Opcode.Ping, this.controlPayload(data, 'sendPing'), true, false);
  }

  /** Queues a pong: an answer when autoPong is off, or a heartbeat (5.5.3). */
  sendPong(data?: Uint8Array | string): void {
    this.checkCanSend('sendPong');
    this.frame(Opcode.Pong, this.controlPayload(data, 'sendPong'), true, false);
  }

  /**
   * Queues our close frame and starts the closing handshake (or answers, if the peer's close has not been answered yet: it
   * always is, automatically). No code sends an empty close payload (the peer sees 1005).
   */
  sendClose(code?: number, reason?: string): void {
    if (this.ourClose !== 'none') {
      throw new Error(
        `sendClose: this connection already sent its close frame (state ${this.state}); ` +
          'a connection closes once. Check state === "OPEN" before closing.',
      );
    }
    const payload = encodeClosePayload(code, reason);
    this.ourClose = 'out';
    this.frame(Opcode.Close, payload, true, false);
  }

  // --- reading -------------------------------------------------------------------------------

  /** Checks a decoded header against the protocol and the limits; false after failing. */
  private startFrame(): boolean {
    const h = this.header;
    const opcode = h.opcode;
    if (!isKnownOpcode(opcode)) return this.fail('reserved-opcode');
    // RFC 6455 5.2: RSV bits need an extension that defines them; RFC 7692 6: RSV1 marks a
    // compressed message on its first frame only.
    if (h.rsv2 || h.rsv3) return this.fail('reserved-bits');
    if (h.rsv1 && (this.deflate === null || opcode === Opcode.Continuation || opcode >= Opcode.Close)) {
      return this.fail(this.deflate === null ? 'rsv1-not-negotiated' : 'rsv1-misplaced');
    }
    // RFC 6455 5.1: clients mask, servers do not.
    if (h.masked !== this.isServer) return this.fail(this.isServer ? 'unmasked-frame' : 'masked-frame');
    const length = h.payloadLength;
    if (opcode >= Opcode.Close) {
      // RFC 6455 5.5: control frames are short and never fragmented.
      if (!h.fin) return this.fail('fragmented-control');
      if (length > MAX_CONTROL_PAYLOAD) return this.fail('control-too-long');
    } else {
      // RFC 6455 5.4: a message is a first frame, then continuations; only control frames interleave.
      if (opcode === Opcode.Continuation) {
        if (this.messageOpcode === 0) return this.fail('unexpected-continuation');
      } else {
        if (this.messageOpcode !== 0) return this.fail('expected-continuation');
        this.messageOpcode = opcode;
        this.messageCompressed = h.rsv1;
        this.messageSize = 0;
        this.firstFragment = true;
      }
      if (length > this.limits.maxFramePayload) return this.fail('frame-too-big');
      if (!this.messageCompressed) {
        if (length > this.limits.maxMessageSize - this.messageSize) return this.fail('message-too-big');
        this.messageSize += length;
      }
    }
    this.frameOpcode = opcode;
    this.frameFin = h.fin;
    this.frameMasked = h.masked;
    this.frameKey = h.maskKey;
    this.keyPos = 0;
    this.remaining = length;
    return true;
  }

  /** An unmasked slice of the current frame's payload. False after failing. */
  private onPayload(slice: Uint8Array): boolean {
    if (this.frameOpcode >= Opcode.Close || this.messageCompressed) {
      this.framePieces.push(slice);
      return true;
    }
    // Fail fast: validate text as it arrives, even before its frame is complete (RFC 6455 8.1).
    if (this.messageOpcode === Opcode.Text && this.utf8.push(slice) !== -1) return this.fail('invalid-utf8');
    this.messagePieces.push(slice);
    return true;
  }

  private endFrame(): void {
    const opcode = this.frameOpcode;
    if (opcode >= Opcode.Close) {
      this.onControl(opcode, this.framePieces.take());
      return;
    }
    const fin = this.frameFin;
    const text = this.messageOpcode === Opcode.Text;
    if (this.messageCompressed && !this.inflateFrame(text, fin)) return;
    if (fin && text && !this.utf8.finish()) {
      this.fail('incomplete-utf8');
      return;
    }
    if (this.streaming) {
      this.events.push({
        type: 'fragment',
        kind: text ? 'text' : 'binary',
        data: this.messagePieces.take(),
        first: this.firstFragment,
        last: fin,
      });
      this.firstFragment = false;
    } else if (fin) {
      this.events.push({ type: text ? 'text' : 'binary', data: this.messagePieces.take() });
    }
    if (fin) {
      this.messageOpcode = 0;
      this.messageCompressed = false;
      this.messageSize = 0;
    }
  }

  /** RFC 7692 6.2: inflate one frame of a compressed message, within the size budget. False after failing. */
  private inflateFrame(text: boolean, fin: boolean): boolean {
    const budget = this.limits.maxMessageSize - this.messageSize;
    const result = this.deflate!.decompressor.decompress(this.framePieces.take(), fin, budget);
    if (!result.ok) {
      if (result.reason === 'too-big') return this.fail('message-too-big');
      const detail: { message: string; code?: string } = { message: result.message };
      if (result.code !== undefined) detail.code = result.code;
      return this.fail('inflate-failed', detail);
    }
    for (const piece of result.data) {
      this.messageSize += piece.length;
      if (this.messageSize > this.limits.maxMessageSize) return this.fail('message-too-big');
      if (text && this.utf8.push(piece) !== -1) return this.fail('invalid-utf8');
      this.messagePieces.push(piece);
    }
    return true;
  }

  private onControl(opcode: number, payload: Uint8Array): void {
    if (opcode === Opcode.Ping) {
      this.events.push({ type: 'ping', data: payload });
      // RFC 6455 5.5.2: answer with the same payload, unless our close frame is out.
      if (this.autoPong && this.ourClose === 'none') this.queuePong(payload);
    } else if (opcode === Opcode.Pong) {
      this.events.push({ type: 'pong', data: payload });
    } else {
      this.onClose(payload);
    }
  }

  /** RFC 6455 5.5.1 and 7.1.5: a close frame arrived; answer it unless we closed first. */
  private onClose(payload: Uint8Array): void {
    const close = decodeClosePayload(payload);
    if (!close.ok) {
      this.fail(close.error);
      return;
    }
    let initiator: CloseInitiator = 'local';
    if (this.ourClose === 'none') {
      initiator = 'peer';
      // Echo the code (5.5.1); no code received, none sent.
      this.queueClose(encodeClosePayload(close.code === CloseCode.NoStatus ? undefined : close.code));
    }
    // RFC 6455 7.1.1: the server ends TCP first; the client waits for it (see shouldCloseTransport).
    this.stopReading('closed', close.code, close.reason, initiator, true, undefined);
  }

  /** RFC 6455 7.1.7: fail the connection for a peer's violation, through the one table. Returns false. */
  private fail(kind: ProtocolErrorKind, detail?: { message: string; code?: string }): false {
    const { code, reason } = PROTOCOL_ERRORS[kind];
    if (this.ourClose === 'none') this.queueClose(encodeClosePayload(code, reason));
    this.stopReading('failed', code, reason, 'local', false, kind, detail);
    return false;
  }

  /** Our close frame waits behind the output (and what handlers send before the next takeOutput()). */
  private queueClose(payload: Uint8Array): void {
    this.ourClose = 'queued';
    this.closeFrame = encodeFrameWhole(Opcode.Close, payload, true, this.maskKeyForRole());
  }

  /** Called once, from receive(): nothing more is parsed, and the one close event goes out. */
  private stopReading(
    reading: 'closed' | 'failed',
    code: number,
    reason: string,
    initiator: CloseInitiator,
    wasClean: boolean,
    error: ProtocolErrorKind | undefined,
    detail?: { message: string; code?: string },
  ): void {
    this.reading = reading;
    this._messagePieces?.clear();
    this._framePieces?.clear();
    const event: CloseEvent = { type: 'close', code, reason, initiator, wasClean };
    if (error !== undefined) event.error = error;
    if (detail !== undefined) event.detail = detail;
    this.events.push(event);
  }

  // --- writing -------------------------------------------------------------------------------

  /** RFC 6455 5.5.2: every ping gets its pong, in order, up to MAX_PENDING_PONGS waiting (see there). */
  private queuePong(payload: Uint8Array): void {
    // One buffer, a copy: a pong never pins the received chunk, and replacing it is one assignment.
    const frame = encodeFrameWhole(Opcode.Pong, payload, true, this.maskKeyForRole());
    const output = this.output;
    if (this.pongsPending >= MAX_PENDING_PONGS) {
      this.outputSize += frame.length - output[this.lastPongIndex]!.length;
      output[this.lastPongIndex] = frame;
      return;
    }
    this.pongsPending++;
    this.lastPongIndex = output.length;
    output.push(frame);
    this.outputSize += frame.length;
  }

  private sendMessage(
    opcode: number,
    data: Uint8Array,
    method: string,
    options: SendMessageOptions | undefined,
  ): void {
    this.checkSendMessage(method);
    const deflate = this.deflate;
    if (deflate !== null && options?.compress !== false && data.length >= (deflate.threshold ?? 0)) {
      // RFC 7692 6: RSV1 on the (only) frame marks the compressed message.
      this.frame(opcode, deflate.compressor.compress(data), true, true);
      return;
    }
    this.frame(opcode, data, true, false);
  }

  /** A whole message may start: our close frame is not out, and no fragmented message is under way. */
  private checkSendMessage(method: string): void {
    this.checkCanSend(method);
    if (this._sendingFragmentKind !== null) {
      throw new Error(
        `${method}: a fragmented message is being sent; finish it with sendFragment(kind, data, true) first.`,
      );
    }
  }

  private controlPayload(data: Uint8Array | string | undefined, method: string): Uint8Array {
    const bytes = toBytes(data);
    if (bytes.length > MAX_CONTROL_PAYLOAD) {
      throw new Error(
        `${method}: the payload is ${bytes.length} bytes; control frames carry at most ${MAX_CONTROL_PAYLOAD} ` +
          '(RFC 6455 5.5). Send a shorter payload.',
      );
    }
    return bytes;
  }

  private checkCanSend(method: string): void {
    if (this.ourClose === 'out') {
      throw new Error(
        `${method}: this connection already sent its close frame (state ${this.state}), and nothing may ` +
          'follow it (RFC 6455 5.5.1). Check canSend before sending.',
      );
    }
  }

  /** Appends a frame to the output: [header, payload] (a server's payload is the caller's array, not a copy). */
  private frame(opcode: number, payload: Uint8Array, fin: boolean, rsv1: boolean): void {
    const output = this.output;
    const before = output.length;
    encodeFrameInto(output, opcode, payload, fin, rsv1, this.maskKeyForRole());
    let size = 0;
    for (let i = before; i < output.length; i++) size += output[i]!.length;
    this.outputSize += size;
  }

  /** Frames built elsewhere (a PreparedMessage's), queued as they are: shared, never modified. */
  private queueShared(frames: readonly Uint8Array[]): void {
    for (const f of frames) {
      this.output.push(f);
      this.outputSize += f.length;
    }
  }

  private maskKeyForRole(): number | null {
    return this.isServer ? null : this.nextMaskKey();
  }

  private nextMaskKey(): number {
    const pool = (this.keyPool ??= new Uint8Array(KEY_POOL_SIZE));
    if (this.keyPoolPos >= KEY_POOL_SIZE) {
      this.randomFill!(pool);
      this.keyPoolPos = 0;
    }
    const key = readMaskKey(pool, this.keyPoolPos);
    this.keyPoolPos += 4;
    return key;
  }
}

/** The default branch of a switch that covers every member of a union: a compile error if one is missing. */
function unreachable(value: never): never {
  throw new Error(`unreachable: ${String(value)}`);
}
