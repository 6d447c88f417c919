// The opening handshake (RFC 6455 section 4): server-side validation and response, client-side
// request and response check. Pure functions over parsed heads (http.ts); no I/O.

import { base64Encode, base64EncodeInto, isBase64Char } from './base64.js';
import { formatExtensions, parseExtensionHeaders } from './extensions.js';
import {
  DEFAULT_MAX_HEADERS,
  DEFAULT_MAX_HEAD_BYTES,
  buildErrorResponse,
  checkHeader,
  countHeader,
  firstHeader,
  getHeaderValues,
  headerHasToken,
  headerPairs,
  isToken,
  isValidHeaderValue,
  isValidHost,
  latin1Bytes,
  splitList,
  type HeaderList,
  type HttpHead,
} from './http.js';
import {
  PERMESSAGE_DEFLATE,
  acceptDeflateOffers,
  checkDeflateResponse,
  createDeflateOffer,
  validateDeflateClientOptions,
  validateDeflateServerOptions,
  type PerMessageDeflateClientOptions,
  type PerMessageDeflateParams,
  type PerMessageDeflateServerOptions,
} from './permessage-deflate.js';
import { sha1Into } from './sha1.js';

/** RFC 6455 1.3: the GUID appended to the key before hashing. */
export const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Sec-WebSocket-Accept for a Sec-WebSocket-Key (RFC 6455 4.2.2 item 5.4). */
export function computeAccept(key: string): string {
  const out = new Uint8Array(ACCEPT_LENGTH);
  writeAccept(key, out, 0);
  return String.fromCharCode.apply(null, Array.from(out));
}

/** Base64 of a SHA-1 digest: 20 bytes -> 28 characters. */
const ACCEPT_LENGTH = 28;
const GUID_BYTES = latin1Bytes(WEBSOCKET_GUID);
// Reused scratch (the codec is synchronous): key + GUID, then the digest.
let hashInput = new Uint8Array(24 + GUID_BYTES.length);
const digest = new Uint8Array(20);

/** Writes the accept value for `key` as ASCII into `out` at `at`; nothing is allocated for a 24-char key. */
function writeAccept(key: string, out: Uint8Array, at: number): void {
  const size = key.length + GUID_BYTES.length;
  if (hashInput.length !== size) hashInput = new Uint8Array(size);
  for (let i = 0; i < key.length; i++) hashInput[i] = key.charCodeAt(i);
  hashInput.set(GUID_BYTES, key.length);
  sha1Into(hashInput, digest);
  base64EncodeInto(digest, out, at);
}

// ---------------------------------------------------------------------------------------------
// Server side (RFC 6455 4.2)

/**
 * Every way an upgrade request can be refused, with its status (RFC 6455 4.2.1, 4.4; RFC 9112) and
 * the reason's gist. The server handshake refuses through this one table (compare PROTOCOL_ERRORS
 * for frames); a refusal's `reason` may add details (the value that was wrong).
 */
export const HANDSHAKE_ERRORS = {
  'method-not-get': { status: 405, reason: 'the WebSocket handshake must be a GET request' },
  'http-version': { status: 400, reason: 'the WebSocket handshake needs HTTP/1.1 or later' },
  'too-many-headers': { status: 431, reason: 'too many header fields' },
  'head-too-large': { status: 431, reason: 'the request head is too large' },
  'ambiguous-length': {
    status: 400,
    reason: 'the message length is ambiguous or unknown (RFC 9112 6.3)',
  },
  'request-content': {
    status: 400,
    reason: 'an upgrade request must not have content: the bytes after the head are WebSocket frames',
  },
  'missing-host': { status: 400, reason: 'missing Host header' },
  'duplicate-host': { status: 400, reason: 'more than one Host header' },
  'invalid-host': { status: 400, reason: 'invalid Host header: it must be host[:port] (RFC 9112 3.2)' },
  'missing-upgrade': { status: 400, reason: 'missing Upgrade: websocket header' },
  'upgrade-not-websocket': { status: 400, reason: 'Upgrade header does not name websocket' },
  'connection-not-upgrade': { status: 400, reason: 'Connection header does not include Upgrade' },
  'unsupported-version': { status: 426, reason: 'this server speaks Sec-WebSocket-Version 13' },
  'missing-key': { status: 400, reason: 'missing Sec-WebSocket-Key header' },
  'duplicate-key': { status: 400, reason: 'more than one Sec-WebSocket-Key header' },
  'invalid-key': { status: 400, reason: 'Sec-WebSocket-Key must be the base64 encoding of 16 bytes' },
  'invalid-subprotocol': { status: 400, reason: 'invalid subprotocol name in Sec-WebSocket-Protocol' },
  'invalid-extensions': { status: 400, reason: 'Sec-WebSocket-Extensions does not parse' },
} as const satisfies Record<string, { status: number; reason: string }>;

export type HandshakeErrorKind = keyof typeof HANDSHAKE_ERRORS;

export interface ServerHandshakeOptions {
  /**
   * Picks one of the subprotocols the client offered (in its order), or null/undefined for none.
   * Only called when the client offered at least one. Returning a name the client did not offer
   * is a programming error and throws.
   */
  chooseProtocol?: (offered: string[], request: HttpHead) => string | null | undefined;
  /** permessage-deflate (RFC 7692): false or absent turns it off; true or options accept offers. */
  perMessageDeflate?: boolean | PerMessageDeflateServerOptions;
  /** Extra headers for the 101 response (not the ones the handshake sets itself). */
  headers?: HeaderList;
  /**
   * The same limits as HeadParser's, so one options object serves both steps; checked here too, for
   * heads another parser read (431 past either). Defaults: DEFAULT_MAX_HEAD_BYTES, DEFAULT_MAX_HEADERS.
   */
  maxHeadBytes?: number;
  maxHeaders?: number;
}

export type ServerHandshakeResult =
  | {
      ok: true;
      /** The complete 101 response to write. */
      response: Uint8Array;
      protocol: string | null;
      /** The Sec-WebSocket-Extensions value sent, or ''. */
      extensions: string;
      perMessageDeflate: PerMessageDeflateParams | null;
      request: HttpHead;
      key: string;
    }
  | {
      ok: false;
      /** Which rule the request broke (HANDSHAKE_ERRORS). */
      kind: HandshakeErrorKind;
      status: number;
      /** What was wrong, for logs and the response body. */
      reason: string;
      /** Headers the status requires (Allow for 405, Sec-WebSocket-Version for 426). */
      headers: [string, string][];
      /** The complete error response to write before closing the connection. */
      response: Uint8Array;
    };

// Headers the handshake writes itself; callers may not add them again.
const SERVER_OWNED = [
  'upgrade',
  'connection',
  'sec-websocket-accept',
  'sec-websocket-protocol',
  'sec-websocket-extensions',
];

/**
 * Validates an upgrade request (RFC 6455 4.2.1) and builds the 101 response (4.2.2), or a
 * rejection that says what was wrong. Peer input never throws; caller misuse (invalid options,
 * a chooser that returns something not offered) does.
 */
export function acceptServerHandshake(
  request: HttpHead,
  options: ServerHandshakeOptions = {},
): ServerHandshakeResult {
  if (request.method === undefined) {
    throw new Error('acceptServerHandshake needs a request head (parse it with HeadParser("request"))');
  }
  const deflateOptions = options.perMessageDeflate === true ? {} : options.perMessageDeflate || null;
  if (deflateOptions !== null) validateDeflateServerOptions(deflateOptions);
  const extra = options.headers === undefined ? NO_HEADERS : headerPairs(options.headers);
  for (const [name, value] of extra) {
    checkHeader(name, value);
    if (SERVER_OWNED.includes(name.toLowerCase())) {
      throw new Error(
        `header ${name} is set by the handshake; use the chooseProtocol / perMessageDeflate options instead`,
      );
    }
  }

  // 4.2.1 item 1: an HTTP/1.1 or higher GET request.
  if (request.method !== 'GET') {
    return reject('method-not-get', `not ${request.method}`, [['Allow', 'GET']]);
  }
  if (!isHttp11OrLater(request.version)) {
    return reject('http-version', `not HTTP/${request.version}`);
  }
  const maxHeaders = options.maxHeaders ?? DEFAULT_MAX_HEADERS;
  if (request.headers.length > maxHeaders) {
    return reject('too-many-headers', `more than ${maxHeaders}`);
  }
  const maxHeadBytes = options.maxHeadBytes ?? DEFAULT_MAX_HEAD_BYTES;
  if (headSize(request) > maxHeadBytes) {
    return reject('head-too-large', `more than ${maxHeadBytes} bytes`);
  }
  const framing = checkFraming(request);
  if (framing !== null) return reject(framing[0], framing[1]);
  // 4.2.1 item 2 (and RFC 9112 3.2: exactly one Host, with a valid value, else 400).
  // Counted and looked up in place: a well-formed request allocates nothing here.
  const hosts = countHeader(request, 'Host');
  if (hosts === 0) return reject('missing-host');
  if (hosts > 1) return reject('duplicate-host');
  const host = firstHeader(request, 'Host')!;
  if (!isValidHost(host)) {
    return reject('invalid-host', printable(host));
  }
  // 4.2.1 items 3 and 4.
  if (!headerHasToken(request, 'Upgrade', 'websocket')) {
    return reject(countHeader(request, 'Upgrade') === 0 ? 'missing-upgrade' : 'upgrade-not-websocket');
  }
  if (!headerHasToken(request, 'Connection', 'upgrade')) {
    return reject('connection-not-upgrade');
  }
  // 4.2.1 item 6, 4.4: any other version gets 426 and the version we speak.
  if (
    countHeader(request, 'Sec-WebSocket-Version') !== 1 ||
    firstHeader(request, 'Sec-WebSocket-Version') !== '13'
  ) {
    const versions = getHeaderValues(request, 'Sec-WebSocket-Version');
    const got =
      versions.length === 0
        ? 'missing Sec-WebSocket-Version'
        : `unsupported Sec-WebSocket-Version ${versions.join(', ')}`;
    return reject('unsupported-version', got, [['Sec-WebSocket-Version', '13']]);
  }
  // 4.2.1 item 5: exactly one key, base64 of 16 bytes.
  const keys = countHeader(request, 'Sec-WebSocket-Key');
  if (keys === 0) return reject('missing-key');
  if (keys > 1) return reject('duplicate-key');
  const key = firstHeader(request, 'Sec-WebSocket-Key')!;
  if (!isValidKey(key)) return reject('invalid-key');

  const negotiated = negotiateServer(request, options.chooseProtocol, deflateOptions);
  if (!negotiated.ok) return negotiated;
  const { protocol, extensions, perMessageDeflate } = negotiated;

  return {
    ok: true,
    response: switchingProtocols(key, protocol, extensions, extra),
    protocol,
    extensions,
    perMessageDeflate,
    request,
    key,
  };
}

/** The subprotocol and extensions a server settled on (RFC 6455 4.2.1 items 8 and 9). */
export interface ServerNegotiation {
  ok: true;
  protocol: string | null;
  extensions: string;
  perMessageDeflate: PerMessageDeflateParams | null;
}

/**
 * RFC 6455 4.2.1 items 8 and 9: picks the subprotocol and accepts extensions. Shared by the HTTP/1.1
 * handshake and RFC 8441's extended CONNECT (rfc8441.ts), whose headers are the same.
 */
export function negotiateServer(
  request: HttpHead,
  chooseProtocol: ServerHandshakeOptions['chooseProtocol'],
  deflateOptions: PerMessageDeflateServerOptions | null,
): ServerNegotiation | Extract<ServerHandshakeResult, { ok: false }> {
  // 4.2.1 item 8: subprotocols, a list of tokens.
  const offered: string[] = [];
  const protocolFields =
    countHeader(request, 'Sec-WebSocket-Protocol') === 0
      ? NO_VALUES
      : getHeaderValues(request, 'Sec-WebSocket-Protocol');
  for (const value of protocolFields) {
    for (const element of splitList(value)) {
      if (!isToken(element)) return reject('invalid-subprotocol', printable(element));
      offered.push(element);
    }
  }
  let protocol: string | null = null;
  if (offered.length > 0 && chooseProtocol !== undefined) {
    const chosen = chooseProtocol(offered.slice(), request);
    if (chosen !== null && chosen !== undefined) {
      if (!offered.includes(chosen)) {
        throw new Error(
          `chooseProtocol returned ${JSON.stringify(chosen)}, which the client did not offer (${offered.join(', ')}); return one of the offered names or null`,
        );
      }
      protocol = chosen;
    }
  }

  // 4.2.1 item 9 and RFC 7692: extensions.
  let perMessageDeflate: PerMessageDeflateParams | null = null;
  let extensions = '';
  const parsedExtensions =
    countHeader(request, 'Sec-WebSocket-Extensions') === 0
      ? null
      : parseExtensionHeaders(getHeaderValues(request, 'Sec-WebSocket-Extensions'));
  if (parsedExtensions !== null && !parsedExtensions.ok) {
    return reject('invalid-extensions', parsedExtensions.reason);
  }
  if (deflateOptions !== null && parsedExtensions !== null) {
    const accepted = acceptDeflateOffers(parsedExtensions.extensions, deflateOptions);
    if (accepted !== null) {
      perMessageDeflate = accepted.params;
      extensions = formatExtensions([accepted.response]);
    }
  }

  return { ok: true, protocol, extensions, perMessageDeflate };
}

const NO_HEADERS: [string, string][] = [];
const NO_VALUES: readonly string[] = [];

// 4.2.2 item 5, written straight into bytes: every value here is checked already (the key is base64,
// the protocol a token the client offered, the extensions our own formatting, `extra` by checkHeader).
const SWITCHING_HEAD = latin1Bytes(
  'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ',
);

function switchingProtocols(
  key: string,
  protocol: string | null,
  extensions: string,
  extra: readonly (readonly [string, string])[],
): Uint8Array {
  let size = SWITCHING_HEAD.length + ACCEPT_LENGTH + 4;
  if (protocol !== null) size += fieldSize('Sec-WebSocket-Protocol', protocol);
  if (extensions !== '') size += fieldSize('Sec-WebSocket-Extensions', extensions);
  for (const [name, value] of extra) size += fieldSize(name, value);
  const out = new Uint8Array(size);
  out.set(SWITCHING_HEAD, 0);
  writeAccept(key, out, SWITCHING_HEAD.length);
  let at = SWITCHING_HEAD.length + ACCEPT_LENGTH;
  if (protocol !== null) at = writeField(out, at, 'Sec-WebSocket-Protocol', protocol);
  if (extensions !== '') at = writeField(out, at, 'Sec-WebSocket-Extensions', extensions);
  for (const [name, value] of extra) at = writeField(out, at, name, value);
  out[at++] = 0x0d;
  out[at++] = 0x0a;
  out[at++] = 0x0d;
  out[at] = 0x0a;
  return out;
}

// CRLF, name, ": ", value.
function fieldSize(name: string, value: string): number {
  return 4 + name.length + value.length;
}

// Writes CRLF "name: value", one byte per char (header text is latin1); returns the end offset.
function writeField(out: Uint8Array, at: number, name: string, value: string): number {
  out[at++] = 0x0d;
  out[at++] = 0x0a;
  for (let i = 0; i < name.length; i++) out[at++] = name.charCodeAt(i);
  out[at++] = 0x3a;
  out[at++] = 0x20;
  for (let i = 0; i < value.length; i++) out[at++] = value.charCodeAt(i);
  return at;
}

/**
 * RFC 9112 6.1-6.3: the request's message framing. An upgrade request carries no content: every byte
 * after its head is a WebSocket frame. So a length that two parsers could read differently (request
 * smuggling) is refused, and so is any content, which would otherwise be read as frames.
 * Returns the reason for a 400, or null.
 */
function checkFraming(request: HttpHead): [HandshakeErrorKind, string] | null {
  const lengths = countHeader(request, 'Content-Length');
  if (countHeader(request, 'Transfer-Encoding') > 0) {
    if (lengths > 0) return ['ambiguous-length', 'both Transfer-Encoding and Content-Length'];
    const codings = splitList(getHeaderValues(request, 'Transfer-Encoding').join(','));
    const last = codings.length === 0 ? '' : codings[codings.length - 1]!;
    if (last.toLowerCase() !== 'chunked')
      return ['ambiguous-length', 'Transfer-Encoding does not end in chunked'];
    return ['request-content', 'Transfer-Encoding: chunked'];
  }
  if (lengths === 0) return null;
  if (lengths > 1) return ['ambiguous-length', 'more than one Content-Length header'];
  const length = firstHeader(request, 'Content-Length')!;
  let zero = true;
  for (let i = 0; i < length.length; i++) {
    const c = length.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return ['ambiguous-length', `invalid Content-Length ${printable(length)}`];
    if (c !== 0x30) zero = false;
  }
  if (length === '') return ['ambiguous-length', 'invalid Content-Length ""'];
  if (!zero) return ['request-content', `Content-Length is ${printable(length)}`];
  return null;
}

/**
 * The least the head can have taken on the wire, for maxHeadBytes: `METHOD SP target SP HTTP/v CRLF`,
 * `name:value CRLF` per field (whitespace around values was trimmed), the final CRLF. Never more than
 * what HeadParser counted, so a head it accepted passes here too.
 */
function headSize(request: HttpHead): number {
  let size = (request.method?.length ?? 0) + (request.target?.length ?? 0) + request.version.length + 11;
  for (const [name, value] of request.headers) size += name.length + value.length + 3;
  return size;
}

/** A refusal through HANDSHAKE_ERRORS; `detail` (the value that was wrong, say) follows the gist. */
function reject(
  kind: HandshakeErrorKind,
  detail?: string,
  headers: [string, string][] = [],
): ServerHandshakeResult {
  const { status, reason: gist } = HANDSHAKE_ERRORS[kind];
  const reason = detail === undefined ? gist : `${gist}: ${detail}`;
  return { ok: false, kind, status, reason, headers, response: buildErrorResponse(status, reason, headers) };
}

function isHttp11OrLater(version: string): boolean {
  const v = version.startsWith('HTTP/') ? version.slice(5) : version;
  const dot = v.indexOf('.');
  const major = Number(dot < 0 ? v : v.slice(0, dot));
  const minor = dot < 0 ? 0 : Number(v.slice(dot + 1));
  if (!Number.isInteger(major) || !Number.isInteger(minor) || v === '') return false;
  return major > 1 || (major === 1 && minor >= 1);
}

// Base64 of 16 bytes: 22 characters and "==". Non-zero pad bits are tolerated: the key is only
// hashed, never decoded, so a sloppy but well-formed client is not refused for them.
function isValidKey(key: string): boolean {
  // 16 bytes: 21 whole sextets, one holding the last 2 bits (its 4 pad bits tolerated), then "==".
  if (key.length !== 24 || key.charCodeAt(22) !== 0x3d || key.charCodeAt(23) !== 0x3d) return false;
  for (let i = 0; i < 22; i++) if (!isBase64Char(key.charCodeAt(i))) return false;
  return true;
}

// ---------------------------------------------------------------------------------------------
// Client side (RFC 6455 4.1)

export interface ClientRequestOptions {
  /** Host header value: host, and `:port` when not the default. */
  host: string;
  /** Request target: path and query, starting with "/". */
  path: string;
  /** Subprotocols to offer, in order of preference (tokens, no duplicates). */
  protocols?: readonly string[];
  origin?: string;
  /** Extra request headers (not the ones the handshake sets; use the options for those). */
  headers?: HeaderList;
  /** Offer permessage-deflate: true for the defaults, or options; false or absent: no offer. */
  perMessageDeflate?: boolean | PerMessageDeflateClientOptions;
  /** Fills the 16 key bytes; default crypto.getRandomValues when the environment has it. */
  randomFill?: (bytes: Uint8Array) => void;
}

/** What was sent: write `request`, keep the rest for checkServerResponse. */
export interface ClientRequest {
  /** The complete request head. */
  request: Uint8Array;
  /** The request headers in order (for transports that send the request through their own HTTP client). */
  headers: [string, string][];
  key: string;
  /** The Sec-WebSocket-Accept value the server must answer with. */
  accept: string;
  protocols: string[];
  /** The deflate options that were offered, or null when none was. */
  perMessageDeflate: PerMessageDeflateClientOptions | null;
}

export type ClientHandshakeResult =
  | {
      ok: true;
      protocol: string | null;
      extensions: string;
      perMessageDeflate: PerMessageDeflateParams | null;
    }
  | {
      ok: false;
      reason: string;
      /** The response status, for a caller that handles 401, 3xx, ... */ status: number;
    };

// Headers the handshake writes itself, with the option to use instead.
const CLIENT_OWNED: Record<string, string> = {
  host: 'host',
  upgrade: '(none: always websocket)',
  connection: '(none: always Upgrade)',
  'sec-websocket-key': '(none: generated)',
  'sec-websocket-version': '(none: always 13)',
  'sec-websocket-protocol': 'protocols',
  'sec-websocket-extensions': 'perMessageDeflate',
  origin: 'origin',
};

/** Builds the opening handshake request (RFC 6455 4.1). Throws on invalid options. */
export function createClientRequest(options: ClientRequestOptions): ClientRequest {
  const { host, path } = options;
  if (typeof host !== 'string' || host === '' || !isVisibleAscii(host)) {
    throw new Error(
      `host must be a non-empty host[:port] without spaces or control characters, got ${JSON.stringify(host)}`,
    );
  }
  if (typeof path !== 'string' || !path.startsWith('/') || !isVisibleAscii(path)) {
    throw new Error(
      `path must start with "/" and hold only visible ASCII (percent-encode the rest), got ${JSON.stringify(path)}`,
    );
  }
  const protocols = [...(options.protocols ?? [])];
  const seen = new Set<string>();
  for (const p of protocols) {
    if (typeof p !== 'string' || !isToken(p)) {
      throw new Error(
        `subprotocol ${JSON.stringify(p)} is not an HTTP token (RFC 6455 4.1: letters, digits and !#$%&'*+-.^_\`|~)`,
      );
    }
    if (seen.has(p)) throw new Error(`subprotocol ${JSON.stringify(p)} is listed twice; list each once`);
    seen.add(p);
  }
  if (options.origin !== undefined && (!isValidHeaderValue(options.origin) || options.origin === '')) {
    throw new Error(`origin ${JSON.stringify(options.origin)} is not a valid header value`);
  }
  const deflate =
    options.perMessageDeflate === true
      ? {}
      : options.perMessageDeflate
        ? { ...options.perMessageDeflate }
        : null;
  if (deflate !== null) validateDeflateClientOptions(deflate);
  const extra = headerPairs(options.headers ?? []);
  for (const [name, value] of extra) {
    checkHeader(name, value);
    const option = CLIENT_OWNED[name.toLowerCase()];
    if (option !== undefined)
      throw new Error(`header ${name} is set by the handshake; use the option ${option} instead`);
  }

  const keyBytes = new Uint8Array(16);
  fillRandom(keyBytes, options.randomFill);
  const key = base64Encode(keyBytes);

  const headers: [string, string][] = [
    ['Host', host],
    ['Upgrade', 'websocket'],
    ['Connection', 'Upgrade'],
    ['Sec-WebSocket-Key', key],
    ['Sec-WebSocket-Version', '13'],
  ];
  if (protocols.length > 0) headers.push(['Sec-WebSocket-Protocol', protocols.join(', ')]);
  if (options.origin !== undefined) headers.push(['Origin', options.origin]);
  if (deflate !== null)
    headers.push(['Sec-WebSocket-Extensions', formatExtensions([createDeflateOffer(deflate)])]);
  headers.push(...extra);

  let head = `GET ${path} HTTP/1.1\r\n`;
  for (const [name, value] of headers) head += `${name}: ${value}\r\n`;
  head += '\r\n';
  return {
    request: latin1Bytes(head),
    headers,
    key,
    accept: computeAccept(key),
    protocols,
    perMessageDeflate: deflate,
  };
}

/**
 * Checks the server's response to our request (RFC 6455 4.1, the client's validation steps 1-6,
 * and RFC 7692 7.1 for permessage-deflate). A failure means: fail the WebSocket connection.
 */
export function checkServerResponse(
  response: HttpHead,
  sent: Pick<ClientRequest, 'key' | 'protocols' | 'perMessageDeflate'>,
): ClientHandshakeResult {
  const status = response.status ?? 0;
  const fail = (reason: string): ClientHandshakeResult => ({ ok: false, reason, status });
  if (response.status === undefined) {
    throw new Error('checkServerResponse needs a response head (parse it with HeadParser("response"))');
  }
  // Step 1: anything but 101 is handled as HTTP (auth, redirects) by the caller, or fails.
  if (status !== 101) {
    return fail(
      `expected 101 Switching Protocols, got ${status}${response.statusText ? ' ' + response.statusText : ''}`,
    );
  }
  // Steps 2 and 3.
  if (!headerHasToken(response, 'Upgrade', 'websocket'))
    return fail('response Upgrade header does not name websocket');
  if (!headerHasToken(response, 'Connection', 'upgrade'))
    return fail('response Connection header does not include Upgrade');
  // Step 4.
  const accepts = getHeaderValues(response, 'Sec-WebSocket-Accept');
  if (accepts.length !== 1) {
    return fail(
      accepts.length === 0
        ? 'missing Sec-WebSocket-Accept header'
        : 'more than one Sec-WebSocket-Accept header',
    );
  }
  if (accepts[0] !== computeAccept(sent.key))
    return fail('Sec-WebSocket-Accept does not match the key we sent');

  return checkNegotiated(response, sent, fail);
}

/**
 * RFC 6455 4.1 steps 5 and 6: the subprotocol and the extensions the server accepted, each one we
 * offered. Shared by the HTTP/1.1 handshake and RFC 8441's extended CONNECT (rfc8441.ts).
 */
export function checkNegotiated(
  response: HttpHead,
  sent: Pick<ClientRequest, 'protocols' | 'perMessageDeflate'>,
  fail: (reason: string) => ClientHandshakeResult,
): ClientHandshakeResult {
  // Step 6: one subprotocol, and one we offered.
  const protocolValues = getHeaderValues(response, 'Sec-WebSocket-Protocol');
  let protocol: string | null = null;
  if (protocolValues.length > 1) return fail('more than one Sec-WebSocket-Protocol header');
  if (protocolValues.length === 1) {
    const value = protocolValues[0]!;
    if (!sent.protocols.includes(value)) {
      return fail(
        sent.protocols.length === 0
          ? `server chose subprotocol ${printable(value)} but none was offered`
          : `server chose subprotocol ${printable(value)}, which was not offered`,
      );
    }
    protocol = value;
  }

  // Step 5: only extensions we offered, each at most once.
  const parsed = parseExtensionHeaders(getHeaderValues(response, 'Sec-WebSocket-Extensions'));
  if (!parsed.ok) return fail(parsed.reason);
  let perMessageDeflate: PerMessageDeflateParams | null = null;
  for (const extension of parsed.extensions) {
    if (extension.name !== PERMESSAGE_DEFLATE || sent.perMessageDeflate === null) {
      return fail(`server accepted extension ${printable(extension.name)}, which was not offered`);
    }
    if (perMessageDeflate !== null) return fail('server accepted permessage-deflate more than once');
    const checked = checkDeflateResponse(extension, sent.perMessageDeflate);
    if (!checked.ok) return fail(checked.reason);
    perMessageDeflate = checked.params;
  }
  const extensions = parsed.extensions.length > 0 ? formatExtensions(parsed.extensions) : '';
  return { ok: true, protocol, extensions, perMessageDeflate };
}

function fillRandom(bytes: Uint8Array, randomFill: ((bytes: Uint8Array) => void) | undefined): void {
  if (randomFill !== undefined) {
    randomFill(bytes);
    return;
  }
  const crypto = (globalThis as { crypto?: { getRandomValues?: (b: Uint8Array) => unknown } }).crypto;
  if (crypto === undefined || typeof crypto.getRandomValues !== 'function') {
    throw new Error('this environment has no crypto.getRandomValues; pass randomFill to createClientRequest');
  }
  crypto.getRandomValues(bytes);
}

// ---------------------------------------------------------------------------------------------
// Small helpers

function isVisibleAscii(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return false;
  }
  return true;
}

// For reasons that quote peer data: bounded length, controls escaped.
function printable(text: string): string {
  const cut = text.length > 64 ? text.slice(0, 64) + '...' : text;
  return JSON.stringify(cut);
}
