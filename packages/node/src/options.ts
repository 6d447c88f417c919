// Options shared by the server's and the client's sockets, with their defaults in one place.

/** Dead-peer detection: a ping every `interval` ms; no pong within `timeout` ms -> terminate (1006). */
export interface KeepaliveOptions {
  /** Milliseconds between pings. */
  interval: number;
  /** Milliseconds to wait for a pong after each ping (default: `interval`). */
  timeout?: number;
}

/** Tunes the zlib side of permessage-deflate (the offer/acceptance rules live in the codec). */
export interface PerMessageDeflateOptions {
  /** Ask for / accept server_no_context_takeover (RFC 7692 7.1.1.1). */
  serverNoContextTakeover?: boolean;
  /** Ask for / accept client_no_context_takeover (RFC 7692 7.1.1.2). */
  clientNoContextTakeover?: boolean;
  /** Limit the server's LZ77 window, 8..15 (RFC 7692 7.1.2.1). */
  serverMaxWindowBits?: number;
  /** Limit the client's LZ77 window, 8..15 (RFC 7692 7.1.2.2). */
  clientMaxWindowBits?: number;
  /** Messages smaller than this many bytes are sent uncompressed (default 1024). */
  threshold?: number;
  /** zlib level 0..9 for what we send (default 3: fast; zlib's own default is 6, see deflate.ts). */
  level?: number;
  /** zlib memLevel 1..9 for what we send. */
  memLevel?: number;
  /** zlib strategy for what we send. */
  strategy?: number;
}

export interface SocketOptions {
  /**
   * Largest message accepted, in bytes, across fragments and after decompression; a larger frame or
   * message closes the connection with 1009 (default: the codec's limits, 16 MiB per frame and 64 MiB
   * per message; when set, both limits take this value).
   */
  maxPayload?: number;
  /** Answer pings automatically (default true). Pending pongs are bounded: see websocket.ts. */
  autoPong?: boolean;
  /** Milliseconds to wait for the closing handshake and the peer's TCP close before destroying (default 30 000). */
  closeTimeout?: number;
  /** Ping/pong dead-peer detection (default: off). */
  keepalive?: KeepaliveOptions | false;
  /**
   * Closes a peer that does not read: a send made while more than this many bytes wait
   * (`bufferedAmount`) fails, and the connection is closed with 1008 (policy violation, RFC 6455
   * 7.4.1) and the reason 'too slow: send buffer over the limit'; 'close' reports 1008. What the
   * connection holds stays under this limit plus one message. Default: off (0 or unset). `ws` has no
   * such option.
   */
  maxBufferedAmount?: number;
}

export const DEFAULT_CLOSE_TIMEOUT = 30_000;
export const DEFAULT_HANDSHAKE_TIMEOUT = 10_000;
export const DEFAULT_SHUTDOWN_TIMEOUT = 5_000;
export const DEFAULT_MAX_REDIRECTS = 10;

export function checkTimeout(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new Error(`${name} must be a number of milliseconds >= 0, got ${String(value)}`);
  }
  return value;
}

export function checkMaxBufferedAmount(value: number | undefined): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new Error(`maxBufferedAmount must be a whole number of bytes (0: off), got ${String(value)}`);
  }
  return value;
}

export function checkKeepalive(
  value: KeepaliveOptions | false | undefined,
): { interval: number; timeout: number } | null {
  if (value === undefined || value === false) return null;
  if (typeof value !== 'object' || value === null) {
    throw new Error('keepalive must be { interval, timeout? } in milliseconds, or false');
  }
  const interval = checkTimeout('keepalive.interval', value.interval, NaN);
  if (!(interval > 0)) throw new Error('keepalive.interval must be a positive number of milliseconds');
  const timeout = checkTimeout('keepalive.timeout', value.timeout, interval);
  return { interval, timeout };
}
