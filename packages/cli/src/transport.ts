// The one place the CLI names its WebSocket implementation. The CLI is written against the
// ws-compatible API of @rfc6455/node, so `ws` could stand in here by changing this import only.
export { WebSocket, WebSocketServer } from '@rfc6455/node';
