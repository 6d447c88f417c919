// WebSockets over HTTP/2 (RFC 8441): the opening handshake as an extended CONNECT on one stream.
// The header fields are RFC 6455's, minus what HTTP/2 does itself: no Upgrade or Connection (the
// stream is the connection), no Sec-WebSocket-Key and no Sec-WebSocket-Accept (RFC 8441 5: the
// stream cannot be confused with an HTTP request), and a 200 instead of the 101. Frames then flow
// as the stream's DATA, byte for byte as on TCP, so the Connection is the same.
//
// Pure functions over header lists (HTTP/2 form: lowercase names, pseudo-headers first); no I/O.

import {
  checkNegotiated,
  createClientRequest,
  negotiateServer,
  type ClientHandshakeResult,
  type ClientRequestOptions,
  type HandshakeErrorKind,
  type ServerHandshakeOptions,
} from './handshake.js';
import {
  DEFAULT_MAX_HEADERS,
  checkHeader,
  countHeader,
  firstHeader,
  headerPairs,
  type HttpHead,
} from './http.js';
import {
  validateDeflateServerOptions,
  type PerMessageDeflateClientOptions,
  type PerMessageDeflateParams,
} from './permessage-deflate.js';

/** The ways an extended CONNECT can be refused here (the negotiation's own are HANDSHAKE_ERRORS'). */
export const EXTENDED_CONNECT_ERRORS = {
  'method-not-connect': {
    status: 405,
    reason: 'a WebSocket over HTTP/2 is opened with CONNECT (RFC 8441 4)',
  },
  'protocol-not-websocket': {
    status: 400,
    reason: 'the :protocol pseudo-header must be websocket (RFC 8441 4)',
  },
  'missing-pseudo-header': {
    status: 400,
    reason: 'an extended CONNECT needs :scheme, :path and :authority (RFC 8441 4)',
  },
  'unsupported-version': { status: 400, reason: 'this server speaks Sec-WebSocket-Version 13' },
  'too-many-headers': { status: 431, reason: 'too many header fields' },
} as const satisfies Record<string, { status: number; reason: string }>;

export type ExtendedConnectErrorKind = keyof typeof EXTENDED_CONNECT_ERRORS;

/** A field list in HTTP/2 form: pseudo-headers (`:method` ...) and lowercase names. */
export type FieldList = readonly (readonly [string, string])[];

export type ExtendedConnectResult =
  | {
      ok: true;
      /** 200 (RFC 8441 5: any 2xx opens the WebSocket; 200 is what browsers expect). */
      status: 200;
      /** The response's fields: sec-websocket-protocol / -extensions as negotiated, then the extra ones. */
      headers: [string, string][];
      protocol: string | null;
      extensions: string;
      perMessageDeflate: PerMessageDeflateParams | null;
      /** The request as an HttpHead: method CONNECT, target = :path, version 2.0, the regular fields. */
      request: HttpHead;
    }
  | {
      ok: false;
      kind: ExtendedConnectErrorKind | HandshakeErrorKind;
      status: number;
      reason: string;
      /** Fields the status asks for (sec-websocket-version: 13 when the version was wrong). */
      headers: [string, string][];
    };

/** The pseudo-headers of an extended CONNECT and the regular fields as an HttpHead. */
function splitRequest(fields: FieldList): { pseudo: Map<string, string>; head: HttpHead } {
  const pseudo = new Map<string, string>();
  const headers: [string, string][] = [];
  for (const [name, value] of fields) {
    if (name.startsWith(':')) pseudo.set(name, value);
    else headers.push([name, value]);
  }
  const head: HttpHead = {
    method: pseudo.get(':method') ?? '',
    target: pseudo.get(':path') ?? '/',
    version: '2.0',
    headers,
  };
  return { pseudo, head };
}

/**
 * Validates an extended CONNECT (RFC 8441 4 and 5) and settles the subprotocol and extensions as
 * RFC 6455 4.2.1 does; the transport answers `status` with `headers`, or refuses with them. Peer input
 * never throws; invalid options and a chooser that returns something not offered do.
 */
export function acceptExtendedConnect(
  fields: FieldList,
  options: ServerHandshakeOptions = {},
): ExtendedConnectResult {
  const deflateOptions = options.perMessageDeflate === true ? {} : options.perMessageDeflate || null;
  if (deflateOptions !== null) validateDeflateServerOptions(deflateOptions);
  const extra = options.headers === undefined ? [] : headerPairs(options.headers);
  for (const [name, value] of extra) checkHeader(name, value);

  const { pseudo, head } = splitRequest(fields);
  if (pseudo.get(':method') !== 'CONNECT') return refuse('method-not-connect', pseudo.get(':method'));
  if (pseudo.get(':protocol')?.toLowerCase() !== 'websocket') {
    return refuse('protocol-not-websocket', pseudo.get(':protocol'));
  }
  if (!pseudo.has(':scheme') || !pseudo.has(':path') || !pseudo.has(':authority')) {
    return refuse('missing-pseudo-header');
  }
  const maxHeaders = options.maxHeaders ?? DEFAULT_MAX_HEADERS;
  if (head.headers.length > maxHeaders) return refuse('too-many-headers', `more than ${maxHeaders}`);
  // RFC 8441 5: Sec-WebSocket-Version as in RFC 6455 (Sec-WebSocket-Key is not sent, and ignored).
  if (
    countHeader(head, 'Sec-WebSocket-Version') !== 1 ||
    firstHeader(head, 'Sec-WebSocket-Version') !== '13'
  ) {
    return refuse('unsupported-version', undefined, [['sec-websocket-version', '13']]);
  }
  const negotiated = negotiateServer(head, options.chooseProtocol, deflateOptions);
  if (!negotiated.ok) {
    const { kind, status, reason } = negotiated;
    return { ok: false, kind, status, reason, headers: [] };
  }
  const headers: [string, string][] = [];
  if (negotiated.protocol !== null) headers.push(['sec-websocket-protocol', negotiated.protocol]);
  if (negotiated.extensions !== '') headers.push(['sec-websocket-extensions', negotiated.extensions]);
  for (const [name, value] of extra) headers.push([name.toLowerCase(), value]);
  return {
    ok: true,
    status: 200,
    headers,
    protocol: negotiated.protocol,
    extensions: negotiated.extensions,
    perMessageDeflate: negotiated.perMessageDeflate,
    request: head,
  };
}

function refuse(
  kind: ExtendedConnectErrorKind,
  detail?: string,
  headers: [string, string][] = [],
): ExtendedConnectResult {
  const { status, reason: gist } = EXTENDED_CONNECT_ERRORS[kind];
  const shown = detail === undefined ? '' : `: got ${JSON.stringify(detail.slice(0, 100))}`;
  return { ok: false, kind, status, reason: gist + shown, headers };
}

export interface ExtendedConnectRequestOptions extends Omit<ClientRequestOptions, 'host'> {
  /** The :authority: host, and `:port` when not the default. */
  authority: string;
  /** The :scheme: 'https' for wss:, 'http' for ws: (RFC 8441 4). */
  scheme: 'https' | 'http';
}

/** What was sent: the fields to send on a new stream, and what checkExtendedConnectResponse needs. */
export interface ExtendedConnectRequest {
  /** Pseudo-headers first, then the fields, names in lowercase (RFC 9113 8.2). */
  headers: [string, string][];
  protocols: string[];
  perMessageDeflate: PerMessageDeflateClientOptions | null;
}

// RFC 6455's fields that HTTP/2 has no use for (RFC 8441 4, 5; RFC 9113 8.2.2).
const NOT_IN_HTTP2 = ['host', 'upgrade', 'connection', 'sec-websocket-key'];

/**
 * Builds the extended CONNECT for a WebSocket (RFC 8441 4): `:method CONNECT`, `:protocol websocket`,
 * `:scheme`, `:path`, `:authority`, then RFC 6455's fields without the key. The same option checks as
 * createClientRequest (it throws on invalid options).
 */
export function createExtendedConnectRequest(options: ExtendedConnectRequestOptions): ExtendedConnectRequest {
  const { authority, scheme, ...rest } = options;
  if (scheme !== 'https' && scheme !== 'http') {
    throw new Error(`scheme must be 'https' (wss:) or 'http' (ws:), got ${JSON.stringify(scheme)}`);
  }
  const built = createClientRequest({ ...rest, host: authority, randomFill: noRandom });
  const headers: [string, string][] = [
    [':method', 'CONNECT'],
    [':protocol', 'websocket'],
    [':scheme', scheme],
    [':path', options.path],
    [':authority', authority],
  ];
  for (const [name, value] of built.headers) {
    const lower = name.toLowerCase();
    if (!NOT_IN_HTTP2.includes(lower)) headers.push([lower, value]);
  }
  return { headers, protocols: built.protocols, perMessageDeflate: built.perMessageDeflate };
}

// The key createClientRequest draws is dropped: no randomness is spent on it.
function noRandom(): void {}

/**
 * Checks the answer to an extended CONNECT (RFC 8441 5): a 2xx status, then RFC 6455 4.1 steps 5
 * and 6 (the subprotocol and extensions are ones we offered). There is no accept value to check.
 */
export function checkExtendedConnectResponse(
  status: number,
  fields: FieldList,
  sent: Pick<ExtendedConnectRequest, 'protocols' | 'perMessageDeflate'>,
): ClientHandshakeResult {
  const fail = (reason: string): ClientHandshakeResult => ({ ok: false, reason, status });
  if (!(status >= 200 && status < 300))
    return fail(`expected a 2xx answer to the extended CONNECT, got ${status}`);
  const headers: [string, string][] = [];
  for (const [name, value] of fields) if (!name.startsWith(':')) headers.push([name, value]);
  return checkNegotiated({ status, statusText: '', version: '2.0', headers }, sent, fail);
}
