// Incremental HTTP/1.1 message head parser (RFC 7230 section 3) and header helpers for the handshake.
// Linear in the input: every byte is scanned once for CRLF, and parsing runs once on the finished head.
// Also the HTTP responses: the serialiser behind the 101, and every refusal.

import { decodeUtf8, encodeUtf8 } from './text.js';

/** A parsed HTTP request or response head. */
export interface HttpHead {
  /** Request method (requests only). */
  method?: string;
  /** Request target as sent, e.g. `/chat?room=1` (requests only). */
  target?: string;
  /** Status code (responses only). */
  status?: number;
  /** Reason phrase (responses only; may be empty). */
  statusText?: string;
  /** Protocol version without the `HTTP/` prefix, e.g. `1.1` (the form Node's `httpVersion` uses). */
  version: string;
  /** Header fields in order, names as received. */
  headers: [name: string, value: string][];
}

export interface HeadLimits {
  /** Most bytes the head may take, CRLFCRLF included (default 16 KiB). More -> 431. */
  maxHeadBytes?: number;
  /** Most header fields (default 100). More -> 431. */
  maxHeaders?: number;
}

export const DEFAULT_MAX_HEAD_BYTES = 16 * 1024;
export const DEFAULT_MAX_HEADERS = 100;

export type HeadParseResult =
  | { done: false }
  | { done: true; ok: true; head: HttpHead; rest: Uint8Array }
  | { done: true; ok: false; status: 400 | 431; reason: string };

const CR = 0x0d;
const LF = 0x0a;
const INCOMPLETE: HeadParseResult = { done: false };

/**
 * Feeds chunks (any split) until the empty line that ends the head. The chunks are handed over:
 * the parser keeps views of them, not copies, and `rest` is a view of the last one.
 */
export class HeadParser {
  readonly kind: 'request' | 'response';
  private readonly maxHeadBytes: number;
  private readonly maxHeaders: number;
  private parts: Uint8Array[] = [];
  private total = 0; // bytes of the head kept so far
  private lineLength = 0; // bytes in the current line, CR excluded
  private sawCR = false;
  private lines = 0; // completed non-empty lines
  private high = 0; // every byte ORed together: below 0x80 means the head is ASCII
  private final: HeadParseResult | null = null;

  constructor(kind: 'request' | 'response', limits: HeadLimits = {}) {
    if (kind !== 'request' && kind !== 'response') {
      throw new Error(`HeadParser kind must be 'request' or 'response', not ${String(kind)}`);
    }
    this.kind = kind;
    this.maxHeadBytes = checkLimit('maxHeadBytes', limits.maxHeadBytes, DEFAULT_MAX_HEAD_BYTES);
    this.maxHeaders = checkLimit('maxHeaders', limits.maxHeaders, DEFAULT_MAX_HEADERS);
  }

  feed(chunk: Uint8Array): HeadParseResult {
    if (this.final !== null) {
      if (this.final.done && this.final.ok) {
        throw new Error('HeadParser.feed: the head is already complete; hand later bytes to the Connection');
      }
      return this.final;
    }
    // Never look at (or keep) a byte past the limit.
    const room = this.maxHeadBytes - this.total;
    const scanEnd = Math.min(chunk.length, room);
    for (let i = 0; i < scanEnd; i++) {
      const b = chunk[i]!;
      if (this.sawCR) {
        if (b !== LF) return this.fail(400, 'CR not followed by LF in the head');
        this.sawCR = false;
        if (this.lineLength === 0) {
          // RFC 7230 3.5: empty lines before the request-line are ignored (they still count as bytes).
          if (this.lines === 0 && this.kind === 'request') continue;
          if (this.lines === 0) return this.fail(400, 'empty status line');
          return this.finish(chunk, i + 1);
        }
        this.lines++;
        this.lineLength = 0;
        if (this.lines - 1 > this.maxHeaders) {
          return this.fail(431, `more than ${this.maxHeaders} header fields`);
        }
      } else if (b === CR) {
        this.sawCR = true;
      } else if (b === LF) {
        return this.fail(400, 'bare LF in the head (lines must end with CRLF)');
      } else {
        this.lineLength++;
        this.high |= b;
      }
    }
    if (scanEnd > 0) this.parts.push(scanEnd === chunk.length ? chunk : chunk.subarray(0, scanEnd));
    this.total += scanEnd;
    if (this.total >= this.maxHeadBytes) {
      return this.fail(431, `head larger than ${this.maxHeadBytes} bytes`);
    }
    return INCOMPLETE;
  }

  private fail(status: 400 | 431, reason: string): HeadParseResult {
    this.parts = [];
    this.final = { done: true, ok: false, status, reason };
    return this.final;
  }

  private finish(chunk: Uint8Array, end: number): HeadParseResult {
    this.parts.push(chunk.subarray(0, end));
    const text = this.high < 0x80 ? ascii(this.parts) : latin1(this.parts);
    this.parts = [];
    const parsed = parseHeadText(this.kind, text);
    if (!parsed.ok) return this.fail(400, parsed.reason);
    this.final = { done: true, ok: true, head: parsed.head, rest: chunk.subarray(end) };
    return this.final;
  }
}

/** Parses a complete head in one call (convenience over HeadParser). */
export function parseHead(
  kind: 'request' | 'response',
  bytes: Uint8Array,
  limits?: HeadLimits,
): HeadParseResult {
  return new HeadParser(kind, limits).feed(bytes);
}

function checkLimit(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw new Error(`${name} must be a positive integer, got ${String(value)}`);
  }
  return value;
}

// ASCII is UTF-8 too, and the runtime's decoder makes the string in one step (latin1 below spreads
// the bytes into an argument list first: 8 bytes of garbage for every byte of the head).
function ascii(parts: Uint8Array[]): string {
  if (parts.length === 1) return decodeUtf8(parts[0]!);
  let out = '';
  for (const part of parts) out += decodeUtf8(part);
  return out;
}

// Bytes to a string, one char per byte (header bytes are octets; obs-text survives as U+0080..U+00FF).
function latin1(parts: Uint8Array[]): string {
  let out = '';
  for (const part of parts) {
    for (let i = 0; i < part.length; i += 4096) {
      out += String.fromCharCode.apply(null, part.subarray(i, i + 4096) as unknown as number[]);
    }
  }
  return out;
}

type HeadTextResult = { ok: true; head: HttpHead } | { ok: false; reason: string };

// `text` holds CRLF-terminated lines, the last one empty; CR and LF only occur as CRLF (the scan checked).
function parseHeadText(kind: 'request' | 'response', text: string): HeadTextResult {
  let lineStart = 0;
  while (text.startsWith('\r\n', lineStart)) lineStart += 2; // the ignored leading empty lines
  let pos = text.indexOf('\r\n', lineStart);
  const first = text.slice(lineStart, pos);
  pos += 2;
  const head: HttpHead = { version: '', headers: [] };
  const startError = kind === 'request' ? parseRequestLine(first, head) : parseStatusLine(first, head);
  if (startError !== null) return { ok: false, reason: startError };
  for (;;) {
    const end = text.indexOf('\r\n', pos);
    if (end === pos) break; // the empty line
    // Indexes into `text`, so that only the name and the value become strings of their own.
    const first = text.charCodeAt(pos);
    if (first === 0x20 || first === 0x09) {
      // RFC 7230 3.2.4: obsolete line folding must be rejected (or replaced); we reject.
      return { ok: false, reason: 'obsolete line folding in a header field' };
    }
    const colon = text.indexOf(':', pos);
    if (colon < 0 || colon > end) return { ok: false, reason: 'header line without a colon' };
    for (let i = pos; i < colon; i++) {
      if (!isTokenChar(text.charCodeAt(i))) {
        return { ok: false, reason: `invalid header field name ${JSON.stringify(text.slice(pos, colon))}` };
      }
    }
    if (colon === pos) return { ok: false, reason: 'invalid header field name ""' };
    const name = text.slice(pos, colon);
    let start = colon + 1;
    let stop = end;
    while (start < stop && isOws(text.charCodeAt(start))) start++;
    while (stop > start && isOws(text.charCodeAt(stop - 1))) stop--;
    for (let i = start; i < stop; i++) {
      if (!isFieldChar(text.charCodeAt(i))) {
        return { ok: false, reason: `invalid character in the value of header ${name}` };
      }
    }
    head.headers.push([name, text.slice(start, stop)]);
    pos = end + 2;
  }
  return { ok: true, head };
}

function parseRequestLine(line: string, head: HttpHead): string | null {
  // RFC 7230 3.1.1: method SP request-target SP HTTP-version
  const sp1 = line.indexOf(' ');
  const sp2 = sp1 < 0 ? -1 : line.indexOf(' ', sp1 + 1);
  if (sp2 < 0) return 'malformed request line';
  const method = line.slice(0, sp1);
  const target = line.slice(sp1 + 1, sp2);
  const version = parseVersion(line.slice(sp2 + 1));
  if (!isToken(method)) return 'malformed request line: invalid method';
  if (target.length === 0) return 'malformed request line: empty request target';
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c < 0x21 || c > 0x7e) return 'malformed request line: invalid character in the request target';
  }
  if (version === null) return 'malformed request line: invalid HTTP version';
  head.method = method;
  head.target = target;
  head.version = version;
  return null;
}

function parseStatusLine(line: string, head: HttpHead): string | null {
  // RFC 7230 3.1.2: HTTP-version SP status-code SP reason-phrase (a missing " reason" is tolerated)
  const sp = line.indexOf(' ');
  if (sp < 0) return 'malformed status line';
  const version = parseVersion(line.slice(0, sp));
  if (version === null) return 'malformed status line: invalid HTTP version';
  let status = 0;
  for (let i = sp + 1; i < sp + 4; i++) {
    const c = line.charCodeAt(i);
    if (!(c >= 0x30 && c <= 0x39)) return 'malformed status line: invalid status code';
    status = status * 10 + (c - 0x30);
  }
  let statusText = '';
  if (line.length > sp + 4) {
    if (line.charCodeAt(sp + 4) !== 0x20) return 'malformed status line: invalid status code';
    statusText = line.slice(sp + 5);
    for (let i = 0; i < statusText.length; i++) {
      if (!isFieldChar(statusText.charCodeAt(i))) return 'malformed status line: invalid reason phrase';
    }
  }
  head.version = version;
  head.status = status;
  head.statusText = statusText;
  return null;
}

// "HTTP/" DIGIT "." DIGIT -> "1.1"
function parseVersion(text: string): string | null {
  if (text.length !== 8 || !text.startsWith('HTTP/') || text.charCodeAt(6) !== 0x2e) return null;
  const major = text.charCodeAt(5);
  const minor = text.charCodeAt(7);
  if (!(major >= 0x30 && major <= 0x39 && minor >= 0x30 && minor <= 0x39)) return null;
  return text.slice(5);
}

// tchar (RFC 7230 3.2.6): "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." / "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA
const TCHAR = new Uint8Array(128);
for (const c of "!#$%&'*+-.^_`|~") TCHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) TCHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) TCHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) TCHAR[c] = 1;

export function isTokenChar(code: number): boolean {
  return code < 128 && TCHAR[code] === 1;
}

/** True for a non-empty RFC 7230 token. */
export function isToken(text: string): boolean {
  if (text.length === 0) return false;
  for (let i = 0; i < text.length; i++) if (!isTokenChar(text.charCodeAt(i))) return false;
  return true;
}

function isOws(code: number): boolean {
  return code === 0x20 || code === 0x09;
}

// field-vchar / SP / HTAB, obs-text included (RFC 7230 3.2).
function isFieldChar(code: number): boolean {
  return code === 0x09 || (code >= 0x20 && code !== 0x7f && code <= 0xff);
}

// unreserved and sub-delims (RFC 3986 2.2, 2.3): the characters of a reg-name besides pct-encoded.
const HOST_CHAR = new Uint8Array(128);
for (const c of "-._~!$&'()*+,;=") HOST_CHAR[c.charCodeAt(0)] = 1;
for (let c = 0x30; c <= 0x39; c++) HOST_CHAR[c] = 1;
for (let c = 0x41; c <= 0x5a; c++) HOST_CHAR[c] = 1;
for (let c = 0x61; c <= 0x7a; c++) HOST_CHAR[c] = 1;

function isHexDigit(c: number): boolean {
  return (c >= 0x30 && c <= 0x39) || ((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66);
}

/**
 * True when `value` is a valid Host field value naming an authority (RFC 9110 7.2, RFC 9112 3.2):
 * uri-host [ ":" port ], where uri-host is an IP-literal in brackets or a reg-name (IPv4 is one),
 * and port is digits. Empty is refused: a WebSocket URI always has an authority (RFC 6455 4.1).
 */
export function isValidHost(value: string): boolean {
  const n = value.length;
  let i = 0;
  if (n > 0 && value.charCodeAt(0) === 0x5b) {
    // IP-literal: "[" IPv6address / IPvFuture "]", both made of these characters and ":".
    const close = value.indexOf(']');
    if (close < 2) return false;
    for (i = 1; i < close; i++) {
      const c = value.charCodeAt(i);
      if (!(c === 0x3a || (c < 128 && HOST_CHAR[c] === 1))) return false;
    }
    i = close + 1;
  } else {
    // reg-name: *( unreserved / pct-encoded / sub-delims ), non-empty here.
    while (i < n) {
      const c = value.charCodeAt(i);
      if (c === 0x25) {
        if (i + 2 >= n || !isHexDigit(value.charCodeAt(i + 1)) || !isHexDigit(value.charCodeAt(i + 2))) {
          return false;
        }
        i += 3;
      } else if (c < 128 && HOST_CHAR[c] === 1) {
        i++;
      } else {
        break;
      }
    }
    if (i === 0) return false;
  }
  if (i === n) return true;
  // ":" port, port = *DIGIT.
  if (value.charCodeAt(i) !== 0x3a) return false;
  for (i++; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return false;
  }
  return true;
}

/** True when `value` may be sent as a header field value (no CR, LF, NUL or other controls). */
export function isValidHeaderValue(value: string): boolean {
  for (let i = 0; i < value.length; i++) if (!isFieldChar(value.charCodeAt(i))) return false;
  return true;
}

/** Every value of the header `name` (case-insensitive), in order. */
export function getHeaderValues(head: HttpHead, name: string): string[] {
  const out: string[] = [];
  const headers = head.headers;
  for (let i = 0; i < headers.length; i++) {
    const field = headers[i]!;
    if (equalsIgnoringAsciiCase(field[0], name)) out.push(field[1]);
  }
  return out;
}

/** How many fields named `name` (case-insensitive) the head has: getHeaderValues' length, without the array. */
export function countHeader(head: HttpHead, name: string): number {
  let n = 0;
  const headers = head.headers;
  for (let i = 0; i < headers.length; i++) if (equalsIgnoringAsciiCase(headers[i]![0], name)) n++;
  return n;
}

/** The value of the first field named `name` (case-insensitive), or undefined. */
export function firstHeader(head: HttpHead, name: string): string | undefined {
  const headers = head.headers;
  for (let i = 0; i < headers.length; i++) {
    const field = headers[i]!;
    if (equalsIgnoringAsciiCase(field[0], name)) return field[1];
  }
  return undefined;
}

/** ASCII case-insensitive equality (header names and list tokens are ASCII; RFC 7230 3.2). */
export function equalsIgnoringAsciiCase(a: string, b: string): boolean {
  return a.length === b.length && regionEqualsIgnoringAsciiCase(a, 0, b);
}

/** The header `name` (case-insensitive); repeats joined with ", " (RFC 7230 3.2.2); undefined when absent. */
export function getHeader(head: HttpHead, name: string): string | undefined {
  const values = getHeaderValues(head, name);
  return values.length === 0 ? undefined : values.join(', ');
}

/**
 * Splits a comma-separated list (RFC 7230 7) into its trimmed, non-empty elements. Commas inside
 * quoted strings do not split. One pass, no backtracking.
 */
export function splitList(value: string): string[] {
  const out: string[] = [];
  let start = 0;
  let quoted = false;
  const n = value.length;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (quoted) {
      if (c === 0x5c)
        i++; // quoted-pair: skip the escaped char
      else if (c === 0x22) quoted = false;
    } else if (c === 0x22) {
      quoted = true;
    } else if (c === 0x2c) {
      pushTrimmed(out, value, start, i);
      start = i + 1;
    }
  }
  pushTrimmed(out, value, start, n); // an unterminated quote runs to the end
  return out;
}

function pushTrimmed(out: string[], value: string, a: number, b: number): void {
  while (a < b && isOws(value.charCodeAt(a))) a++;
  while (b > a && isOws(value.charCodeAt(b - 1))) b--;
  if (b > a) out.push(value.slice(a, b));
}

/** True when any list element of header `name` equals `token`, ASCII case-insensitively. */
export function headerHasToken(head: HttpHead, name: string, token: string): boolean {
  const headers = head.headers;
  for (let i = 0; i < headers.length; i++) {
    const field = headers[i]!;
    if (equalsIgnoringAsciiCase(field[0], name) && listHasToken(field[1], token)) return true;
  }
  return false;
}

function regionEqualsIgnoringAsciiCase(text: string, at: number, word: string): boolean {
  for (let i = 0; i < word.length; i++) {
    let x = text.charCodeAt(at + i);
    let y = word.charCodeAt(i);
    if (x >= 0x41 && x <= 0x5a) x |= 0x20;
    if (y >= 0x41 && y <= 0x5a) y |= 0x20;
    if (x !== y) return false;
  }
  return true;
}

// splitList's walk, comparing each element in place instead of collecting them.
function listHasToken(value: string, token: string): boolean {
  let start = 0;
  let quoted = false;
  const n = value.length;
  for (let i = 0; i <= n; i++) {
    const c = i < n ? value.charCodeAt(i) : 0x2c;
    if (quoted && i < n) {
      if (c === 0x5c) i++;
      else if (c === 0x22) quoted = false;
    } else if (c === 0x22) {
      quoted = true;
    } else if (c === 0x2c) {
      let a = start;
      let b = i;
      while (a < b && isOws(value.charCodeAt(a))) a++;
      while (b > a && isOws(value.charCodeAt(b - 1))) b--;
      if (b - a === token.length && regionEqualsIgnoringAsciiCase(value, a, token)) return true;
      start = i + 1;
    }
  }
  return false;
}

/**
 * Builds an HttpHead from Node-style fields (`rawHeaders` alternates names and values), so a
 * transport that already parsed the head can run the same checks.
 */
export function headFromRaw(fields: {
  method?: string;
  target?: string;
  status?: number;
  statusText?: string;
  version: string;
  rawHeaders: readonly string[];
}): HttpHead {
  const headers: [string, string][] = [];
  for (let i = 0; i + 1 < fields.rawHeaders.length; i += 2) {
    headers.push([fields.rawHeaders[i]!, fields.rawHeaders[i + 1]!]);
  }
  const head: HttpHead = {
    version: fields.version.startsWith('HTTP/') ? fields.version.slice(5) : fields.version,
    headers,
  };
  if (fields.method !== undefined) head.method = fields.method;
  if (fields.target !== undefined) head.target = fields.target;
  if (fields.status !== undefined) head.status = fields.status;
  if (fields.statusText !== undefined) head.statusText = fields.statusText;
  return head;
}

// ---------------------------------------------------------------------------------------------
// HTTP responses: the 101 (handshake.ts) and every refusal

/** Header fields as ordered pairs or as a record. */
export type HeaderList = readonly (readonly [string, string])[] | Readonly<Record<string, string>>;

/** Reason phrases for the status codes registered with IANA (RFC 9110 15, and the RFCs that add codes). */
export const STATUS_TEXT: Readonly<Record<number, string>> = {
  100: 'Continue',
  101: 'Switching Protocols',
  102: 'Processing',
  103: 'Early Hints',
  200: 'OK',
  201: 'Created',
  202: 'Accepted',
  203: 'Non-Authoritative Information',
  204: 'No Content',
  205: 'Reset Content',
  206: 'Partial Content',
  207: 'Multi-Status',
  208: 'Already Reported',
  226: 'IM Used',
  300: 'Multiple Choices',
  301: 'Moved Permanently',
  302: 'Found',
  303: 'See Other',
  304: 'Not Modified',
  305: 'Use Proxy',
  307: 'Temporary Redirect',
  308: 'Permanent Redirect',
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  409: 'Conflict',
  410: 'Gone',
  411: 'Length Required',
  412: 'Precondition Failed',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  416: 'Range Not Satisfiable',
  417: 'Expectation Failed',
  418: "I'm a Teapot",
  421: 'Misdirected Request',
  422: 'Unprocessable Content',
  423: 'Locked',
  424: 'Failed Dependency',
  425: 'Too Early',
  426: 'Upgrade Required',
  428: 'Precondition Required',
  429: 'Too Many Requests',
  431: 'Request Header Fields Too Large',
  451: 'Unavailable For Legal Reasons',
  500: 'Internal Server Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
  505: 'HTTP Version Not Supported',
  506: 'Variant Also Negotiates',
  507: 'Insufficient Storage',
  508: 'Loop Detected',
  510: 'Not Extended',
  511: 'Network Authentication Required',
};

/**
 * Serialises a complete HTTP/1.1 response: status line, headers, empty line, body. Throws when a
 * header name is not a token or a value holds CR, LF or another control character.
 */
export function buildHttpResponse(status: number, headers: HeaderList = [], body?: Uint8Array): Uint8Array {
  if (!Number.isInteger(status) || status < 100 || status > 999) {
    throw new Error(`HTTP status must be a three-digit integer, got ${String(status)}`);
  }
  let head = `HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? 'Unknown'}\r\n`;
  for (const [name, value] of headerPairs(headers)) {
    checkHeader(name, value);
    head += `${name}: ${value}\r\n`;
  }
  head += '\r\n';
  const headBytes = latin1Bytes(head);
  if (body === undefined || body.length === 0) return headBytes;
  const out = new Uint8Array(headBytes.length + body.length);
  out.set(headBytes, 0);
  out.set(body, headBytes.length);
  return out;
}

/**
 * An error response with a short text body saying what was wrong: Content-Type text/plain,
 * Content-Length, Connection: close, then `headers` (e.g. Allow, WWW-Authenticate, Retry-After).
 * The transport uses it for every refusal (401, 403, 404, 431, ...).
 */
export function buildErrorResponse(status: number, message: string, headers: HeaderList = []): Uint8Array {
  const body = encodeUtf8(message.endsWith('\n') ? message : message + '\n');
  return buildHttpResponse(
    status,
    [
      ['Content-Type', 'text/plain; charset=utf-8'],
      ['Content-Length', String(body.length)],
      ['Connection', 'close'],
      ...headerPairs(headers),
    ],
    body,
  );
}

/** Header fields as pairs (copied), whichever form they were given in. */
export function headerPairs(headers: HeaderList): [string, string][] {
  if (Array.isArray(headers))
    return (headers as readonly (readonly [string, string])[]).map(([n, v]) => [n, v]);
  return Object.entries(headers as Readonly<Record<string, string>>);
}

/** Throws, saying what to fix, unless `name` is a token and `value` a valid field value (no CR/LF: no header injection). */
export function checkHeader(name: string, value: string): void {
  if (typeof name !== 'string' || !isToken(name)) {
    throw new Error(`header name ${JSON.stringify(name)} is not an HTTP token`);
  }
  if (typeof value !== 'string' || !isValidHeaderValue(value)) {
    throw new Error(
      `value of header ${name} holds CR, LF or another control character (or is not a string); remove them`,
    );
  }
}

// One byte per char (only called on validated header text: every char is <= 0xff).
export function latin1Bytes(text: string): Uint8Array {
  const out = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) out[i] = text.charCodeAt(i);
  return out;
}
