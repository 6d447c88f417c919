// @rfc6455/codec/internal: what this repository's own transports, tests, benchmarks and browser
// scenario use beyond the public API. No semver promise: any name here may change or go in any
// release. Other code should use '@rfc6455/codec' (index.ts), which lists the supported API.

// Frames (RFC 6455 5.2, 5.3): the Connection builds and reads them; these are its parts.
export {
  HEADER_INCOMPLETE,
  HEADER_LENGTH_TOP_BIT,
  HEADER_LENGTH_UNSAFE,
  Opcode,
  decodeHeader,
  encodeFrame,
  encodeHeader,
  headerSize,
  isControlOpcode,
  isKnownOpcode,
  maskInPlace,
  newFrameHeader,
  readMaskKey,
  writeHeader,
} from './frames.js';
export type { ControlOpcode, DataOpcode, FrameHeader } from './frames.js';

// The pieces behind Sec-WebSocket-Accept (computeAccept is the public face).
export { base64Decode, base64Encode, base64EncodeInto, isBase64Char } from './base64.js';
export type { Base64DecodeOptions } from './base64.js';
export { sha1, sha1Into } from './sha1.js';

// UTF-8 without TextEncoder/TextDecoder (encodeUtf8/decodeUtf8 pick them when needed).
export { decodeUtf8Fallback, encodeUtf8Fallback } from './text.js';

// Grammar helpers behind the handshake.
export { isTokenChar, isValidHost } from './http.js';
export { formatExtension } from './extensions.js';
export { PERMESSAGE_DEFLATE } from './permessage-deflate.js';
export { SENDABLE_CLOSE_CODES } from './close.js';
