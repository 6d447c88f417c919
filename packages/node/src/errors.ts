// The errors a WebSocket emits. Codes are the strings `ws` uses, so that programs moving from `ws`
// match on the same values; each of the codec's violation kinds maps to one (FRAME_ERROR_CODES).

import type { ProtocolErrorKind } from '@rfc6455/codec';

/** ws's code for each way a peer can break the protocol (the codec's PROTOCOL_ERRORS kinds). */
export const FRAME_ERROR_CODES = {
  'length-top-bit': 'WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH',
  'reserved-opcode': 'WS_ERR_INVALID_OPCODE',
  'reserved-bits': 'WS_ERR_UNEXPECTED_RSV_2_3',
  'rsv1-not-negotiated': 'WS_ERR_UNEXPECTED_RSV_1',
  'rsv1-misplaced': 'WS_ERR_UNEXPECTED_RSV_1',
  'unmasked-frame': 'WS_ERR_EXPECTED_MASK',
  'masked-frame': 'WS_ERR_UNEXPECTED_MASK',
  'fragmented-control': 'WS_ERR_EXPECTED_FIN',
  'control-too-long': 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH',
  'unexpected-continuation': 'WS_ERR_INVALID_OPCODE',
  'expected-continuation': 'WS_ERR_INVALID_OPCODE',
  'close-payload-length': 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH',
  'invalid-close-code': 'WS_ERR_INVALID_CLOSE_CODE',
  'invalid-close-reason': 'WS_ERR_INVALID_UTF8',
  'invalid-utf8': 'WS_ERR_INVALID_UTF8',
  'incomplete-utf8': 'WS_ERR_INVALID_UTF8',
  'inflate-failed': 'WS_ERR_INFLATE_FAILED',
  'frame-too-big': 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH',
  'message-too-big': 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH',
} as const satisfies Record<ProtocolErrorKind, `WS_ERR_${string}`>;

/** Codes of errors raised by this package itself rather than by a peer's frames. */
export type TransportErrorCode =
  | 'WS_ERR_CLOSED'
  | 'WS_ERR_NOT_OPEN'
  | 'WS_ERR_SOCKET'
  | 'WS_ERR_ABORTED'
  | 'WS_ERR_HANDSHAKE'
  | 'WS_ERR_INVALID_HANDSHAKE'
  | 'WS_ERR_HANDSHAKE_TIMEOUT'
  | 'WS_ERR_HTTP2_UNSUPPORTED'
  | 'WS_ERR_UNEXPECTED_RESPONSE'
  | 'WS_ERR_REDIRECT'
  | 'WS_ERR_MAX_REDIRECTS'
  | 'WS_ERR_BROKER';

/**
 * Every `code` a WebSocketError can carry; socket and zlib errors pass their own codes through
 * (`ECONNRESET`, `Z_DATA_ERROR`, ...), as in `ws`.
 */
export type WebSocketErrorCode =
  (typeof FRAME_ERROR_CODES)[ProtocolErrorKind] | TransportErrorCode | (string & NonNullable<unknown>);

const kWebSocketError = Symbol('rfc6455.webSocketError');

/**
 * An Error from a WebSocket: `code` is a stable string, `closeCode` the close code when one applies.
 * Frame errors that `ws` raises as RangeError (1002, 1009) are WebSocketRangeError, which is a
 * RangeError and also `instanceof WebSocketError`.
 */
export class WebSocketError extends Error {
  readonly code: WebSocketErrorCode;
  readonly closeCode: number | undefined;
  readonly [kWebSocketError] = true;
  constructor(message: string, code: WebSocketErrorCode, closeCode?: number) {
    super(message);
    this.name = 'WebSocketError';
    this.code = code;
    this.closeCode = closeCode;
  }
  static override [Symbol.hasInstance](value: unknown): boolean {
    return typeof value === 'object' && value !== null && kWebSocketError in value;
  }
}

/** A frame error that `ws` reports as a RangeError (protocol errors and size limits). */
export class WebSocketRangeError extends RangeError {
  readonly code: WebSocketErrorCode;
  readonly closeCode: number | undefined;
  readonly [kWebSocketError] = true;
  constructor(message: string, code: WebSocketErrorCode, closeCode?: number) {
    super(message);
    this.name = 'RangeError';
    this.code = code;
    this.closeCode = closeCode;
  }
}

/**
 * The error for a peer violation the codec reported: ws's code and class, the RFC's close code. A
 * decompressor's own code (zlib's `Z_DATA_ERROR`, ...) wins, as ws passes zlib's errors through.
 */
export function frameError(
  kind: ProtocolErrorKind,
  reason: string,
  closeCode: number,
  detail?: { message: string; code?: string },
): WebSocketError {
  const why = detail === undefined ? reason : `${reason}: ${detail.message}`;
  const message = `Invalid WebSocket frame: ${why} (close code ${closeCode})`;
  const code = detail?.code ?? FRAME_ERROR_CODES[kind];
  // ws raises UTF-8 errors (1007) as plain Errors and the rest as RangeErrors.
  if (closeCode === 1007) return new WebSocketError(message, code, closeCode);
  return new WebSocketRangeError(message, code, closeCode);
}

/** The error for a send to a socket that closed before the data was written. */
export function closedError(): WebSocketError {
  return new WebSocketError('the socket is closed; the data was not sent', 'WS_ERR_CLOSED');
}
