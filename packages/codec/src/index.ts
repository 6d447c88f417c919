// @rfc6455/codec: the public API, listed by name. Each name here is in README.md and follows semver;
// what only this repository's transports, tests and benchmarks need is in internal.ts
// ('@rfc6455/codec/internal'). index.test.ts fails when this list and the README disagree.

// The connection state machine (RFC 6455 5 to 7).
export { Connection, MAX_PENDING_PONGS } from './connection.js';
export type {
  CloseEvent,
  CloseInitiator,
  ConnectionOptions,
  ConnectionState,
  Event,
  Role,
  SendMessageOptions,
} from './connection.js';
export { DEFAULT_LIMITS, resolveLimits } from './limits.js';
export type { Limits } from './limits.js';
export { MAX_CONTROL_PAYLOAD } from './frames.js';
export { PreparedMessage } from './prepared.js';
export type { PrepareMessageOptions, SharedDeflate } from './prepared.js';

// Close codes and the violation table (RFC 6455 7.4).
export {
  CloseCode,
  MAX_CLOSE_REASON_BYTES,
  PROTOCOL_ERRORS,
  decodeClosePayload,
  encodeClosePayload,
  isValidCloseCode,
} from './close.js';
export type { ClosePayload, ProtocolErrorKind } from './close.js';

// The opening handshake (RFC 6455 4).
export {
  HANDSHAKE_ERRORS,
  WEBSOCKET_GUID,
  acceptServerHandshake,
  checkServerResponse,
  computeAccept,
  createClientRequest,
} from './handshake.js';
export type {
  ClientHandshakeResult,
  ClientRequest,
  ClientRequestOptions,
  HandshakeErrorKind,
  ServerHandshakeOptions,
  ServerHandshakeResult,
} from './handshake.js';

// The opening handshake over HTTP/2 (RFC 8441): an extended CONNECT, a 200, no key and no accept.
export {
  EXTENDED_CONNECT_ERRORS,
  acceptExtendedConnect,
  checkExtendedConnectResponse,
  createExtendedConnectRequest,
} from './rfc8441.js';
export type {
  ExtendedConnectErrorKind,
  ExtendedConnectRequest,
  ExtendedConnectRequestOptions,
  ExtendedConnectResult,
  FieldList,
} from './rfc8441.js';

// HTTP/1.1 heads, header helpers and responses.
export {
  DEFAULT_MAX_HEADERS,
  DEFAULT_MAX_HEAD_BYTES,
  HeadParser,
  STATUS_TEXT,
  buildErrorResponse,
  buildHttpResponse,
  countHeader,
  equalsIgnoringAsciiCase,
  firstHeader,
  getHeader,
  getHeaderValues,
  headFromRaw,
  headerHasToken,
  isToken,
  isValidHeaderValue,
  parseHead,
  splitList,
} from './http.js';
export type { HeadLimits, HeadParseResult, HeaderList, HttpHead } from './http.js';

// Extensions (RFC 6455 9.1) and permessage-deflate negotiation (RFC 7692).
export { formatExtensions, parseExtensionHeaders, parseExtensions } from './extensions.js';
export type { Extension, ExtensionListResult, ExtensionParam } from './extensions.js';
export {
  acceptDeflateOffers,
  checkDeflateResponse,
  createDeflateOffer,
  validateDeflateClientOptions,
  validateDeflateServerOptions,
} from './permessage-deflate.js';
export type {
  DeflateResponseResult,
  InflateResult,
  MessageCompressor,
  MessageDecompressor,
  PerMessageDeflate,
  PerMessageDeflateClientOptions,
  PerMessageDeflateParams,
  PerMessageDeflateServerOptions,
} from './permessage-deflate.js';

// UTF-8 (RFC 3629; RFC 6455 8.1).
export { Utf8Validator, isValidUtf8 } from './utf8.js';
export type { Utf8State } from './utf8.js';
export { decodeUtf8, encodeUtf8 } from './text.js';
