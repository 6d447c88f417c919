// RFC 6455 5.5.1 and 7.4: close frames, status codes, and the table of protocol violations that
// turn peer input into a close.
import { encodeUtf8, decodeUtf8 } from './text.js';
import { Utf8Validator } from './utf8.js';

/** RFC 6455 7.4.1 and the IANA registry (11.7). */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  ProtocolError: 1002,
  UnsupportedData: 1003,
  /** Never on the wire: "no status code was present" (7.4.1). */
  NoStatus: 1005,
  /** Never on the wire: the connection closed without a close frame (7.4.1). */
  Abnormal: 1006,
  InvalidPayload: 1007,
  PolicyViolation: 1008,
  MessageTooBig: 1009,
  MandatoryExtension: 1010,
  InternalError: 1011,
  ServiceRestart: 1012,
  TryAgainLater: 1013,
  BadGateway: 1014,
  /** Never on the wire: the TLS handshake failed (7.4.1). */
  TlsHandshake: 1015,
} as const;
export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/** RFC 6455 5.5: 125 payload bytes minus the 2-byte code. */
export const MAX_CLOSE_REASON_BYTES = 123;

/**
 * Codes that may appear in a close frame (7.4.1, 7.4.2): the defined ones except 1004 (reserved),
 * 1005, 1006 and 1015 (never on the wire), the registered 1012-1014, and 3000-4999 for libraries,
 * frameworks and applications. Anything else received is a protocol error (1002). The same set
 * decides what we may send and what we accept, so there is one check for both.
 */
export function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

/** Human description of the codes one may send, for error messages. */
export const SENDABLE_CLOSE_CODES = '1000-1003, 1007-1014 or 3000-4999';

/**
 * Encodes a close frame payload. `code` undefined gives an empty payload (the peer sees 1005).
 * Throws on a code that may not be sent or a reason over 123 UTF-8 bytes: both are caller errors.
 */
export function encodeClosePayload(code?: number, reason = ''): Uint8Array {
  if (code === undefined) {
    if (reason !== '') {
      throw new Error('A close reason needs a close code: pass a code such as 1000 along with the reason.');
    }
    return new Uint8Array(0);
  }
  if (!Number.isInteger(code) || !isValidCloseCode(code)) {
    throw new Error(
      `Close code ${String(code)} may not be sent (RFC 6455 7.4): use ${SENDABLE_CLOSE_CODES}, ` +
        'or no code at all.',
    );
  }
  const reasonBytes = encodeUtf8(reason);
  if (reasonBytes.length > MAX_CLOSE_REASON_BYTES) {
    throw new Error(
      `The close reason is ${reasonBytes.length} bytes of UTF-8; at most ${MAX_CLOSE_REASON_BYTES} fit ` +
        'in a close frame (RFC 6455 5.5): shorten it.',
    );
  }
  const payload = new Uint8Array(2 + reasonBytes.length);
  payload[0] = code >>> 8;
  payload[1] = code & 0xff;
  payload.set(reasonBytes, 2);
  return payload;
}

export type ClosePayload =
  | { ok: true; code: number; reason: string }
  | { ok: false; error: 'close-payload-length' | 'invalid-close-code' | 'invalid-close-reason' };

/**
 * Decodes a received close frame payload (5.5.1). An empty payload means 1005 (no status). One byte,
 * a code no peer may send, or a reason that is not UTF-8 are violations (the kind says which).
 */
export function decodeClosePayload(payload: Uint8Array): ClosePayload {
  if (payload.length === 0) return { ok: true, code: CloseCode.NoStatus, reason: '' };
  if (payload.length === 1) return { ok: false, error: 'close-payload-length' };
  const code = (payload[0]! << 8) | payload[1]!;
  if (!isValidCloseCode(code)) return { ok: false, error: 'invalid-close-code' };
  const reasonBytes = payload.subarray(2);
  const validator = new Utf8Validator();
  if (validator.push(reasonBytes) !== -1 || !validator.finish())
    return { ok: false, error: 'invalid-close-reason' };
  return { ok: true, code, reason: decodeUtf8(reasonBytes) };
}

/**
 * Every way peer input can break the protocol, with the close code it earns (RFC 6455 7.4.1) and
 * the reason sent in our close frame (at most 123 bytes). The connection fails through this one table.
 */
export const PROTOCOL_ERRORS = {
  'length-top-bit': { code: 1002, reason: 'Frame length has its most significant bit set (RFC 6455 5.2)' },
  'reserved-opcode': { code: 1002, reason: 'Reserved opcode (RFC 6455 5.2)' },
  'reserved-bits': {
    code: 1002,
    reason: 'RSV2 or RSV3 set without a negotiated extension that defines it (RFC 6455 5.2)',
  },
  'rsv1-not-negotiated': {
    code: 1002,
    reason: 'RSV1 set without a negotiated extension that defines it (RFC 6455 5.2)',
  },
  'rsv1-misplaced': {
    code: 1002,
    reason: 'RSV1 is only allowed on the first frame of a data message (RFC 7692 6)',
  },
  'unmasked-frame': { code: 1002, reason: 'Client frames must be masked (RFC 6455 5.1)' },
  'masked-frame': { code: 1002, reason: 'Server frames must not be masked (RFC 6455 5.1)' },
  'fragmented-control': { code: 1002, reason: 'Control frames must not be fragmented (RFC 6455 5.5)' },
  'control-too-long': { code: 1002, reason: 'Control frame payload over 125 bytes (RFC 6455 5.5)' },
  'unexpected-continuation': {
    code: 1002,
    reason: 'Continuation frame without a message to continue (RFC 6455 5.4)',
  },
  'expected-continuation': {
    code: 1002,
    reason: 'New data frame while a fragmented message is unfinished (RFC 6455 5.4)',
  },
  'close-payload-length': { code: 1002, reason: 'Close frame payload of 1 byte (RFC 6455 5.5.1)' },
  'invalid-close-code': { code: 1002, reason: 'Close code not allowed on the wire (RFC 6455 7.4)' },
  'invalid-close-reason': { code: 1007, reason: 'Close reason is not valid UTF-8 (RFC 6455 5.5.1)' },
  'invalid-utf8': { code: 1007, reason: 'Text message is not valid UTF-8 (RFC 6455 8.1)' },
  'incomplete-utf8': { code: 1007, reason: 'Text message ends inside a UTF-8 sequence (RFC 6455 8.1)' },
  'inflate-failed': { code: 1007, reason: 'Compressed message could not be inflated (RFC 7692 6.2)' },
  'frame-too-big': { code: 1009, reason: 'Frame payload exceeds the size limit' },
  'message-too-big': { code: 1009, reason: 'Message exceeds the size limit' },
} as const satisfies Record<string, { code: number; reason: string }>;

export type ProtocolErrorKind = keyof typeof PROTOCOL_ERRORS;
