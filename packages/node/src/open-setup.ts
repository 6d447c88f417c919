// What a finished opening handshake hands the WebSocket, on either side: the server's (server.ts)
// and the client's (client.ts) both end in one of these, and websocket.ts opens the connection.
import type { Duplex } from 'node:stream';
import type { PerMessageDeflate } from '@rfc6455/codec';
import type { SocketOptions } from './options.js';

export interface OpenSetup {
  socket: Duplex;
  /** Bytes that followed the handshake's head in the same read: the first frames. */
  head: Uint8Array;
  role: 'server' | 'client';
  protocol: string;
  extensions: string;
  perMessageDeflate: PerMessageDeflate | null;
  options: SocketOptions;
  randomFill?: (bytes: Uint8Array) => void;
}
