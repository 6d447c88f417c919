// Types for the CommonJS entry (index.cjs): the shape of @types/ws, a class merged with a namespace
// under `export =`, made of the ES module's own declarations so both entries describe one set of
// objects. A CommonJS declaration file may take types from an ES module with resolution-mode.
import type * as esm from '../dist/index.js' with { 'resolution-mode': 'import' };

declare class WebSocket extends esm.WebSocket {
  /** The class itself, for TypeScript's `import WebSocket from` compiled without esModuleInterop. */
  static default: typeof esm.WebSocket;
}

declare namespace WebSocket {
  // ws's names.
  const Server: typeof esm.WebSocketServer;
  type Server = esm.WebSocketServer;
  const WebSocketServer: typeof esm.WebSocketServer;
  type WebSocketServer = esm.WebSocketServer;
  const WebSocket: typeof esm.WebSocket;
  type WebSocket = esm.WebSocket;
  const createWebSocketStream: typeof esm.createWebSocketStream;

  // The ES module's other named exports.
  const WebSocketError: typeof esm.WebSocketError;
  type WebSocketError = esm.WebSocketError;
  const WsEvent: typeof esm.WsEvent;
  type WsEvent<T = unknown> = esm.WsEvent<T>;
  const WsMessageEvent: typeof esm.WsMessageEvent;
  type WsMessageEvent<T = unknown, D = unknown> = esm.WsMessageEvent<T, D>;
  const WsCloseEvent: typeof esm.WsCloseEvent;
  type WsCloseEvent<T = unknown> = esm.WsCloseEvent<T>;
  const WsErrorEvent: typeof esm.WsErrorEvent;
  type WsErrorEvent<T = unknown> = esm.WsErrorEvent<T>;
  const ZlibMessageCompressor: typeof esm.ZlibMessageCompressor;
  type ZlibMessageCompressor = esm.ZlibMessageCompressor;
  const ZlibMessageDecompressor: typeof esm.ZlibMessageDecompressor;
  type ZlibMessageDecompressor = esm.ZlibMessageDecompressor;
  const createPerMessageDeflate: typeof esm.createPerMessageDeflate;
  const parseWebSocketUrl: typeof esm.parseWebSocketUrl;

  type BinaryType = esm.BinaryType;
  type ClientOptions = esm.ClientOptions;
  type DeflateTuning = esm.DeflateTuning;
  type EventListenerLike<E> = esm.EventListenerLike<E>;
  type KeepaliveOptions = esm.KeepaliveOptions;
  type MessageData = esm.MessageData;
  type OpenSetup = esm.OpenSetup;
  type PerMessageDeflateOptions = esm.PerMessageDeflateOptions;
  type PerMessageDeflateRuntimeOptions = esm.PerMessageDeflateRuntimeOptions;
  type RawData = esm.RawData;
  type SendData = esm.SendData;
  type SendOptions = esm.SendOptions;
  type ServerOptions = esm.ServerOptions;
  type SocketOptions = esm.SocketOptions;
  type VerifyClientAsync = esm.VerifyClientAsync;
  type VerifyClientCallback = esm.VerifyClientCallback;
  type VerifyClientInfo = esm.VerifyClientInfo;
  type VerifyClientSync = esm.VerifyClientSync;
  type ZlibEngineKind = esm.ZlibEngineKind;
}

export = WebSocket;
