// The client's opening handshake: the codec writes the request and judges the response; node:http
// (or node:https for wss:) carries them, which gives `agent`, TLS options and IncomingMessage objects
// for 'upgrade' and 'unexpected-response' for free. It knows the socket it opens only through a
// HandshakeSink, and ends by handing it an OpenSetup (or an error): no import of websocket.ts.

import http from 'node:http';
import https from 'node:https';
import { randomFillSync } from 'node:crypto';
import net from 'node:net';
import querystring from 'node:querystring';
import tls from 'node:tls';
import type { ClientHttp2Session } from 'node:http2';
import type { Duplex } from 'node:stream';
import { checkServerResponse, createClientRequest, headFromRaw } from '@rfc6455/codec';
import type { ClientRequest, PerMessageDeflateClientOptions } from '@rfc6455/codec';
import { createPerMessageDeflate } from './deflate.js';
import { DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_MAX_REDIRECTS, checkTimeout } from './options.js';
import type { PerMessageDeflateOptions, SocketOptions } from './options.js';
import { WebSocketError } from './errors.js';
import type { WebSocketErrorCode } from './errors.js';
import type { OpenSetup } from './open-setup.js';

/** http.request/tls.connect options that the handshake sets itself (ws ignores them too). */
type OwnedRequestOptions =
  | 'headers'
  | 'host'
  | 'hostname'
  | 'port'
  | 'path'
  | 'method'
  | 'protocol'
  | 'socketPath'
  | 'setHost'
  | 'timeout';

/**
 * Every http.request / https.request / tls.connect option is passed through (as in ws), except the
 * ones the URL and the handshake decide.
 */
export interface ClientHandshakeOptions<Socket>
  extends SocketOptions, Omit<https.RequestOptions, OwnedRequestOptions> {
  /** Extra request headers; `Host` and `Origin` here replace the defaults. */
  headers?: http.OutgoingHttpHeaders;
  /** The Origin header (RFC 6455 10.2); wins over headers.Origin, as in ws. */
  origin?: string;
  /** Milliseconds from the start of the request to the 101 response (default 10 000; 0 = none). */
  handshakeTimeout?: number;
  /** Offer permessage-deflate (default true, like ws); an object tunes the offer and zlib. */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /** Follow 3xx redirects (default false). */
  followRedirects?: boolean;
  /** Most redirects followed (default 10). */
  maxRedirects?: number;
  /** Sec-WebSocket-Version: 13 (default) or 8 (an older draft some servers still ask for); as ws. */
  protocolVersion?: number;
  /** Called with each request instead of req.end(): last changes to it, then it must call req.end(). */
  finishRequest?: (request: http.ClientRequest, websocket: Socket) => void;
  /** Fills the 4-byte masking key of each frame we send (ws's option). */
  generateMask?: (mask: Buffer) => void;
  /** Masking-key source (tests make it deterministic); default crypto.randomFillSync. */
  randomFill?: (bytes: Uint8Array) => void;
  /**
   * RFC 8441: open the WebSocket as an extended CONNECT stream on an HTTP/2 connection. `true`
   * shares one session per origin (opened on demand, closed when its last WebSocket closes); or pass
   * a ClientHttp2Session of yours (it stays open). See http2-client.ts.
   */
  http2?: boolean | ClientHttp2Session;
  /**
   * With `http2`: when the server does not speak HTTP/2 or does not enable extended CONNECT
   * (SETTINGS_ENABLE_CONNECT_PROTOCOL), use an HTTP/1.1 Upgrade instead (default true); false fails
   * with the error code WS_ERR_HTTP2_UNSUPPORTED.
   */
  http2Fallback?: boolean;
  /** Ignored, as in ws: the URL decides (kept so that ws's options type-check). */
  host?: string;
  protocol?: string;
}

/**
 * Parses and checks a ws:, wss: or ws+unix: URL (http:/https: are accepted as their WebSocket
 * twins, like ws). ws+unix:/path/to.sock:/request/path connects to a Unix domain socket.
 */
export function parseWebSocketUrl(input: string | URL): URL {
  let url: URL;
  try {
    url = input instanceof URL ? new URL(input.href) : new URL(input);
  } catch {
    throw new SyntaxError(`Invalid URL: ${String(input)}; use ws://host[:port]/path or wss://...`);
  }
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:' && url.protocol !== 'ws+unix:') {
    throw new SyntaxError(
      `The URL's scheme must be ws:, wss: or ws+unix:, got ${url.protocol} in ${url.href}`,
    );
  }
  if (url.protocol === 'ws+unix:' && url.pathname === '') {
    throw new SyntaxError(`The URL's pathname is empty; use ws+unix:/path/to.sock[:/request/path]`);
  }
  // RFC 6455 3: fragment identifiers are meaningless in WebSocket URIs and must not be used.
  if (url.hash !== '')
    throw new SyntaxError(`The URL must not contain a fragment (${url.hash}): ${url.href}`);
  return url;
}

/** Where a URL leads: the socket to open and the request target. */
interface Target {
  url: URL;
  secure: boolean;
  /** Unix socket path for ws+unix:, else null. */
  socketPath: string | null;
  /** host[:port], or the socket path: what "the same host" means for credentials on redirects. */
  origin: string;
  path: string;
}

function describeTarget(url: URL): Target {
  const secure = url.protocol === 'wss:';
  if (url.protocol !== 'ws+unix:') {
    return { url, secure, socketPath: null, origin: url.host, path: url.pathname + url.search };
  }
  // As ws: the socket path runs up to the first ':', the request path follows it.
  const full = url.pathname + url.search;
  const i = full.indexOf(':');
  const socketPath = i === -1 ? full : full.slice(0, i);
  const path = i === -1 || i === full.length - 1 ? '/' : full.slice(i + 1);
  return { url, secure, socketPath, origin: `unix:${socketPath}`, path };
}

function netConnect(options: net.NetConnectOpts & { socketPath?: string }): net.Socket {
  // http.request's `path` is the request target; to net.connect it would mean a Unix socket.
  return net.connect({ ...options, path: options.socketPath } as net.NetConnectOpts);
}

function tlsConnect(options: tls.ConnectionOptions & { path?: string; host?: string }): tls.TLSSocket {
  const o = { ...options, path: undefined };
  // RFC 6066 3: no SNI for an IP address literal.
  if (!o.servername && o.servername !== '') o.servername = net.isIP(o.host ?? '') ? '' : o.host;
  return tls.connect(o);
}

/** The values of a header in `headers`, whatever the case of its name. */
export function takeHeader(headers: [string, string][], name: string): string | undefined {
  let value: string | undefined;
  for (let i = headers.length - 1; i >= 0; i--) {
    if (headers[i]![0].toLowerCase() === name) {
      value ??= headers[i]![1];
      headers.splice(i, 1);
    }
  }
  return value;
}

export function headerList(headers: http.OutgoingHttpHeaders | undefined): [string, string][] {
  const out: [string, string][] = [];
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) out.push([name, String(v)]);
    else out.push([name, String(value)]);
  }
  return out;
}

/** The codec's header list as node:http wants it (repeated names become arrays), order kept. */
export function headerObject(list: [string, string][]): http.OutgoingHttpHeaders {
  const out: Record<string, string | string[]> = {};
  const names = new Map<string, string>();
  for (const [name, value] of list) {
    const key = names.get(name.toLowerCase());
    if (key === undefined) {
      names.set(name.toLowerCase(), name);
      out[name] = value;
    } else {
      const prev = out[key]!;
      out[key] = Array.isArray(prev) ? [...prev, value] : [prev, value];
    }
  }
  return out;
}

export function deflateOffer(
  pmd: boolean | PerMessageDeflateOptions | undefined,
): false | PerMessageDeflateClientOptions {
  if (pmd === false) return false;
  const o: PerMessageDeflateClientOptions = { supportsWindowBits8: true };
  if (pmd === undefined || pmd === true) return o;
  if (pmd.serverNoContextTakeover !== undefined) o.serverNoContextTakeover = pmd.serverNoContextTakeover;
  if (pmd.clientNoContextTakeover !== undefined) o.clientNoContextTakeover = pmd.clientNoContextTakeover;
  if (pmd.serverMaxWindowBits !== undefined) o.serverMaxWindowBits = pmd.serverMaxWindowBits;
  if (pmd.clientMaxWindowBits !== undefined) o.clientMaxWindowBits = pmd.clientMaxWindowBits;
  return o;
}

const defaultRandomFill = (bytes: Uint8Array): void => {
  randomFillSync(bytes);
};

/** ws's generateMask (one 4-byte key per call) as the codec's randomFill (a pool of keys per call). */
function maskPoolFiller(generateMask: (mask: Buffer) => void): (bytes: Uint8Array) => void {
  // One buffer, reused: a generateMask that leaves it alone keeps its last key (all zeros at first), as in ws.
  const mask = Buffer.alloc(4);
  return (bytes) => {
    for (let i = 0; i + 4 <= bytes.length; i += 4) {
      generateMask(mask);
      bytes.set(mask, i);
    }
  };
}

const PROTOCOL_VERSIONS = [8, 13];

// Options that are ours or ws's, not node:http's or node:tls's: not passed to http.request.
const NOT_REQUEST_OPTIONS = [
  'headers',
  'origin',
  'handshakeTimeout',
  'perMessageDeflate',
  'followRedirects',
  'maxRedirects',
  'protocolVersion',
  'finishRequest',
  'generateMask',
  'randomFill',
  'http2',
  'http2Fallback',
  'maxPayload',
  'autoPong',
  'closeTimeout',
  'keepalive',
  'auth',
  'createConnection',
  'host',
  'hostname',
  'port',
  'path',
  'method',
  'protocol',
  'socketPath',
  'setHost',
  'timeout',
] as const;

/**
 * What the handshake needs from the socket it opens: the socket itself (its 'upgrade', 'redirect'
 * and 'unexpected-response' events are the socket's own, as in ws) and the two ways it ends.
 */
export interface HandshakeSink<Socket extends HandshakeTarget> {
  readonly socket: Socket;
  /** The 101 was accepted: wire the connection, then 'open'. */
  opened(setup: OpenSetup): void;
  /** It failed before the connection opened; `null` when an 'unexpected-response' listener took the answer. */
  failed(err: WebSocketError | null): void;
}

/** The EventEmitter side of the socket being opened. */
export interface HandshakeTarget {
  emit(event: string, ...args: unknown[]): boolean;
  listenerCount(event: string): number;
}

/** The settings a handshake keeps across redirects, checked once. */
export interface Settings<Socket> {
  protocols: string[];
  options: ClientHandshakeOptions<Socket>;
  protocolVersion: number;
  handshakeTimeout: number;
  maxRedirects: number;
  keyFill: (bytes: Uint8Array) => void;
  maskFill: ((bytes: Uint8Array) => void) | undefined;
  passThrough: Record<string, unknown>;
}

export function settings<Socket>(
  protocols: string[],
  options: ClientHandshakeOptions<Socket>,
): Settings<Socket> {
  const protocolVersion = options.protocolVersion ?? 13;
  if (!PROTOCOL_VERSIONS.includes(protocolVersion)) {
    throw new RangeError(
      `Unsupported protocol version: ${String(protocolVersion)} (supported versions: ${PROTOCOL_VERSIONS.join(', ')})`,
    );
  }
  const handshakeTimeout = checkTimeout(
    'handshakeTimeout',
    options.handshakeTimeout,
    DEFAULT_HANDSHAKE_TIMEOUT,
  );
  const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  if (!Number.isInteger(maxRedirects) || maxRedirects < 0) {
    throw new Error(`maxRedirects must be a whole number >= 0, got ${String(maxRedirects)}`);
  }
  const seen = new Set<string>();
  for (const p of protocols) {
    if (seen.has(p))
      throw new SyntaxError(`Subprotocol ${JSON.stringify(p)} is listed twice; list each once`);
    seen.add(p);
  }
  for (const name of ['createConnection', 'finishRequest', 'generateMask'] as const) {
    if (options[name] !== undefined && typeof options[name] !== 'function') {
      throw new TypeError(`${name} must be a function, got ${typeof options[name]}`);
    }
  }
  const passThrough: Record<string, unknown> = { ...options };
  for (const k of NOT_REQUEST_OPTIONS) delete passThrough[k];
  return {
    protocols,
    options,
    protocolVersion,
    handshakeTimeout,
    maxRedirects,
    keyFill: options.randomFill ?? defaultRandomFill,
    maskFill: options.generateMask !== undefined ? maskPoolFiller(options.generateMask) : options.randomFill,
    passThrough,
  };
}

/** One request of the handshake: where it went, with which credentials, and what the codec wrote. */
interface Attempt {
  target: Target;
  /** The caller's headers and Basic credentials, minus what a redirect took away. */
  headers: [string, string][];
  auth: string | undefined;
  built: ClientRequest;
  req: http.ClientRequest;
}

/**
 * The client's opening handshake (RFC 6455 4.1), from the first request through any redirects to an
 * accepted 101. It ends exactly once: `sink.opened(setup)` or `sink.failed(err)`.
 *
 *   request(target) -> 'response' 3xx -> redirect(...) -> request(next) ...
 *                   -> 'response' other -> unexpected(...)  -> failed
 *                   -> 'upgrade'        -> upgrade(...)     -> opened | failed
 */
export class ClientHandshake<Socket extends HandshakeTarget> {
  private readonly settings: Settings<Socket>;
  private readonly sink: HandshakeSink<Socket>;
  private attempt: Attempt | null = null;
  private redirects = 0;
  private timer: NodeJS.Timeout | null = null;
  private done = false;
  /** The URL of the current request (it changes with redirects). */
  url: string;

  constructor(
    address: string | URL,
    protocols: string[],
    options: ClientHandshakeOptions<Socket>,
    sink: HandshakeSink<Socket>,
  ) {
    this.settings = settings(protocols, options);
    this.sink = sink;
    const url = parseWebSocketUrl(address);
    this.url = url.href;
    const timeout = this.settings.handshakeTimeout;
    if (timeout > 0) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.fail(`Opening handshake has timed out after ${timeout} ms`, 'WS_ERR_HANDSHAKE_TIMEOUT');
      }, timeout);
    }
    // user:password in the URL wins over the auth option (as ws).
    const auth = url.username !== '' || url.password !== '' ? userinfo(url) : (options.auth ?? undefined);
    try {
      this.request(describeTarget(url), headerList(options.headers), auth, false);
    } catch (err) {
      this.stop();
      throw err;
    }
  }

  /** The request in flight (ws exposes it as `_req`; its headers answer getHeader()). */
  get currentRequest(): http.ClientRequest | null {
    return this.done ? null : (this.attempt?.req ?? null);
  }

  /** close()/terminate() while CONNECTING: as ws, 'error' and 'close' follow on the next tick. */
  abort(reason: string): void {
    if (this.stop()) process.nextTick(() => this.sink.failed(new WebSocketError(reason, 'WS_ERR_ABORTED')));
  }

  /** Ends the handshake; true when it was still running. `destroy`: abandon the request too. */
  private stop(destroy = true): boolean {
    if (this.done) return false;
    this.done = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (destroy) this.attempt?.req.destroy();
    return true;
  }

  private fail(message: string, code: WebSocketErrorCode): void {
    if (this.stop()) this.sink.failed(new WebSocketError(message, code));
  }

  /** Writes the request with the codec and sends it through node:http(s). */
  private request(
    target: Target,
    headers: [string, string][],
    auth: string | undefined,
    isRedirect: boolean,
  ): void {
    const { options, protocolVersion, protocols, keyFill, passThrough } = this.settings;
    const { url, secure } = target;
    this.url = url.href;
    const extra = headers.slice();
    // headers.Host and headers.Origin replace the defaults (as ws: node:http keeps a Host it is given).
    const hostHeader = takeHeader(extra, 'host');
    const originHeader = takeHeader(extra, 'origin');
    let origin = options.origin ?? originHeader;
    if (protocolVersion === 8 && options.origin !== undefined) {
      // The hybi-08 draft named it Sec-WebSocket-Origin (ws does the same for version 8).
      extra.push(['Sec-WebSocket-Origin', options.origin]);
      origin = originHeader;
    }
    const built = createClientRequest({
      // ws+unix: node:http's default Host, as in ws.
      host: hostHeader ?? (target.socketPath !== null ? 'localhost' : url.host),
      path: target.path,
      protocols,
      ...(origin !== undefined ? { origin } : {}),
      headers: extra,
      perMessageDeflate: deflateOffer(options.perMessageDeflate),
      randomFill: keyFill,
    });
    const requestHeaders = built.headers.map(([name, value]): [string, string] =>
      protocolVersion !== 13 && name === 'Sec-WebSocket-Version'
        ? [name, String(protocolVersion)]
        : [name, value],
    );
    // A header the caller set wins over user:password (RFC 7617 Basic, as node:http and ws do).
    if (auth !== undefined && !requestHeaders.some(([name]) => name.toLowerCase() === 'authorization')) {
      requestHeaders.push(['Authorization', `Basic ${Buffer.from(auth).toString('base64')}`]);
    }
    const requestOptions: https.RequestOptions = {
      ...passThrough,
      method: 'GET',
      host: url.hostname.startsWith('[') ? url.hostname.slice(1, -1) : url.hostname,
      port: url.port === '' ? (secure ? 443 : 80) : Number(url.port),
      path: target.path,
      headers: headerObject(requestHeaders),
      setHost: false,
    };
    if (target.socketPath !== null) requestOptions.socketPath = target.socketPath;
    if (options.agent === undefined) {
      // No agent: a socket of our own for each handshake (or the caller's createConnection), as ws.
      requestOptions.createConnection = (options.createConnection ??
        (secure ? tlsConnect : netConnect)) as https.RequestOptions['createConnection'];
    }
    const req = (secure ? https : http).request(requestOptions);
    const attempt: Attempt = { target, headers, auth, built, req };
    this.attempt = attempt;
    const current = (): boolean => this.attempt === attempt && !this.done;

    req.on('error', (err) => {
      if (!current()) return;
      const code = (err as { code?: string }).code ?? 'WS_ERR_HANDSHAKE';
      this.fail(`opening handshake failed: ${err.message}`, code);
    });
    req.on('response', (res) => {
      if (!current()) return;
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if (options.followRedirects && status >= 300 && status < 400 && location !== undefined) {
        res.resume();
        req.destroy();
        this.redirect(attempt, location);
      } else {
        this.unexpected(req, res);
      }
    });
    req.on('upgrade', (res: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      if (!current()) socket.destroy();
      else this.upgrade(attempt, res, socket, head);
    });

    const ws = this.sink.socket;
    // As ws: 'redirect' gets the new request before it is sent, to inspect or change its headers.
    if (isRedirect) {
      ws.emit('redirect', url.href, req);
      if (this.done) return;
    }
    if (options.finishRequest !== undefined) options.finishRequest(req, ws);
    else req.end();
  }

  /** A 3xx with followRedirects: the next request, with the credentials the new target may have. */
  private redirect(from: Attempt, location: string): void {
    const { maxRedirects } = this.settings;
    if (this.redirects >= maxRedirects) {
      this.fail(
        `Maximum redirects exceeded (${maxRedirects}); raise maxRedirects or fix the URL`,
        'WS_ERR_MAX_REDIRECTS',
      );
      return;
    }
    this.redirects++;
    const { target } = from;
    let next: Target;
    try {
      const base =
        target.url.protocol === 'ws+unix:' ? target.url.href : target.url.href.replace(/^ws/, 'http');
      next = describeTarget(parseWebSocketUrl(new URL(location, base)));
      // A server on the network does not get to point us at a local socket.
      if (next.socketPath !== null && target.socketPath === null) {
        throw new Error(`a redirect from ${target.url.protocol} to ws+unix: is not followed`);
      }
    } catch (err) {
      this.fail(`redirect to an invalid URL: ${(err as Error).message}`, 'WS_ERR_REDIRECT');
      return;
    }
    let headers = from.headers;
    let auth = from.auth;
    if (next.url.username !== '' || next.url.password !== '') auth = userinfo(next.url);
    // Credentials go only to the origin they were meant for, and never from TLS into the clear
    // (as curl and ws): another host or port, or wss: to ws:, drops Authorization, Cookie and
    // user:password; another host also drops a Host header of the caller's.
    const otherHost = next.origin !== target.origin;
    if (otherHost || (target.secure && !next.secure)) {
      const drop = otherHost ? /^(authorization|cookie|host)$/i : /^(authorization|cookie)$/i;
      headers = headers.filter(([name]) => !drop.test(name));
      auth = undefined;
    }
    try {
      this.request(next, headers, auth, true);
    } catch (err) {
      this.fail(`redirect failed: ${(err as Error).message}`, 'WS_ERR_REDIRECT');
    }
  }

  /** Any answer but 101 (or a 3xx we do not follow). */
  private unexpected(req: http.ClientRequest, res: http.IncomingMessage): void {
    const ws = this.sink.socket;
    if (ws.listenerCount('unexpected-response') > 0) {
      this.stop(false);
      ws.emit('unexpected-response', req, res);
      // The listener owns req/res now and has the answer: no 'error' (as in ws), just 'close' 1006.
      this.sink.failed(null);
      return;
    }
    res.resume();
    const status = res.statusCode ?? 0;
    const location = res.headers.location;
    let message = `Unexpected server response: ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}`;
    if (status >= 300 && status < 400 && location !== undefined) {
      message += ` (Location: ${location}); pass followRedirects: true to follow redirects`;
    }
    this.fail(message, 'WS_ERR_UNEXPECTED_RESPONSE');
  }

  /** The 101: the codec judges it; accepted, the socket opens. */
  private upgrade(attempt: Attempt, res: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    // As ws: 'upgrade' comes first, with the response as it is; its listener may close() or terminate().
    this.sink.socket.emit('upgrade', res);
    if (this.done) {
      socket.destroy();
      return;
    }
    const response = headFromRaw({
      status: res.statusCode ?? 0,
      statusText: res.statusMessage ?? '',
      version: res.httpVersion,
      rawHeaders: res.rawHeaders,
    });
    const checked = checkServerResponse(response, attempt.built);
    if (!checked.ok) {
      socket.destroy();
      this.fail(`Invalid handshake response: ${checked.reason}`, 'WS_ERR_HANDSHAKE');
      return;
    }
    // The request is done; its socket is the connection's now.
    this.stop(false);
    const { options, maskFill } = this.settings;
    const pmdOptions = typeof options.perMessageDeflate === 'object' ? options.perMessageDeflate : {};
    const params = checked.perMessageDeflate;
    this.sink.opened({
      socket,
      head,
      role: 'client',
      protocol: checked.protocol ?? '',
      extensions: checked.extensions,
      perMessageDeflate: params ? createPerMessageDeflate(params, 'client', pmdOptions) : null,
      options,
      ...(maskFill !== undefined ? { randomFill: maskFill } : {}),
    });
  }
}

export function userinfo(url: URL): string {
  return `${querystring.unescape(url.username)}:${querystring.unescape(url.password)}`;
}
