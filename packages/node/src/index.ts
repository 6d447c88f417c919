// @rfc6455/node: a WebSocket server and client for Node around @rfc6455/codec.
export { WebSocket } from './websocket.js';
export { FRAME_ERROR_CODES, WebSocketError, WebSocketRangeError } from './errors.js';
export type { TransportErrorCode, WebSocketErrorCode } from './errors.js';
export type { BinaryType, MessageData, OpenSetup, RawData, SendData, SendOptions } from './websocket.js';
export { WebSocketServer, isOriginAllowed, serializeOrigin } from './server.js';
export type {
  HandshakeError,
  ServerOptions,
  VerifyClientAsync,
  VerifyClientCallback,
  VerifyClientInfo,
  VerifyClientSync,
} from './server.js';
export { parseWebSocketUrl } from './client.js';
export { createWebSocketStream } from './stream.js';
export { DEFAULT_PUBLISH_MAX_BUFFERED, MemoryBroker } from './topics.js';
export type { Broker, PublishOptions, SlowSubscriberPolicy, TopicOptions } from './topics.js';
export type { ClientOptions } from './websocket.js';
export type { KeepaliveOptions, PerMessageDeflateOptions, SocketOptions } from './options.js';
export { WsCloseEvent, WsErrorEvent, WsEvent, WsMessageEvent } from './events.js';
export type { EventListenerLike } from './events.js';
export { ZlibMessageCompressor, ZlibMessageDecompressor, createPerMessageDeflate } from './deflate.js';
export type { DeflateTuning, PerMessageDeflateRuntimeOptions, ZlibEngineKind } from './deflate.js';
export { WebSocket as default } from './websocket.js';
