// WebSocketServer: HTTP upgrade plumbing around the codec's server handshake.
//
// Modes (exactly one): `port` (we own a net.Server, read each request head with the codec's parser
// and answer plain requests with 426),
// `server` (attach to your http/https server's 'upgrade'), `noServer` (you call handleUpgrade).
//
// Path routing: every WebSocketServer attached to one http.Server shares a single 'upgrade'
// listener (a router). The router hands each request to the first server whose `path` matches, in
// the order they were created. When none matches it answers 404, unless the http.Server has other
// 'upgrade' listeners of yours, in which case the request is left to them.

import { EventEmitter } from 'node:events';
import type http from 'node:http';
import type http2 from 'node:http2';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import {
  DEFAULT_MAX_HEADERS,
  DEFAULT_MAX_HEAD_BYTES,
  STATUS_TEXT,
  acceptExtendedConnect,
  acceptServerHandshake,
  buildErrorResponse,
  headFromRaw,
} from '@rfc6455/codec';
import type {
  HandshakeErrorKind,
  HeadLimits,
  HttpHead,
  PerMessageDeflateServerOptions,
} from '@rfc6455/codec';
import { createPerMessageDeflate, sharedDeflate } from './deflate.js';
import { TopicHub } from './topics.js';
import type { PublishOptions, TopicOptions } from './topics.js';
import { kParsedHead, readRequestHead } from './request-head.js';
import type { HeadHandler, RequestWithHead } from './request-head.js';
import {
  DEFAULT_HANDSHAKE_TIMEOUT,
  DEFAULT_SHUTDOWN_TIMEOUT,
  checkKeepalive,
  checkMaxBufferedAmount,
  checkTimeout,
} from './options.js';
import type { PerMessageDeflateOptions, SocketOptions } from './options.js';
import { WebSocket, acceptWebSocket } from './websocket.js';
import { WebSocketError } from './errors.js';
import {
  attachHttp2,
  detachHttp2,
  fieldPairs,
  isHttp2Server,
  refuseStream,
  streamRequest,
} from './http2-server.js';
import type { Http2AnyServer } from './http2-server.js';

export interface VerifyClientInfo {
  origin: string | undefined;
  secure: boolean;
  req: http.IncomingMessage;
}
export type VerifyClientSync = (info: VerifyClientInfo) => boolean;
export type VerifyClientCallback = (
  result: boolean,
  code?: number,
  message?: string,
  headers?: Record<string, string>,
) => void;
export type VerifyClientAsync = (info: VerifyClientInfo, callback: VerifyClientCallback) => void;

export interface ServerOptions extends SocketOptions {
  /** Listen on this port (0: any free port) with a server of our own. */
  port?: number;
  /** Host to listen on in `port` mode. */
  host?: string;
  /** listen() backlog in `port` mode. */
  backlog?: number;
  /**
   * Attach to an existing http/https server, or to an http2 server (h2 or h2c): then RFC 8441's
   * extended CONNECT streams are WebSockets too, beside HTTP/1.1 upgrades (`allowHTTP1`).
   */
  server?: http.Server | Http2AnyServer;
  /** Do not listen or attach: call handleUpgrade() yourself. */
  noServer?: boolean;
  /** Only accept upgrades whose pathname is exactly this (others get 404). */
  path?: string;
  /** Accept or reject a client before the handshake completes (sync: return a boolean; async: 2 parameters). */
  verifyClient?: VerifyClientSync | VerifyClientAsync;
  /** Pick a subprotocol from the client's list, or false for none (default: the first offered, as ws). */
  handleProtocols?: (protocols: Set<string>, req: http.IncomingMessage) => string | false;
  /** Keep `wss.clients` (default true). */
  clientTracking?: boolean;
  /** Accept permessage-deflate (default false, like ws); an object tunes acceptance and zlib. */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /**
   * `port` mode: milliseconds from the TCP connection to a completed handshake before the socket is
   * destroyed (default 10 000). In the other modes it counts from handleUpgrade (a slow verifyClient).
   */
  handshakeTimeout?: number;
  /** wss.close(): milliseconds to wait for clients' closing handshakes before destroying them (default 5 000). */
  shutdownTimeout?: number;
  /** Largest request head in bytes (default 16 KiB; more -> 431). Applies to `port` mode's parser. */
  maxHeadBytes?: number;
  /** Most request header fields (default 100; more -> 431). */
  maxHeaders?: number;
  /**
   * Origins allowed to connect (cross-site WebSocket hijacking: browsers send any page's Origin, and
   * its cookies). Compared as serialized origins (RFC 6454: scheme and host case-insensitive, the
   * default port dropped); '*' allows any. A request without Origin (a non-browser client) is
   * allowed. Others get 403. Default: no check.
   */
  origins?: readonly string[];
  /** The class to construct for each connection: WebSocket or a subclass of it (as in ws). */
  WebSocket?: typeof WebSocket;
  /**
   * This server publishes (topics.ts): a broker to reach other processes, the slow-subscriber policy.
   * Setting it (even `{}`) also makes permessage-deflate agree to server_no_context_takeover by
   * default, so that a published message is compressed once for all (perMessageDeflate's
   * `serverNoContextTakeover: false` keeps context takeover). `wss.publish()` works without it.
   */
  topics?: TopicOptions;
}

/** The error of 'wsClientError': what was wrong, and the response the server would have written. */
export interface HandshakeError extends WebSocketError {
  /** The rule the request broke (the codec's HANDSHAKE_ERRORS). */
  readonly kind: HandshakeErrorKind;
  /** 400, 405, 426 or 431. */
  readonly statusCode: number;
  /** The complete HTTP response (status line, headers, the reason as body) to write, if it suits you. */
  readonly response: Buffer;
}

/**
 * The serialized origin (RFC 6454 6.1) of `text`, e.g. `HTTP://LocalHost:80/` -> `http://localhost`,
 * or null when it has none (an opaque origin such as `null`, or not a URL).
 */
export function serializeOrigin(text: string): string | null {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return null;
  }
  return url.origin === 'null' ? null : url.origin;
}

/**
 * For verifyClient, or wherever an Origin must be checked: true when the request's Origin is one of
 * `allowed` (compared as serialized origins; '*' allows any) or when there is no Origin (clients
 * that are not browsers send none; RFC 6455 10.2).
 */
export function isOriginAllowed(origin: string | undefined, allowed: readonly string[]): boolean {
  if (origin === undefined) return true;
  if (allowed.includes('*')) return true;
  const serialized = serializeOrigin(origin);
  return serialized !== null && allowed.some((entry) => serializeOrigin(entry) === serialized);
}

/** The `origins` option checked and serialized once: a set, or 'any'. */
function originSet(origins: readonly string[] | undefined): Set<string> | 'any' | null {
  if (origins === undefined) return null;
  if (!Array.isArray(origins))
    throw new Error('origins must be an array of origins such as "https://example.com"');
  if (origins.includes('*')) return 'any';
  const set = new Set<string>();
  for (const entry of origins) {
    const serialized = typeof entry === 'string' ? serializeOrigin(entry) : null;
    if (serialized === null) {
      throw new Error(
        `origins: ${JSON.stringify(entry)} is not an origin; write scheme://host[:port], e.g. "https://example.com", or '*' for any`,
      );
    }
    set.add(serialized);
  }
  return set;
}

function originHeader(req: http.IncomingMessage): string | undefined {
  const value = req.headers.origin;
  return Array.isArray(value) ? value.join(', ') : value;
}

/**
 * Writes a complete HTTP error response (the codec's, as for every refusal) and closes the socket
 * once it is out. Throws on a header value with CR or LF (a verifyClient's headers).
 */
function reject(socket: Duplex, status: number, message: string, headers: Record<string, string> = {}): void {
  const response = buildErrorResponse(status, message, Object.entries(headers));
  if (socket.destroyed) return;
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  socket.end(response, () => socket.destroy());
}

function requestHead(req: http.IncomingMessage): HttpHead {
  return headFromRaw({
    method: req.method ?? 'GET',
    target: req.url ?? '/',
    version: req.httpVersion,
    rawHeaders: req.rawHeaders,
  });
}

const NO_BYTES = new Uint8Array(0);

function firstOffered(offered: string[]): string {
  return offered[0]!;
}

function pathnameOf(req: http.IncomingMessage): string {
  const target = req.url ?? '/';
  const q = target.indexOf('?');
  return q === -1 ? target : target.slice(0, q);
}

// ---- the per-http.Server router -----------------------------------------------------------------

interface Router {
  servers: WebSocketServer[];
  listener: (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void;
}
const routers = new WeakMap<http.Server, Router>();

function attach(server: http.Server, wss: WebSocketServer): void {
  let router = routers.get(server);
  if (!router) {
    const created: Router = {
      servers: [],
      listener: (req, socket, head) => {
        for (const candidate of created.servers) {
          if (candidate.shouldHandle(req)) {
            candidate.handleUpgrade(req, socket, head, (ws) => candidate.emit('connection', ws, req));
            return;
          }
        }
        // Ours is the only 'upgrade' listener: nobody else will answer this request.
        if (server.listenerCount('upgrade') === 1) {
          socket.on('error', () => {});
          reject(socket, 404, `No WebSocket endpoint at ${pathnameOf(req)}`);
        }
      },
    };
    router = created;
    routers.set(server, router);
    server.on('upgrade', router.listener);
  }
  router.servers.push(wss);
}

function detach(server: http.Server, wss: WebSocketServer): void {
  const router = routers.get(server);
  if (!router) return;
  router.servers = router.servers.filter((s) => s !== wss);
  if (router.servers.length === 0) {
    server.off('upgrade', router.listener);
    routers.delete(server);
  }
}

// ---- the server ---------------------------------------------------------------------------------

type State = 'running' | 'closing' | 'closed';

// The interface of the same name below types the events (the usual typed-EventEmitter merge).
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export class WebSocketServer extends EventEmitter {
  /** Open connections (when clientTracking is on; otherwise undefined). */
  readonly clients: Set<WebSocket> | undefined;
  readonly options: Readonly<ServerOptions>;
  private readonly _server: net.Server | null;
  private readonly _ownServer: boolean;
  private readonly _all = new Set<WebSocket>();
  /** Sockets whose handshake is under way, with their timeout (null when handshakeTimeout is 0). */
  private readonly _handshakes = new Map<Duplex, NodeJS.Timeout | null>();
  /** One 'close' listener for every socket in handshake (a closure per socket would live as long as it). */
  private readonly _onHandshakeSocketClose: (this: Duplex) => void;
  private readonly _untrack: (this: WebSocket) => void;
  private readonly _handshakeTimeout: number;
  private readonly _shutdownTimeout: number;
  private readonly _maxHeaders: number;
  private readonly _origins: Set<string> | 'any' | null;
  private readonly _headLimits: HeadLimits;
  private readonly _pmd:
    false | { accept: PerMessageDeflateServerOptions; runtime: PerMessageDeflateOptions };
  private readonly _detachServerEvents: () => void;
  private _state: State = 'running';
  private readonly _topics: TopicHub;

  constructor(options: ServerOptions, callback?: () => void) {
    super();
    const modes = [
      options.port !== undefined,
      options.server !== undefined,
      options.noServer === true,
    ].filter(Boolean).length;
    if (modes !== 1) {
      throw new Error(
        'WebSocketServer needs exactly one of the options `port`, `server` or `noServer: true`',
      );
    }
    const Socket = options.WebSocket;
    if (Socket !== undefined && Socket !== WebSocket && !(Socket.prototype instanceof WebSocket)) {
      throw new Error('the WebSocket option must be the WebSocket class or a subclass of it');
    }
    this._origins = originSet(options.origins);
    this.options = { ...options };
    const clients = options.clientTracking === false ? undefined : new Set<WebSocket>();
    const handshakes = this._handshakes;
    this._onHandshakeSocketClose = function (this: Duplex) {
      const timer = handshakes.get(this);
      if (timer) clearTimeout(timer);
      handshakes.delete(this);
    };
    const all = this._all;
    this._untrack = function (this: WebSocket) {
      all.delete(this);
      clients?.delete(this);
    };
    this._handshakeTimeout = checkTimeout(
      'handshakeTimeout',
      options.handshakeTimeout,
      DEFAULT_HANDSHAKE_TIMEOUT,
    );
    this._shutdownTimeout = checkTimeout(
      'shutdownTimeout',
      options.shutdownTimeout,
      DEFAULT_SHUTDOWN_TIMEOUT,
    );
    this._maxHeaders = options.maxHeaders ?? DEFAULT_MAX_HEADERS;
    this._headLimits = {
      maxHeadBytes: options.maxHeadBytes ?? DEFAULT_MAX_HEAD_BYTES,
      maxHeaders: this._maxHeaders,
    };
    checkKeepalive(options.keepalive);
    checkMaxBufferedAmount(options.maxBufferedAmount);
    this.clients = clients;
    const pmd = options.perMessageDeflate;
    if (pmd === undefined || pmd === false) {
      this._pmd = false;
    } else {
      const runtime = pmd === true ? {} : pmd;
      const accept: PerMessageDeflateServerOptions = { supportsWindowBits8: true };
      if (runtime.serverNoContextTakeover !== undefined)
        accept.serverNoContextTakeover = runtime.serverNoContextTakeover;
      else if (options.topics !== undefined) accept.serverNoContextTakeover = true;
      if (runtime.clientNoContextTakeover !== undefined)
        accept.clientNoContextTakeover = runtime.clientNoContextTakeover;
      if (runtime.serverMaxWindowBits !== undefined) accept.serverMaxWindowBits = runtime.serverMaxWindowBits;
      if (runtime.clientMaxWindowBits !== undefined) accept.clientMaxWindowBits = runtime.clientMaxWindowBits;
      this._pmd = { accept, runtime };
    }
    this._topics = new TopicHub(
      options.topics ?? {},
      this._pmd === false ? undefined : sharedDeflate(this._pmd.runtime),
      (err, topic) => this._brokerError(err, topic),
    );

    if (options.port !== undefined) {
      // Our own port: a plain net.Server and one request head per connection (request-head.ts).
      // (No noDelay here: the WebSocket sets it once it opens, and a second setsockopt would be wasted.)
      const server = net.createServer((socket) => this._acceptOnPort(socket));
      this._server = server;
      this._ownServer = true;
      server.listen(options.port, options.host, options.backlog, callback);
    } else if (options.server !== undefined) {
      this._server = options.server;
      this._ownServer = false;
      if (callback)
        throw new Error('the callback argument is only for `port` mode; listen on your server instead');
    } else {
      this._server = null;
      this._ownServer = false;
      if (callback) throw new Error('the callback argument is only for `port` mode');
    }

    const server = this._server;
    if (server) {
      const onListening = (): void => void this.emit('listening');
      const onError = (err: Error): void => void this.emit('error', err);
      server.on('listening', onListening);
      server.on('error', onError);
      const attached = options.server as http.Server | undefined;
      const h2 = isHttp2Server(attached) ? attached : null;
      if (attached) attach(attached, this);
      if (h2) attachHttp2(h2, this);
      this._detachServerEvents = () => {
        server.off('listening', onListening);
        server.off('error', onError);
        if (attached) detach(attached, this);
        if (h2) detachHttp2(h2, this);
      };
    } else {
      this._detachServerEvents = () => {};
    }
  }

  /** The bound address (`port` and `server` modes). */
  address(): AddressInfo | string | null {
    if (!this._server) throw new Error('address(): the server is in noServer mode; ask your own HTTP server');
    return this._server.address();
  }

  /** True when this server serves the request's path (RFC 6455 3: the resource name). */
  shouldHandle(req: http.IncomingMessage): boolean {
    return this.options.path === undefined || pathnameOf(req) === this.options.path;
  }

  /** Tracks a socket until its handshake ends (close() destroys those left), with its timeout. */
  /**
   * While a handshake is under way (an HTTP/1.1 upgrade or an HTTP/2 stream): an error destroys the
   * transport and the handshake timer runs. Returns what ends that guard, once the handshake is decided.
   */
  private _guardHandshake(transport: Duplex): () => void {
    const onError = (): void => {
      transport.destroy();
    };
    transport.on('error', onError);
    this._startHandshakeTimer(transport);
    return () => {
      this._clearHandshakeTimer(transport);
      transport.off('error', onError);
    };
  }

  private _startHandshakeTimer(socket: Duplex): void {
    if (this._handshakes.has(socket)) return;
    const timer =
      this._handshakeTimeout > 0
        ? setTimeout(() => {
            this._handshakes.delete(socket);
            socket.destroy();
          }, this._handshakeTimeout)
        : null;
    this._handshakes.set(socket, timer);
    // on, not once (a wrapper each): the listener forgets the socket, and completed handshakes remove it.
    socket.on('close', this._onHandshakeSocketClose);
  }

  private _clearHandshakeTimer(socket: Duplex): void {
    const timer = this._handshakes.get(socket);
    if (timer === undefined) return;
    if (timer) clearTimeout(timer);
    this._handshakes.delete(socket);
    socket.off('close', this._onHandshakeSocketClose);
  }

  /** `port` mode: a new TCP connection. Its handshake timeout counts from here. */
  private _acceptOnPort(socket: net.Socket): void {
    if (this._state !== 'running') {
      socket.destroy();
      return;
    }
    this._startHandshakeTimer(socket);
    readRequestHead(socket, this._headLimits, this._portHandler);
  }

  private readonly _portHandler: HeadHandler = {
    onHead: (socket, req, rest) => {
      if (req.upgrade) {
        this.handleUpgrade(req, socket, rest, (ws) => this.emit('connection', ws, req));
        return;
      }
      // A plain HTTP request: say what this endpoint is, then close (one request per connection).
      this._clearHandshakeTimer(socket);
      socket.on('error', () => {});
      reject(socket, 426, 'Upgrade Required: this is a WebSocket endpoint (RFC 6455)', {
        Upgrade: 'websocket',
        'Sec-WebSocket-Version': '13',
      });
    },
    onBadHead: (socket, status, reason) => {
      this._clearHandshakeTimer(socket);
      socket.on('error', () => {});
      reject(socket, status, reason);
    },
  };

  /**
   * Completes the handshake for an 'upgrade' request and calls back with the open WebSocket (it does
   * not emit 'connection'). Rejections get an HTTP status and a one-line reason, then the socket closes.
   */
  handleUpgrade(
    req: http.IncomingMessage,
    socket: Duplex,
    head: Buffer,
    callback: (ws: WebSocket, req: http.IncomingMessage) => void,
  ): void {
    const done = this._guardHandshake(socket);
    const fail = (status: number, message: string, headers?: Record<string, string>): void => {
      done();
      socket.on('error', () => {});
      reject(socket, status, message, headers);
    };

    if (this._state !== 'running') return fail(503, 'The server is shutting down');
    if (!this.shouldHandle(req)) return fail(404, `No WebSocket endpoint at ${pathnameOf(req)}`);
    const result = acceptServerHandshake((req as RequestWithHead)[kParsedHead] ?? requestHead(req), {
      chooseProtocol: this._chooser(req),
      perMessageDeflate: this._pmd === false ? false : this._pmd.accept,
      maxHeaders: this._maxHeaders,
      maxHeadBytes: this._headLimits.maxHeadBytes ?? DEFAULT_MAX_HEAD_BYTES,
    });
    if (!result.ok) {
      if (this._emitClientError(result, socket, req)) return;
      done();
      socket.on('error', () => {});
      if (socket.writable) socket.end(result.response, () => socket.destroy());
      else socket.destroy();
      return;
    }

    const complete = (): void => {
      if (socket.destroyed || !socket.writable) {
        done();
        socket.destroy();
        return;
      }
      if (this._state !== 'running') return fail(503, 'The server is shutting down');
      socket.write(this._responseHead(result.response, req));
      done();
      const params = result.perMessageDeflate;
      const ws = acceptWebSocket(this.options.WebSocket ?? WebSocket, {
        socket,
        head,
        role: 'server',
        protocol: result.protocol ?? '',
        extensions: result.extensions,
        perMessageDeflate:
          params && this._pmd !== false ? createPerMessageDeflate(params, 'server', this._pmd.runtime) : null,
        options: this.options,
      });
      this._track(ws);
      callback(ws, req);
    };

    this._admit(req, fail, complete);
  }

  /**
   * RFC 8441: completes the handshake of an extended CONNECT stream (`:protocol websocket`) and calls
   * back with the open WebSocket (it does not emit 'connection'), as handleUpgrade does for HTTP/1.1:
   * a 200 with the negotiated fields and no accept (RFC 8441 5), or a status and a reason. Runs by
   * itself on an http2 server passed as `server`; with `noServer`, call it from your 'stream' listener.
   */
  handleStream(
    stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
    rawHeaders: string[],
    callback: (ws: WebSocket, req: http.IncomingMessage) => void,
  ): void {
    const req = streamRequest(stream, headers, rawHeaders) as unknown as http.IncomingMessage;
    const done = this._guardHandshake(stream);
    const fail = (status: number, message: string, fields?: Record<string, string>): void => {
      done();
      refuseStream(stream, status, message, fields);
    };

    if (this._state !== 'running') return fail(503, 'The server is shutting down');
    if (!this.shouldHandle(req)) return fail(404, `No WebSocket endpoint at ${pathnameOf(req)}`);
    const result = acceptExtendedConnect(fieldPairs(rawHeaders), {
      chooseProtocol: this._chooser(req),
      perMessageDeflate: this._pmd === false ? false : this._pmd.accept,
      maxHeaders: this._maxHeaders,
    });
    if (!result.ok) return fail(result.status, result.reason, Object.fromEntries(result.headers));

    this._admit(req, fail, () => {
      if (stream.destroyed || stream.closed) {
        done();
        return;
      }
      if (this._state !== 'running') return fail(503, 'The server is shutting down');
      stream.respond(this._streamResponse(result.headers, req));
      done();
      const params = result.perMessageDeflate;
      const ws = acceptWebSocket(this.options.WebSocket ?? WebSocket, {
        socket: stream,
        head: NO_BYTES,
        closeLater: true,
        role: 'server',
        protocol: result.protocol ?? '',
        extensions: result.extensions,
        perMessageDeflate:
          params && this._pmd !== false ? createPerMessageDeflate(params, 'server', this._pmd.runtime) : null,
        options: this.options,
      });
      this._track(ws);
      callback(ws, req);
    });
  }

  /** The subprotocol chooser: handleProtocols, or (as ws) the first one offered. */
  private _chooser(req: http.IncomingMessage): (offered: string[]) => string | null {
    const handleProtocols = this.options.handleProtocols;
    return handleProtocols ? (offered) => handleProtocols(new Set(offered), req) || null : firstOffered;
  }

  /** The 200's fields; 'headers' listeners see them as `name: value` lines after `HTTP/2 200`, and may edit them. */
  private _streamResponse(fields: [string, string][], req: http.IncomingMessage): http2.OutgoingHttpHeaders {
    let pairs = fields;
    if (this.listenerCount('headers') > 0) {
      const lines = ['HTTP/2 200', ...fields.map(([name, value]) => `${name}: ${value}`)];
      this.emit('headers', lines, req);
      pairs = lines.slice(1).map((line): [string, string] => {
        const colon = line.indexOf(':');
        return [line.slice(0, colon).trim().toLowerCase(), line.slice(colon + 1).trim()];
      });
    }
    const out: http2.OutgoingHttpHeaders = { ':status': 200 };
    for (const [name, value] of pairs) {
      const prev = out[name];
      out[name] = prev === undefined ? value : [...(Array.isArray(prev) ? prev : [String(prev)]), value];
    }
    return out;
  }

  /**
   * The checks both handshakes share once the request is valid: the Origin (RFC 6455 10.2: the page
   * that opened the connection) and verifyClient. Calls `complete`, or `fail` with a status.
   */
  private _admit(
    req: http.IncomingMessage,
    fail: (status: number, message: string, headers?: Record<string, string>) => void,
    complete: () => void,
  ): void {
    // RFC 6455 10.2: the Origin says which page opened the connection; refuse those not allowed.
    const origins = this._origins;
    if (origins !== null && origins !== 'any') {
      const origin = originHeader(req);
      if (origin !== undefined) {
        const serialized = serializeOrigin(origin);
        if (serialized === null || !origins.has(serialized)) {
          const shown = origin.length > 100 ? `${origin.slice(0, 100)}...` : origin;
          return fail(403, `Origin ${shown} is not allowed to connect here`);
        }
      }
    }

    const verify = this.options.verifyClient;
    if (!verify) return complete();
    const info: VerifyClientInfo = {
      origin: req.headers.origin ?? (req.headers['sec-websocket-origin'] as string | undefined),
      secure: Boolean((req.socket as { encrypted?: boolean }).encrypted),
      req,
    };
    if (verify.length >= 2) {
      let answered = false;
      verify(info, (ok, code, message, headers) => {
        if (answered) return;
        answered = true;
        if (ok) return complete();
        const status = code ?? 401;
        fail(status, message ?? STATUS_TEXT[status] ?? 'Rejected', headers);
      });
      return;
    }
    if ((verify as VerifyClientSync)(info)) complete();
    else fail(401, 'Unauthorized');
  }

  /**
   * As ws: a request refused for a client error (malformed or unsupported handshake headers) goes to
   * 'wsClientError' listeners when there are any, and the response is then theirs to write; the
   * error carries the answer we would have sent. Returns false when nobody listens.
   */
  private _emitClientError(
    {
      kind,
      reason,
      status,
      response,
    }: { kind: HandshakeErrorKind; reason: string; status: number; response: Uint8Array },
    socket: Duplex,
    req: http.IncomingMessage,
  ): boolean {
    if (this.listenerCount('wsClientError') === 0) return false;
    // The handshake timer stops (the socket is the listener's now); the 'error' listener that
    // destroys the socket stays, so that a socket error cannot become an uncaught exception.
    this._clearHandshakeTimer(socket);
    const err = Object.assign(new WebSocketError(reason, 'WS_ERR_INVALID_HANDSHAKE'), {
      kind,
      statusCode: status,
      response: Buffer.from(response.buffer, response.byteOffset, response.byteLength),
    });
    this.emit('wsClientError', err, socket, req);
    return true;
  }

  /** The 101 response; 'headers' listeners may edit its lines before it is written. */
  private _responseHead(response: Uint8Array, req: http.IncomingMessage): Uint8Array {
    if (this.listenerCount('headers') === 0) return response;
    const lines = Buffer.from(response).toString('latin1').split('\r\n');
    while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
    this.emit('headers', lines, req);
    return Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
  }

  /**
   * Sends `data` to every socket of this server subscribed to `topic` (ws.subscribe), framed and
   * compressed once, and to the other servers through the broker. Returns how many of this server's
   * sockets it reached. A broker failure goes to 'brokerError' listeners (local delivery is not affected).
   */
  publish(topic: string, data: string | ArrayBufferView | ArrayBuffer, options?: PublishOptions): number {
    return this._topics.publish(topic, data, options);
  }

  /** How many of this server's sockets are subscribed to `topic`. */
  subscriberCount(topic: string): number {
    return this._topics.subscriberCount(topic);
  }

  private _brokerError(err: Error, topic: string): void {
    const error = Object.assign(
      new WebSocketError(`broker: ${err.message} (topic ${JSON.stringify(topic)})`, 'WS_ERR_BROKER'),
      {
        cause: err,
        topic,
      },
    );
    if (this.listenerCount('brokerError') > 0) this.emit('brokerError', error);
    else process.emitWarning(error);
  }

  /** Keeps `ws` in `clients` while it is open, with one 'close' listener shared by every client. */
  private _track(ws: WebSocket): void {
    ws._topicHub = this._topics;
    this._all.add(ws);
    this.clients?.add(ws);
    ws.on('close', this._untrack);
  }

  /**
   * Stops accepting, closes every client with 1001, waits up to `shutdownTimeout` ms for their
   * closing handshakes, destroys what is left, then calls back and emits 'close'. In `port` mode the
   * HTTP server is closed too; a server you passed in stays yours.
   */
  close(callback?: (err?: Error) => void): void {
    if (this._state === 'closed') {
      if (callback) process.nextTick(callback, new Error('The server is not running'));
      return;
    }
    if (callback) this.once('close', callback);
    if (this._state === 'closing') return;
    this._state = 'closing';
    this._detachServerEvents();
    for (const [socket, timer] of this._handshakes) {
      if (timer) clearTimeout(timer);
      socket.destroy();
    }
    this._handshakes.clear();

    let pending = 2; // clients, then the HTTP server
    const step = (): void => {
      if (--pending > 0) return;
      this._state = 'closed';
      this.emit('close');
    };

    if (this._ownServer && this._server) {
      this._server.close(() => step());
    } else {
      step();
    }

    const clients = [...this._all];
    if (clients.length === 0) {
      step();
      return;
    }
    let left = clients.length;
    const timer = setTimeout(() => {
      for (const ws of clients) ws.terminate();
    }, this._shutdownTimeout);
    for (const ws of clients) {
      ws.once('close', () => {
        if (--left === 0) {
          clearTimeout(timer);
          step();
        }
      });
      if (ws.readyState === WebSocket.OPEN) ws.close(1001, 'Server is shutting down');
    }
  }
}

/** Typed server events. */
// eslint-disable-next-line @typescript-eslint/no-unsafe-declaration-merging
export interface WebSocketServer {
  on(event: 'connection', listener: (ws: WebSocket, req: http.IncomingMessage) => void): this;
  on(event: 'headers', listener: (headers: string[], req: http.IncomingMessage) => void): this;
  on(event: 'listening' | 'close', listener: () => void): this;
  on(event: 'error', listener: (err: Error) => void): this;
  /** A broker publish or subscription failed (topics): the message did not reach other processes. */
  on(event: 'brokerError', listener: (err: WebSocketError & { topic: string; cause: Error }) => void): this;
  on(
    event: 'wsClientError',
    listener: (err: HandshakeError, socket: Duplex, req: http.IncomingMessage) => void,
  ): this;
  // Any other event, as EventEmitter allows: listeners of any shape.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  on(event: string | symbol, listener: (...args: any[]) => void): this;
  once(event: 'connection', listener: (ws: WebSocket, req: http.IncomingMessage) => void): this;
  once(event: 'headers', listener: (headers: string[], req: http.IncomingMessage) => void): this;
  once(event: 'listening' | 'close', listener: () => void): this;
  once(event: 'error', listener: (err: Error) => void): this;
  once(event: 'brokerError', listener: (err: WebSocketError & { topic: string; cause: Error }) => void): this;
  once(
    event: 'wsClientError',
    listener: (err: HandshakeError, socket: Duplex, req: http.IncomingMessage) => void,
  ): this;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  once(event: string | symbol, listener: (...args: any[]) => void): this;
}
