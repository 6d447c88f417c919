// @rfc6455/streams: a WebSocket over any WHATWG { readable, writable } byte stream, around @rfc6455/codec.
export { accept, connect, HandshakeError, DEFAULT_HANDSHAKE_TIMEOUT } from './handshake.js';
export type { AcceptOptions, ConnectOptions, PerMessageDeflateOptions } from './handshake.js';
export { WebSocket, WebSocketError, DEFAULT_CLOSE_TIMEOUT } from './websocket.js';
export type {
  BinaryType,
  ByteStream,
  SendData,
  SocketOptions,
  WebSocketCloseInfo,
  WebSocketStreamOpenInfo,
} from './websocket.js';
export {
  PakoMessageCompressor,
  PakoMessageDecompressor,
  createPakoPerMessageDeflate,
  resolveDeflateEngine,
} from './deflate.js';
export type { DeflateEngine, DeflateFactory, DeflateRuntimeOptions, DeflateTuning } from './deflate.js';
