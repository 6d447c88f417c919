// The client's opening handshake: the codec writes the request and judges the response; node:http
// (or node:https for wss:) carries them, which gives `agent`, TLS options and IncomingMessage objects
// for 'upgrade' and 'unexpected-response' for free.

import http from 'node:http';
import https from 'node:https';
import { randomFillSync } from 'node:crypto';
import net from 'node:net';
import querystring from 'node:querystring';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { checkServerResponse, createClientRequest } from '@rfc6455/codec';
import type { HttpHead, PerMessageDeflateClientOptions } from '@rfc6455/codec';
import { createPerMessageDeflate } from './deflate.js';
import { DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_MAX_REDIRECTS, checkTimeout } from './options.js';
import type { PerMessageDeflateOptions, SocketOptions } from './options.js';
import type { WebSocket } from './websocket.js';
import { WebSocketError } from './errors.js';

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
export interface ClientOptions extends SocketOptions, Omit<https.RequestOptions, OwnedRequestOptions> {
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
  finishRequest?: (request: http.ClientRequest, websocket: WebSocket) => void;
  /** Fills the 4-byte masking key of each frame we send (ws's option). */
  generateMask?: (mask: Buffer) => void;
  /** Masking-key source (tests make it deterministic); default crypto.randomFillSync. */
  randomFill?: (bytes: Uint8Array) => void;
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
function takeHeader(headers: [string, string][], name: string): string | undefined {
  let value: string | undefined;
  for (let i = headers.length - 1; i >= 0; i--) {
    if (headers[i]![0].toLowerCase() === name) {
      value ??= headers[i]![1];
      headers.splice(i, 1);
    }
  }
  return value;
}

function headerList(headers: http.OutgoingHttpHeaders | undefined): [string, string][] {
  const out: [string, string][] = [];
  for (const [name, value] of Object.entries(headers ?? {})) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const v of value) out.push([name, String(v)]);
    else out.push([name, String(value)]);
  }
  return out;
}

/** The codec's header list as node:http wants it (repeated names become arrays), order kept. */
function headerObject(list: [string, string][]): http.OutgoingHttpHeaders {
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

function pairs(raw: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i] as string, raw[i + 1] as string]);
  return out;
}

function responseHead(res: http.IncomingMessage): HttpHead {
  return {
    status: res.statusCode ?? 0,
    statusText: res.statusMessage ?? '',
    version: res.httpVersion,
    headers: pairs(res.rawHeaders),
  };
}

function deflateOffer(pmd: ClientOptions['perMessageDeflate']): false | PerMessageDeflateClientOptions {
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

/** Starts (and on redirects restarts) the opening handshake for `ws`. */
export function connectClient(
  ws: WebSocket,
  address: string | URL,
  protocols: string[],
  options: ClientOptions,
): void {
  const protocolVersion = options.protocolVersion ?? 13;
  if (!PROTOCOL_VERSIONS.includes(protocolVersion)) {
    throw new RangeError(
      `Unsupported protocol version: ${String(protocolVersion)} (supported versions: ${PROTOCOL_VERSIONS.join(', ')})`,
    );
  }
  const url = parseWebSocketUrl(address);
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
  const keyFill = options.randomFill ?? defaultRandomFill;
  const maskFill =
    options.generateMask !== undefined ? maskPoolFiller(options.generateMask) : options.randomFill;
  const passThrough: Record<string, unknown> = { ...options };
  for (const k of NOT_REQUEST_OPTIONS) delete passThrough[k];
  let redirects = 0;
  let timer: NodeJS.Timeout | null = null;
  let aborted = false;
  let current: http.ClientRequest | null = null;

  const clearTimer = (): void => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  };

  /** Stops the request; true when it was still running. */
  const stop = (): boolean => {
    if (aborted) return false;
    aborted = true;
    clearTimer();
    current?.destroy();
    ws._req = null;
    return true;
  };

  const fail = (message: string, code: string): void => {
    if (stop()) ws._failHandshake(new WebSocketError(message, code));
  };

  // close()/terminate() while CONNECTING: as ws, 'error' and 'close' follow on the next tick.
  ws._abortHandshake = (reason) => {
    if (stop()) process.nextTick(() => ws._failHandshake(new WebSocketError(reason, 'WS_ERR_ABORTED')));
  };

  /**
   * `headers` are the caller's, `auth` the user:password for Basic auth; a redirect that leaves the
   * first origin or drops TLS has taken the credentials out of both.
   */
  const start = (
    target: Target,
    headers: [string, string][],
    auth: string | undefined,
    isRedirect: boolean,
  ): void => {
    const { url: targetUrl, secure } = target;
    ws._setUrl(targetUrl.href);
    const offer = deflateOffer(options.perMessageDeflate);
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
      host: hostHeader ?? (target.socketPath !== null ? 'localhost' : targetUrl.host),
      path: target.path,
      protocols,
      ...(origin !== undefined ? { origin } : {}),
      headers: extra,
      perMessageDeflate: offer,
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
      host: targetUrl.hostname.startsWith('[') ? targetUrl.hostname.slice(1, -1) : targetUrl.hostname,
      port: targetUrl.port === '' ? (secure ? 443 : 80) : Number(targetUrl.port),
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
    current = req;
    ws._req = req;

    req.on('error', (err) => {
      if (current !== req) return;
      fail(`opening handshake failed: ${err.message}`, (err as { code?: string }).code ?? 'WS_ERR_HANDSHAKE');
    });

    req.on('response', (res) => {
      if (current !== req || aborted) return;
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if (options.followRedirects && status >= 300 && status < 400 && location !== undefined) {
        res.resume();
        req.destroy();
        if (redirects >= maxRedirects) {
          fail(
            `Maximum redirects exceeded (${maxRedirects}); raise maxRedirects or fix the URL`,
            'WS_ERR_MAX_REDIRECTS',
          );
          return;
        }
        redirects++;
        let next: Target;
        try {
          const base =
            targetUrl.protocol === 'ws+unix:' ? targetUrl.href : targetUrl.href.replace(/^ws/, 'http');
          next = describeTarget(parseWebSocketUrl(new URL(location, base)));
          // A server on the network does not get to point us at a local socket.
          if (next.socketPath !== null && target.socketPath === null) {
            throw new Error(`a redirect from ${targetUrl.protocol} to ws+unix: is not followed`);
          }
        } catch (err) {
          fail(`redirect to an invalid URL: ${(err as Error).message}`, 'WS_ERR_REDIRECT');
          return;
        }
        let nextHeaders = headers;
        let nextAuth = auth;
        if (next.url.username !== '' || next.url.password !== '') nextAuth = userinfo(next.url);
        // Credentials go only to the origin they were meant for, and never from TLS into the clear
        // (as curl and ws): another host or port, or wss: to ws:, drops Authorization, Cookie and
        // user:password; another host also drops a Host header of the caller's.
        const otherHost = next.origin !== target.origin;
        if (otherHost || (target.secure && !next.secure)) {
          const drop = otherHost ? /^(authorization|cookie|host)$/i : /^(authorization|cookie)$/i;
          nextHeaders = headers.filter(([name]) => !drop.test(name));
          nextAuth = undefined;
        }
        try {
          start(next, nextHeaders, nextAuth, true);
        } catch (err) {
          fail(`redirect failed: ${(err as Error).message}`, 'WS_ERR_REDIRECT');
        }
        return;
      }
      if (ws.listenerCount('unexpected-response') > 0) {
        aborted = true;
        clearTimer();
        ws._req = null;
        ws.emit('unexpected-response', req, res);
        // The listener owns req/res now and has the answer: no 'error' (as in ws), just 'close' 1006.
        ws._failHandshake(null);
        return;
      }
      res.resume();
      let message = `Unexpected server response: ${status}${res.statusMessage ? ` ${res.statusMessage}` : ''}`;
      if (status >= 300 && status < 400 && location !== undefined) {
        message += ` (Location: ${location}); pass followRedirects: true to follow redirects`;
      }
      fail(message, 'WS_ERR_UNEXPECTED_RESPONSE');
    });

    req.on('upgrade', (res: http.IncomingMessage, socket: Duplex, head: Buffer) => {
      if (current !== req || aborted) {
        socket.destroy();
        return;
      }
      // As ws: 'upgrade' comes first, with the response as it is; its listener may close() or terminate().
      ws.emit('upgrade', res);
      if (aborted) {
        socket.destroy();
        return;
      }
      const checked = checkServerResponse(responseHead(res), built);
      if (!checked.ok) {
        socket.destroy();
        fail(`Invalid handshake response: ${checked.reason}`, 'WS_ERR_HANDSHAKE');
        return;
      }
      clearTimer();
      ws._abortHandshake = null;
      ws._req = null;
      const pmdOptions = typeof options.perMessageDeflate === 'object' ? options.perMessageDeflate : {};
      const params = checked.perMessageDeflate;
      ws._open({
        socket,
        head,
        role: 'client',
        protocol: checked.protocol ?? '',
        extensions: checked.extensions,
        perMessageDeflate: params ? createPerMessageDeflate(params, 'client', pmdOptions) : null,
        options,
        ...(maskFill !== undefined ? { randomFill: maskFill } : {}),
      });
      ws.emit('open');
    });

    // As ws: 'redirect' gets the new request before it is sent, to inspect or change its headers.
    if (isRedirect) {
      ws.emit('redirect', targetUrl.href, req);
      if (aborted) return;
    }
    if (options.finishRequest !== undefined) options.finishRequest(req, ws);
    else req.end();
  };

  if (handshakeTimeout > 0) {
    timer = setTimeout(() => {
      timer = null;
      fail(`Opening handshake has timed out after ${handshakeTimeout} ms`, 'WS_ERR_HANDSHAKE_TIMEOUT');
    }, handshakeTimeout);
  }
  const first = describeTarget(url);
  // user:password in the URL wins over the auth option (as ws).
  const auth = url.username !== '' || url.password !== '' ? userinfo(url) : (options.auth ?? undefined);
  try {
    start(first, headerList(options.headers), auth, false);
  } catch (err) {
    clearTimer();
    throw err;
  }
}

function userinfo(url: URL): string {
  return `${querystring.unescape(url.username)}:${querystring.unescape(url.password)}`;
}
