// WebSockets over HTTP/2 (RFC 8441), the server's side of node:http2: which streams are ours and
// who gets them. A WebSocketServer given an http2 server (h2 with TLS, or h2c) takes the extended
// CONNECT streams (`:method CONNECT`, `:protocol websocket`) from its 'stream' event, and only those;
// every other stream, and HTTP/1.1 (allowHTTP1) with its 'upgrade' event, stay the application's.
//
// Only the stream API is used. Node's compatibility layer (present once the server has a 'request'
// listener) turns every CONNECT stream into a 'connect' event and answers 405 when nobody listens:
// a 'connect' listener of ours says "taken" for WebSocket streams and keeps Node's answers for the rest.

import http2 from 'node:http2';
import type http from 'node:http';
import type { Duplex } from 'node:stream';

export type Http2AnyServer = http2.Http2Server | http2.Http2SecureServer;

/** The request a WebSocket over HTTP/2 arrived with: Node's Http2ServerRequest (`req.stream` is the stream). */
export type Http2UpgradeRequest = http2.Http2ServerRequest;

/** What the router needs of a WebSocketServer (server.ts), named here so that no import cycle forms. */
export interface StreamHandler {
  shouldHandle(req: http.IncomingMessage): boolean;
  handleStream(
    stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
    rawHeaders: string[],
    callback: (ws: unknown, req: http.IncomingMessage) => void,
  ): void;
  emit(event: 'connection', ws: unknown, req: http.IncomingMessage): boolean;
}

export function isHttp2Server(server: unknown): server is Http2AnyServer {
  return (
    typeof server === 'object' &&
    server !== null &&
    typeof (server as { updateSettings?: unknown }).updateSettings === 'function' &&
    typeof (server as { setTimeout?: unknown }).setTimeout === 'function'
  );
}

/** RFC 8441 4: a CONNECT whose :protocol is websocket. */
export function isWebSocketStream(headers: http2.IncomingHttpHeaders): boolean {
  const protocol = headers[':protocol'];
  return (
    headers[':method'] === 'CONNECT' && typeof protocol === 'string' && protocol.toLowerCase() === 'websocket'
  );
}

/** The stream's headers as an IncomingMessage-shaped request (Node's own compatibility class). */
export function streamRequest(
  stream: http2.ServerHttp2Stream,
  headers: http2.IncomingHttpHeaders,
  rawHeaders: string[],
): Http2UpgradeRequest {
  return new http2.Http2ServerRequest(stream, headers, {}, rawHeaders);
}

/** `[name, value]` pairs in the order received: Node's flat rawHeaders. */
export function fieldPairs(rawHeaders: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) out.push([rawHeaders[i]!, rawHeaders[i + 1]!]);
  return out;
}

/**
 * Answers a stream that will not become a WebSocket: the status, the fields, and the reason as a
 * text body (as the HTTP/1.1 refusals do). The session stays open.
 */
export function refuseStream(
  stream: http2.ServerHttp2Stream,
  status: number,
  reason: string,
  headers: Record<string, string> = {},
): void {
  if (stream.destroyed || stream.closed) return;
  stream.on('error', () => {});
  if (stream.headersSent) {
    stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
    return;
  }
  const fields: http2.OutgoingHttpHeaders = {
    ':status': status,
    'content-type': 'text/plain; charset=utf-8',
  };
  for (const [name, value] of Object.entries(headers)) fields[name.toLowerCase()] = value;
  stream.respond(fields);
  stream.end(`${reason}\n`);
}

interface Router {
  handlers: StreamHandler[];
  onStream: (
    stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
    flags: number,
    raw: string[],
  ) => void;
  onConnect: (
    req: http.IncomingMessage | http2.Http2ServerRequest,
    target: Duplex | http2.Http2ServerResponse,
  ) => void;
}
const routers = new WeakMap<Http2AnyServer, Router>();

/**
 * Routes the server's extended CONNECT streams to `handler` (the first WebSocketServer whose path
 * matches, in creation order; 404 when none does) and turns on SETTINGS_ENABLE_CONNECT_PROTOCOL for
 * the sessions that open from now on (RFC 8441 3), so that clients may send them.
 */
export function attachHttp2(server: Http2AnyServer, handler: StreamHandler): void {
  let router = routers.get(server);
  if (!router) {
    const created: Router = {
      handlers: [],
      onStream: (stream, headers, _flags, raw) => {
        if (!isWebSocketStream(headers)) return;
        // Routing needs only the path; handleStream makes the request object.
        const target = { url: String(headers[':path'] ?? '/') } as http.IncomingMessage;
        for (const candidate of created.handlers) {
          if (candidate.shouldHandle(target)) {
            candidate.handleStream(stream, headers, raw, (ws, req) => candidate.emit('connection', ws, req));
            return;
          }
        }
        refuseStream(
          stream,
          404,
          `No WebSocket endpoint at ${String(headers[':path'] ?? '/').split('?')[0]}`,
        );
      },
      onConnect: (req, target) => {
        // A WebSocket stream (Node's compatibility layer saw it too): ours, through 'stream'.
        if ('stream' in req && isWebSocketStream(req.headers)) return;
        // Anything else is the application's when it listens; otherwise Node's default answers.
        if (server.listenerCount('connect') > 1) return;
        if ('writeHead' in target) {
          target.statusCode = 405;
          target.end();
        } else {
          target.destroy();
        }
      },
    };
    router = created;
    routers.set(server, router);
    server.updateSettings({ enableConnectProtocol: true });
    server.on('stream', router.onStream);
    server.on('connect', router.onConnect);
  }
  router.handlers.push(handler);
}

export function detachHttp2(server: Http2AnyServer, handler: StreamHandler): void {
  const router = routers.get(server);
  if (!router) return;
  router.handlers = router.handlers.filter((h) => h !== handler);
  if (router.handlers.length === 0) {
    server.off('stream', router.onStream);
    server.off('connect', router.onConnect);
    routers.delete(server);
  }
}
