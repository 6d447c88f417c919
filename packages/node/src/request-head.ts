// `port` mode reads the upgrade request itself: a WebSocket server needs one request head per
// connection, not node:http's keep-alive machinery (its parser, per-socket listeners, response
// objects). The codec's HeadParser reads the head with its limits; the result becomes a real
// http.IncomingMessage, so `req` in 'connection' and verifyClient looks as it does in `server` mode.

import { IncomingMessage } from 'node:http';
import type { Socket } from 'node:net';
import { HeadParser, countHeader } from '@rfc6455/codec';
import type { HeadLimits, HttpHead } from '@rfc6455/codec';
import { addHeaderLines } from './node-internals.js';

/** The head a request was built from, so that handleUpgrade need not rebuild it from rawHeaders. */
export const kParsedHead = Symbol('rfc6455.parsedHead');

/** `upgrade` is set by node:http too, though its types leave it out. */
export type RequestWithHead = IncomingMessage & { upgrade?: boolean; [kParsedHead]?: HttpHead };

export interface HeadHandler {
  /** A complete head: `rest` holds the bytes that followed it in the same chunk. */
  onHead(socket: Socket, req: RequestWithHead, rest: Buffer): void;
  /** A head that broke a limit (431) or the HTTP grammar (400); `reason` is one sentence. */
  onBadHead(socket: Socket, status: 400 | 431, reason: string): void;
}

/**
 * Reads one request head off a fresh socket. When it is complete the socket is left paused with no
 * 'data' listener, so nothing is read (or lost) until the WebSocket takes it over. A peer that ends
 * or breaks the connection before the head is complete is dropped.
 */
export function readRequestHead(socket: Socket, limits: HeadLimits, handler: HeadHandler): void {
  const parser = new HeadParser('request', limits);
  const stop = (): void => {
    socket.off('data', onData);
    socket.off('end', onEnd);
    socket.off('error', onEnd);
    socket.pause();
  };
  const onData = (chunk: Buffer): void => {
    const result = parser.feed(chunk);
    if (!result.done) return;
    stop();
    if (!result.ok) {
      handler.onBadHead(socket, result.status, capitalize(result.reason));
      return;
    }
    const rest = result.rest;
    handler.onHead(
      socket,
      incomingMessage(result.head, socket),
      Buffer.from(rest.buffer, rest.byteOffset, rest.byteLength),
    );
  };
  const onEnd = (): void => {
    stop();
    socket.destroy();
  };
  socket.on('data', onData);
  socket.on('end', onEnd);
  socket.on('error', onEnd);
}

/** The request as node:http would have built it: headers are computed from rawHeaders on first use. */
function incomingMessage(head: HttpHead, socket: Socket): RequestWithHead {
  const req: RequestWithHead = new IncomingMessage(socket);
  req.method = head.method!;
  req.url = head.target!;
  req.httpVersion = head.version;
  req.httpVersionMajor = head.version.charCodeAt(0) - 0x30;
  req.httpVersionMinor = head.version.charCodeAt(2) - 0x30;
  const raw = new Array<string>(head.headers.length * 2);
  for (let i = 0; i < head.headers.length; i++) {
    const field = head.headers[i]!;
    raw[2 * i] = field[0];
    raw[2 * i + 1] = field[1];
  }
  addHeaderLines(req, raw);
  req.upgrade = countHeader(head, 'Upgrade') > 0;
  req[kParsedHead] = head;
  return req;
}

function capitalize(text: string): string {
  return text.length === 0 ? text : text[0]!.toUpperCase() + text.slice(1);
}
