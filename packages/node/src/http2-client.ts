// WebSockets over HTTP/2 (RFC 8441), the client's side: `new WebSocket(url, { http2: true })`.
//
//   session for the origin (shared) -> the peer's SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 3)
//     -> extended CONNECT on a new stream -> 2xx -> the stream is the WebSocket's byte Duplex
//     -> no HTTP/2 or no setting: an HTTP/1.1 Upgrade instead (ClientHandshake), or a clear failure
//
// The codec writes the request and judges the answer (rfc8441.ts); node:http2 carries them. Like
// client.ts it knows the socket only through a HandshakeSink: no import of websocket.ts.

import type http from 'node:http';
import http2 from 'node:http2';
import type { ClientHttp2Session, ClientHttp2Stream, SecureClientSessionOptions } from 'node:http2';
import { checkExtendedConnectResponse, createExtendedConnectRequest } from '@rfc6455/codec';
import { createPerMessageDeflate } from './deflate.js';
import { WebSocketError } from './errors.js';
import type { WebSocketErrorCode } from './errors.js';
import {
  ClientHandshake,
  deflateOffer,
  headerList,
  headerObject,
  parseWebSocketUrl,
  settings,
  takeHeader,
  userinfo,
} from './client.js';
import type { ClientHandshakeOptions, HandshakeSink, HandshakeTarget, Settings } from './client.js';

const NO_BYTES = new Uint8Array(0);

// ---- sessions, shared per origin ------------------------------------------------------------------

/** The TLS options that make two sessions to one origin different (compared with ===). */
const TLS_KEYS = [
  'ca',
  'cert',
  'key',
  'pfx',
  'passphrase',
  'rejectUnauthorized',
  'servername',
  'checkServerIdentity',
  'ciphers',
  'minVersion',
  'maxVersion',
  'localAddress',
  'family',
] as const;
type TlsPick = Partial<Record<(typeof TLS_KEYS)[number], unknown>>;

function tlsPick(options: object): TlsPick {
  const out: TlsPick = {};
  for (const key of TLS_KEYS) {
    const value = (options as Record<string, unknown>)[key];
    if (value !== undefined) out[key] = value;
  }
  return out;
}

function sameTls(a: TlsPick, b: TlsPick): boolean {
  return TLS_KEYS.every((key) => a[key] === b[key]);
}

interface Pooled {
  origin: string;
  tls: TlsPick;
  session: ClientHttp2Session;
  /** WebSockets (and handshakes) on it: at 0 the session closes. */
  users: number;
}

/** Open sessions by origin (`https://host:port`): the ones a new WebSocket may join. */
const pool = new Map<string, Pooled[]>();

function unpool(entry: Pooled): void {
  const list = pool.get(entry.origin);
  if (!list) return;
  const rest = list.filter((e) => e !== entry);
  if (rest.length === 0) pool.delete(entry.origin);
  else pool.set(entry.origin, rest);
}

/** A use of a session: `release` once its stream is done (a session of the caller's is left open). */
interface Lease {
  session: ClientHttp2Session;
  release(): void;
}

function acquire(origin: string, options: object): Lease {
  const tls = tlsPick(options);
  const found = pool
    .get(origin)
    ?.find((e) => sameTls(e.tls, tls) && !e.session.closed && !e.session.destroyed);
  let entry = found;
  if (entry === undefined) {
    const session = http2.connect(origin, { ...(tls as SecureClientSessionOptions) });
    const created: Pooled = { origin, tls, session, users: 0 };
    entry = created;
    // Session errors reach its streams too (each fails or closes with 1006): nothing to add here.
    session.on('error', () => {});
    // A GOAWAY (or any end) lets the open streams finish; new WebSockets get a new session.
    session.once('goaway', () => unpool(created));
    session.once('close', () => unpool(created));
    pool.set(origin, [...(pool.get(origin) ?? []), created]);
  }
  const used = entry;
  used.users++;
  let released = false;
  return {
    session: used.session,
    release: () => {
      if (released) return;
      released = true;
      if (--used.users > 0) return;
      unpool(used);
      if (!used.session.closed) used.session.close();
    },
  };
}

/** Test hook: how many pooled sessions there are for `origin` (http(s)://host:port). */
export function pooledSessions(origin: string): number {
  return pool.get(origin)?.length ?? 0;
}

// ---- is extended CONNECT on? -----------------------------------------------------------------------

type Readiness = 'ready' | 'unsupported' | Error;
interface Watch {
  result: Readiness | null;
  waiters: ((result: Readiness) => void)[];
}
const watches = new WeakMap<ClientHttp2Session, Watch>();

/**
 * Calls back once it is known whether the peer enabled extended CONNECT: its first SETTINGS says so
 * (RFC 8441 3). A session of the caller's may have had its SETTINGS already: then the answer to a
 * PING (which the peer sends after its preface SETTINGS) settles it.
 */
function whenReady(session: ClientHttp2Session, callback: (result: Readiness) => void): void {
  let watch = watches.get(session);
  if (watch === undefined) {
    const created: Watch = { result: null, waiters: [] };
    watch = created;
    watches.set(session, created);
    const settle = (result: Readiness): void => {
      if (created.result !== null) return;
      created.result = result;
      session.off('remoteSettings', onSettings);
      session.off('error', settle);
      session.off('close', onClose);
      for (const waiter of created.waiters.splice(0)) waiter(result);
    };
    const onSettings = (s: http2.Settings): void => settle(s.enableConnectProtocol ? 'ready' : 'unsupported');
    const onClose = (): void => settle(new Error('the HTTP/2 session closed before its SETTINGS arrived'));
    if (session.destroyed || session.closed) {
      settle(new Error('the HTTP/2 session is closed'));
    } else if (session.remoteSettings.enableConnectProtocol === true) {
      settle('ready');
    } else {
      session.on('remoteSettings', onSettings);
      session.on('error', settle);
      session.on('close', onClose);
      const ping = (): void => {
        session.ping((err) => {
          if (err) settle(err);
          else settle(session.remoteSettings.enableConnectProtocol ? 'ready' : 'unsupported');
        });
      };
      if (session.connecting) session.once('connect', ping);
      else ping();
    }
  }
  if (watch.result !== null) {
    const result = watch.result;
    process.nextTick(() => callback(result));
  } else {
    watch.waiters.push(callback);
  }
}

// ---- the handshake -----------------------------------------------------------------------------------

/**
 * The client's handshake over HTTP/2: the same contract as ClientHandshake (it ends exactly once,
 * in `sink.opened` or `sink.failed`), for `options.http2`. Redirects, `finishRequest` and the
 * 'upgrade' / 'unexpected-response' events belong to HTTP/1.1 and are not used here.
 */
export class Http2Handshake<Socket extends HandshakeTarget> {
  private readonly settings: Settings<Socket>;
  private readonly sink: HandshakeSink<Socket>;
  private readonly target: URL;
  private lease: Lease | null = null;
  private stream: ClientHttp2Stream | null = null;
  /** The HTTP/1.1 handshake that took over (http2Fallback). */
  private fallback: ClientHandshake<Socket> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private done = false;

  constructor(
    address: string | URL,
    protocols: string[],
    options: ClientHandshakeOptions<Socket>,
    sink: HandshakeSink<Socket>,
  ) {
    this.settings = settings(protocols, options);
    this.sink = sink;
    const url = parseWebSocketUrl(address);
    if (url.protocol === 'ws+unix:') {
      throw new Error('http2 is for ws: and wss: URLs; connect to a ws+unix: socket without it');
    }
    this.target = url;
    const timeout = this.settings.handshakeTimeout;
    if (timeout > 0) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.fail(`Opening handshake has timed out after ${timeout} ms`, 'WS_ERR_HANDSHAKE_TIMEOUT');
      }, timeout);
    }
    const given = options.http2;
    const origin = `${url.protocol === 'wss:' ? 'https:' : 'http:'}//${url.host}`;
    this.lease =
      typeof given === 'object' && given !== null
        ? { session: given, release: () => {} }
        : acquire(origin, options);
    whenReady(this.lease.session, (result) => this.ready(result));
  }

  get url(): string {
    return this.fallback?.url ?? this.target.href;
  }

  /** The HTTP/1.1 request of a fallback (an extended CONNECT is not an http.ClientRequest). */
  get currentRequest(): http.ClientRequest | null {
    return this.fallback?.currentRequest ?? null;
  }

  abort(reason: string): void {
    if (this.fallback) {
      this.fallback.abort(reason);
      return;
    }
    if (this.stop()) process.nextTick(() => this.sink.failed(new WebSocketError(reason, 'WS_ERR_ABORTED')));
  }

  /** Ends the handshake; true when it was still running. The stream is cancelled unless it opened. */
  private stop(opened = false): boolean {
    if (this.done) return false;
    this.done = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    if (!opened) {
      const stream = this.stream;
      // destroy, not close(): a refusal's unread body would keep a closed stream from ending.
      if (stream !== null && !stream.destroyed) stream.destroy();
      if (stream === null) this.lease?.release();
    }
    return true;
  }

  private fail(message: string, code: WebSocketErrorCode): void {
    if (this.stop()) this.sink.failed(new WebSocketError(message, code));
  }

  private ready(result: Readiness): void {
    if (this.done) return;
    if (result === 'ready') {
      try {
        this.request();
      } catch (err) {
        this.fail(`opening handshake failed: ${(err as Error).message}`, 'WS_ERR_HANDSHAKE');
      }
      return;
    }
    const why =
      result === 'unsupported'
        ? 'the server does not enable extended CONNECT (SETTINGS_ENABLE_CONNECT_PROTOCOL, RFC 8441)'
        : `no HTTP/2 connection: ${result.message}`;
    if (this.settings.options.http2Fallback === false) {
      this.fail(
        `WebSocket over HTTP/2 failed: ${why}; allow http2Fallback to use HTTP/1.1`,
        'WS_ERR_HTTP2_UNSUPPORTED',
      );
      return;
    }
    // HTTP/1.1 takes over (its own timer starts now); our session goes.
    this.stop();
    const { protocols, options } = this.settings;
    try {
      this.fallback = new ClientHandshake(this.target, protocols, { ...options, http2: false }, this.sink);
    } catch (err) {
      this.sink.failed(
        new WebSocketError(`HTTP/1.1 fallback failed: ${(err as Error).message}`, 'WS_ERR_HANDSHAKE'),
      );
    }
  }

  /** Sends the extended CONNECT (RFC 8441 4) on a new stream of the session. */
  private request(): void {
    const { options, protocols } = this.settings;
    const url = this.target;
    const extra = headerList(options.headers);
    const host = takeHeader(extra, 'host');
    const originHeader = takeHeader(extra, 'origin');
    const origin = options.origin ?? originHeader;
    const auth = url.username !== '' || url.password !== '' ? userinfo(url) : (options.auth ?? undefined);
    if (auth !== undefined && !extra.some(([name]) => name.toLowerCase() === 'authorization')) {
      extra.push(['Authorization', `Basic ${Buffer.from(auth).toString('base64')}`]);
    }
    const built = createExtendedConnectRequest({
      authority: host ?? url.host,
      scheme: url.protocol === 'wss:' ? 'https' : 'http',
      path: url.pathname + url.search,
      protocols,
      ...(origin !== undefined ? { origin } : {}),
      headers: extra,
      perMessageDeflate: deflateOffer(options.perMessageDeflate),
    });
    const lease = this.lease!;
    const stream = lease.session.request(headerObject(built.headers), { endStream: false });
    this.stream = stream;
    stream.once('close', () => {
      lease.release();
      this.fail('the stream closed before the server answered the extended CONNECT', 'WS_ERR_HANDSHAKE');
    });
    stream.on('error', (err: Error) => {
      const code = (err as { code?: string }).code ?? 'WS_ERR_HANDSHAKE';
      this.fail(`opening handshake failed: ${err.message}`, code);
    });
    stream.once('response', (headers) => {
      if (this.done) return;
      const status = Number(headers[':status']);
      const fields: [string, string][] = [];
      for (const [name, value] of Object.entries(headers)) {
        if (Array.isArray(value)) for (const v of value) fields.push([name, v]);
        else if (value !== undefined) fields.push([name, String(value)]);
      }
      const checked = checkExtendedConnectResponse(status, fields, built);
      if (!checked.ok) {
        if (status < 200 || status >= 300)
          this.fail(`Unexpected server response: ${status}`, 'WS_ERR_UNEXPECTED_RESPONSE');
        else this.fail(`Invalid handshake response: ${checked.reason}`, 'WS_ERR_HANDSHAKE');
        return;
      }
      this.stop(true);
      const { maskFill } = this.settings;
      const pmdOptions = typeof options.perMessageDeflate === 'object' ? options.perMessageDeflate : {};
      const params = checked.perMessageDeflate;
      this.sink.opened({
        socket: stream,
        head: NO_BYTES,
        closeLater: true,
        role: 'client',
        protocol: checked.protocol ?? '',
        extensions: checked.extensions,
        perMessageDeflate: params ? createPerMessageDeflate(params, 'client', pmdOptions) : null,
        options,
        ...(maskFill !== undefined ? { randomFill: maskFill } : {}),
      });
    });
  }
}
