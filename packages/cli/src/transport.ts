// The one place the CLI names its WebSocket implementation. It is written against the ws-compatible
// API that @rfc6455/node offers, so switching implementations means changing this import only.
export { WebSocket, WebSocketServer } from 'ws';
