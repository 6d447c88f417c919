// The client's opening handshake: the codec writes the request and judges the response; node:http
// (or node:https for wss:) carries them, which gives `agent`, TLS options and IncomingMessage objects
// for 'upgrade' and 'unexpected-response' for free.

import http from 'node:http';
import https from 'node:https';
import { randomFillSync } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { checkServerResponse, createClientRequest } from '@rfc6455/codec';
import type { HttpHead, PerMessageDeflateClientOptions } from '@rfc6455/codec';
import { createPerMessageDeflate } from './deflate.js';
import { DEFAULT_HANDSHAKE_TIMEOUT, DEFAULT_MAX_REDIRECTS, checkTimeout } from './options.js';
import type { PerMessageDeflateOptions, SocketOptions } from './options.js';
import type { WebSocket } from './websocket.js';
import { WebSocketError } from './websocket.js';

export interface ClientOptions extends SocketOptions {
  /** Extra request headers. */
  headers?: Record<string, string>;
  /** The Origin header (RFC 6455 10.2). */
  origin?: string;
  /** Milliseconds from the start of the request to the 101 response (default 10 000; 0 = none). */
  handshakeTimeout?: number;
  /** Offer permessage-deflate (default true, like ws); an object tunes the offer and zlib. */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /** Follow 3xx redirects (default false). */
  followRedirects?: boolean;
  /** Most redirects followed (default 10). */
  maxRedirects?: number;
  /** An http.Agent (for proxies or connection pools). */
  agent?: http.Agent;
  /** TLS options for wss:, passed to https.request. */
  ca?: string | Buffer | Array<string | Buffer>;
  cert?: string | Buffer | Array<string | Buffer>;
  key?: string | Buffer | Array<string | Buffer>;
  passphrase?: string;
  rejectUnauthorized?: boolean;
  servername?: string;
  /** Local interface and address family, passed to http(s).request. */
  localAddress?: string;
  family?: number;
  /** Masking-key source (tests make it deterministic); default crypto.randomFillSync. */
  randomFill?: (bytes: Uint8Array) => void;
}

/** Parses and checks a ws:/wss: URL (http:/https: are accepted as their WebSocket twins, like ws). */
export function parseWebSocketUrl(input: string | URL): URL {
  let url: URL;
  try {
    url = input instanceof URL ? new URL(input.href) : new URL(input);
  } catch {
    throw new SyntaxError(`Invalid URL: ${String(input)}; use ws://host[:port]/path or wss://...`);
  }
  if (url.protocol === 'http:') url.protocol = 'ws:';
  else if (url.protocol === 'https:') url.protocol = 'wss:';
  if (url.protocol !== 'ws:' && url.protocol !== 'wss:') {
    throw new SyntaxError(`The URL's scheme must be ws: or wss:, got ${url.protocol} in ${url.href}`);
  }
  // RFC 6455 3: fragment identifiers are meaningless in WebSocket URIs and must not be used.
  if (url.hash !== '')
    throw new SyntaxError(`The URL must not contain a fragment (${url.hash}): ${url.href}`);
  return url;
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

/** Starts (and on redirects restarts) the opening handshake for `ws`. */
export function connectClient(
  ws: WebSocket,
  address: string | URL,
  protocols: string[],
  options: ClientOptions,
): void {
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
  const randomFill = options.randomFill ?? defaultRandomFill;
  let redirects = 0;
  let timer: NodeJS.Timeout | null = null;
  let aborted = false;
  let current: http.ClientRequest | null = null;

  const clearTimer = (): void => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  };

  const fail = (message: string, code: string): void => {
    if (aborted) return;
    aborted = true;
    clearTimer();
    current?.destroy();
    ws._req = null;
    ws._failHandshake(new WebSocketError(message, code));
  };

  ws._abortHandshake = (reason) => fail(reason, 'WS_ERR_ABORTED');

  const start = (target: URL, headers: Record<string, string>): void => {
    ws._setUrl(target.href);
    const offer = deflateOffer(options.perMessageDeflate);
    const host = target.host; // includes a non-default port
    const built = createClientRequest({
      host,
      path: target.pathname + target.search,
      protocols,
      ...(options.origin !== undefined ? { origin: options.origin } : {}),
      headers,
      perMessageDeflate: offer,
      randomFill,
    });
    // The codec wrote the request; node:http sends its header lines as they are.
    const requestHeaders: [string, string][] = built.headers;
    const secure = target.protocol === 'wss:';
    const requestOptions: https.RequestOptions = {
      method: 'GET',
      host: target.hostname.startsWith('[') ? target.hostname.slice(1, -1) : target.hostname,
      port: target.port === '' ? (secure ? 443 : 80) : Number(target.port),
      path: target.pathname + target.search,
      headers: requestHeaders.flat(),
      setHost: false,
    };
    if (target.username !== '' || target.password !== '') {
      requestOptions.auth = `${decodeURIComponent(target.username)}:${decodeURIComponent(target.password)}`;
    }
    for (const k of [
      'agent',
      'ca',
      'cert',
      'key',
      'passphrase',
      'rejectUnauthorized',
      'servername',
      'localAddress',
      'family',
    ] as const) {
      if (options[k] !== undefined) (requestOptions as Record<string, unknown>)[k] = options[k];
    }
    if (options.agent === undefined) requestOptions.agent = false;
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
        let next: URL;
        try {
          next = parseWebSocketUrl(new URL(location, target.href.replace(/^ws/, 'http')));
        } catch (err) {
          fail(`redirect to an invalid URL: ${(err as Error).message}`, 'WS_ERR_REDIRECT');
          return;
        }
        // Credentials go only to the host they were meant for.
        const nextHeaders = { ...headers };
        if (next.host !== target.host) {
          for (const name of Object.keys(nextHeaders)) {
            if (/^(authorization|cookie|host)$/i.test(name)) delete nextHeaders[name];
          }
        }
        ws.emit('redirect', next.href, req);
        try {
          start(next, nextHeaders);
        } catch (err) {
          fail(`redirect failed: ${(err as Error).message}`, 'WS_ERR_REDIRECT');
        }
        return;
      }
      if (ws.listenerCount('unexpected-response') > 0) {
        aborted = true;
        clearTimer();
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
      const checked = checkServerResponse(responseHead(res), built);
      if (!checked.ok) {
        socket.destroy();
        fail(`Invalid handshake response: ${checked.reason}`, 'WS_ERR_HANDSHAKE');
        return;
      }
      clearTimer();
      ws._abortHandshake = null;
      ws._req = null;
      ws.emit('upgrade', res);
      if (ws.readyState !== 0) {
        socket.destroy();
        return;
      }
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
        randomFill,
      });
      ws.emit('open');
    });

    req.end();
  };

  if (handshakeTimeout > 0) {
    timer = setTimeout(() => {
      timer = null;
      fail(`Opening handshake has timed out after ${handshakeTimeout} ms`, 'WS_ERR_HANDSHAKE_TIMEOUT');
    }, handshakeTimeout);
  }
  try {
    start(url, { ...(options.headers ?? {}) });
  } catch (err) {
    clearTimer();
    throw err;
  }
}
