// createWebSocketStream: a node:stream Duplex over a WebSocket, for pipeline() and friends.
//
//   readable side: each message's bytes, in order (message boundaries are not kept)
//   writable side: each chunk is one message (Buffer -> binary, string -> text with decodeStrings: false)
//   end()         -> close(1000) and wait for the closing handshake
//   destroy()     -> terminate() unless the WebSocket is closing or closed already
//
// Backpressure in both directions: a full readable buffer pauses the socket (TCP pushes back on the
// peer); a write waits for the WebSocket's send callback, which runs once the socket took the bytes.

import { Duplex } from 'node:stream';
import type { DuplexOptions } from 'node:stream';
import { WebSocket } from './websocket.js';

function bytesOf(data: Buffer | ArrayBuffer | Buffer[] | Blob): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  if (data instanceof ArrayBuffer) return Buffer.from(data);
  // Blob: not produced, binaryType is set to 'nodebuffer' below.
  throw new TypeError('createWebSocketStream: unexpected Blob message');
}

/**
 * Wraps `ws` (open or still connecting) in a Duplex. Options go to the Duplex (`highWaterMark`,
 * `allowHalfOpen` (default false), `decodeStrings`, `readableObjectMode` to read text messages as
 * strings, ...). Sets `ws.binaryType` to 'nodebuffer'. A WebSocket error destroys the stream with that
 * error; as with the WebSocket itself, it is emitted only when someone listens (pipeline() does).
 */
export function createWebSocketStream(ws: WebSocket, options: DuplexOptions = {}): Duplex {
  if (!(ws instanceof WebSocket)) {
    throw new TypeError('createWebSocketStream(ws): pass a WebSocket from @rfc6455/node');
  }
  ws.binaryType = 'nodebuffer';
  const objectMode = options.readableObjectMode === true || options.objectMode === true;
  let ended = false;

  const duplex = new Duplex({
    allowHalfOpen: false,
    ...options,
    read() {
      if (ws.readyState === WebSocket.OPEN && ws.isPaused) ws.resume();
    },
    write(chunk: Buffer | string, _encoding: BufferEncoding, callback: (err?: Error | null) => void) {
      const send = (): void => {
        try {
          ws.send(chunk, { binary: typeof chunk !== 'string' }, (err) => callback(err ?? null));
        } catch (err) {
          callback(err as Error);
        }
      };
      if (ws.readyState !== WebSocket.CONNECTING) return send();
      whenOpen(send, callback);
    },
    final(callback: (err?: Error | null) => void) {
      const close = (): void => {
        if (ws.readyState === WebSocket.CLOSED) return callback();
        ws.once('close', () => callback());
        ws.close(1000);
      };
      if (ws.readyState !== WebSocket.CONNECTING) return close();
      whenOpen(close, callback);
    },
    destroy(err: Error | null, callback: (err: Error | null) => void) {
      detach();
      if (ws.readyState === WebSocket.CLOSED) return callback(err);
      ws.once('close', () => callback(err));
      // CLOSING (after end(), or a violation whose close frame is on its way): let it finish, bounded
      // by closeTimeout. Otherwise there is no handshake to wait for.
      if (ws.readyState !== WebSocket.CLOSING) ws.terminate();
    },
  });

  /** Runs `then` once the WebSocket opens; reports an error if it closes first. */
  function whenOpen(then: () => void, callback: (err?: Error | null) => void): void {
    const onOpen = (): void => {
      ws.off('close', onClose);
      then();
    };
    const onClose = (): void => {
      ws.off('open', onOpen);
      callback(new Error('the WebSocket closed before it opened; nothing was written'));
    };
    ws.once('open', onOpen);
    ws.once('close', onClose);
  }

  const onMessage = (data: Buffer | ArrayBuffer | Buffer[] | Blob, isBinary: boolean): void => {
    const bytes = bytesOf(data);
    const more = duplex.push(objectMode && !isBinary ? bytes.toString('utf8') : bytes);
    // The reader is behind: stop reading the socket until read() asks for more.
    if (!more && ws.readyState === WebSocket.OPEN && !ws.isPaused) ws.pause();
  };
  const onClose = (): void => {
    if (ended || duplex.destroyed) return;
    ended = true;
    duplex.push(null);
  };
  const onError = (err: Error): void => {
    if (duplex.destroyed) return;
    // Like the WebSocket's own rule: an error nobody listens to must not crash the process.
    duplex.destroy(duplex.listenerCount('error') > 0 ? err : undefined);
  };
  const detach = (): void => {
    ws.off('message', onMessage);
    ws.off('error', onError);
  };
  ws.on('message', onMessage);
  ws.on('close', onClose);
  ws.on('error', onError);
  return duplex;
}
