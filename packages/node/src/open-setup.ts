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
  /**
   * Handle the transport's 'close' on the next turn of the event loop. For HTTP/2 streams: Node's
   * http2 (seen on 20.20) spins forever when a stream is destroyed or reset from inside another
   * stream's 'close' event, which is where a 'close' listener that terminates other sockets would run.
   */
  closeLater?: boolean;
}
