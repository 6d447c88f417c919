import fc from 'fast-check';
import { base64Decode } from './base64.js';
import {
  HANDSHAKE_ERRORS,
  acceptServerHandshake,
  checkServerResponse,
  computeAccept,
  createClientRequest,
  type HandshakeErrorKind,
  type ServerHandshakeOptions,
} from './handshake.js';
import {
  HeadParser,
  STATUS_TEXT,
  buildErrorResponse,
  buildHttpResponse,
  getHeader,
  getHeaderValues,
  headFromRaw,
  parseHead,
  type HttpHead,
} from './http.js';
import type { PerMessageDeflateClientOptions, PerMessageDeflateServerOptions } from './permessage-deflate.js';
import { propertySettings } from '@rfc6455/test-support';

const FC = propertySettings(process.env);
const bytes = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const text = (b: Uint8Array): string => String.fromCharCode(...b);

const RFC_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const RFC_REQUEST =
  'GET /chat HTTP/1.1\r\n' +
  'Host: server.example.com\r\n' +
  'Upgrade: websocket\r\n' +
  'Connection: Upgrade\r\n' +
  `Sec-WebSocket-Key: ${RFC_KEY}\r\n` +
  'Origin: http://example.com\r\n' +
  'Sec-WebSocket-Protocol: chat, superchat\r\n' +
  'Sec-WebSocket-Version: 13\r\n' +
  '\r\n';

function head(kind: 'request' | 'response', raw: string | Uint8Array): HttpHead {
  const result = parseHead(kind, typeof raw === 'string' ? bytes(raw) : raw);
  if (!result.done || !result.ok) throw new Error(`unparsable ${kind}: ${JSON.stringify(result)}`);
  return result.head;
}

/** A valid request head with some headers replaced (value null removes the header). */
function request(
  changes: Record<string, string | null | string[]> = {},
  method = 'GET',
  version = '1.1',
): HttpHead {
  const base: Record<string, string | string[]> = {
    Host: 'example.com',
    Upgrade: 'websocket',
    Connection: 'Upgrade',
    'Sec-WebSocket-Key': RFC_KEY,
    'Sec-WebSocket-Version': '13',
  };
  const headers: [string, string][] = [];
  for (const [name, value] of Object.entries({ ...base, ...changes })) {
    if (value === null) continue;
    for (const v of Array.isArray(value) ? value : [value]) headers.push([name, v]);
  }
  return { method, target: '/', version, headers };
}

/** Parses a response the server built and checks its framing (Content-Length matches the body). */
function response(raw: Uint8Array): { head: HttpHead; body: string } {
  const parser = new HeadParser('response');
  const result = parser.feed(raw);
  if (!result.done || !result.ok) throw new Error('unparsable response');
  const body = new TextDecoder().decode(result.rest);
  const length = getHeader(result.head, 'Content-Length');
  if (length !== undefined) expect(Number(length)).toBe(result.rest.length);
  return { head: result.head, body };
}

describe('RFC 6455 1.3 and 4.2.2: the example handshake', () => {
  test('computeAccept of the example key', () => {
    expect(computeAccept(RFC_KEY)).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  test('the server answers the example request with the example response, byte for byte', () => {
    const result = acceptServerHandshake(head('request', RFC_REQUEST), {
      chooseProtocol: (offered) => (offered.includes('chat') ? 'chat' : null),
    });
    if (!result.ok) throw new Error(result.reason);
    expect(text(result.response)).toBe(
      'HTTP/1.1 101 Switching Protocols\r\n' +
        'Upgrade: websocket\r\n' +
        'Connection: Upgrade\r\n' +
        'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n' +
        'Sec-WebSocket-Protocol: chat\r\n' +
        '\r\n',
    );
    expect(result.protocol).toBe('chat');
    expect(result.key).toBe(RFC_KEY);
    expect(result.extensions).toBe('');
    expect(result.perMessageDeflate).toBeNull();
    expect(result.request.target).toBe('/chat');
  });

  test('a 101 with a protocol, an extension and extra headers is exactly its lines, nothing after', () => {
    const result = acceptServerHandshake(
      request({
        'Sec-WebSocket-Protocol': 'v1, v2',
        'Sec-WebSocket-Extensions': 'permessage-deflate; client_max_window_bits',
      }),
      {
        chooseProtocol: () => 'v2',
        perMessageDeflate: true,
        headers: [
          ['X-Served-By', 'node-7'],
          ['Set-Cookie', 'a=b; Path=/'],
        ],
      },
    );
    if (!result.ok) throw new Error(result.reason);
    expect(text(result.response)).toBe(
      'HTTP/1.1 101 Switching Protocols\r\n' +
        'Upgrade: websocket\r\n' +
        'Connection: Upgrade\r\n' +
        'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n' +
        'Sec-WebSocket-Protocol: v2\r\n' +
        `Sec-WebSocket-Extensions: ${result.extensions}\r\n` +
        'X-Served-By: node-7\r\n' +
        'Set-Cookie: a=b; Path=/\r\n' +
        '\r\n',
    );
    expect(result.extensions).toMatch(/^permessage-deflate/);
  });

  test('computeAccept agrees with a second, independent SHA-1 and base64 for many keys', async () => {
    const { createHash } = await import('node:crypto');
    for (let i = 0; i < 200; i++) {
      const bytes = new Uint8Array(16).map((_, j) => (i * 31 + j * 17) & 0xff);
      const key = Buffer.from(bytes).toString('base64');
      const expected = createHash('sha1')
        .update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11')
        .digest('base64');
      expect(computeAccept(key)).toBe(expected);
    }
  });

  test('the client accepts the example response', () => {
    const result = checkServerResponse(head('response', acceptAll(RFC_REQUEST)), {
      key: RFC_KEY,
      protocols: ['chat', 'superchat'],
      perMessageDeflate: null,
    });
    expect(result).toEqual({ ok: true, protocol: 'chat', extensions: '', perMessageDeflate: null });
  });
});

function acceptAll(
  raw: string,
  options: ServerHandshakeOptions = { chooseProtocol: (o) => o[0] },
): Uint8Array {
  const result = acceptServerHandshake(head('request', raw), options);
  if (!result.ok) throw new Error(result.reason);
  return result.response;
}

describe('RFC 6455 4.2.1: the server validates the request', () => {
  test('header names and tokens are case-insensitive; Connection may list other tokens', () => {
    const result = acceptServerHandshake({
      method: 'GET',
      target: '/',
      version: '1.1',
      headers: [
        ['host', 'h'],
        ['UPGRADE', 'WebSocket'],
        ['connection', 'keep-alive, upgrade'],
        ['sec-websocket-key', RFC_KEY],
        ['SEC-WEBSOCKET-VERSION', '13'],
      ],
    });
    expect(result.ok).toBe(true);
  });

  test('Connection and Upgrade may arrive as several header lines', () => {
    expect(
      acceptServerHandshake(request({ Connection: ['keep-alive', 'Upgrade'], Upgrade: ['h2c', 'websocket'] }))
        .ok,
    ).toBe(true);
  });

  test('HTTP/1.1 or later', () => {
    expect(acceptServerHandshake(request({}, 'GET', '1.1')).ok).toBe(true);
    expect(acceptServerHandshake(request({}, 'GET', '2.0')).ok).toBe(true);
    expect(acceptServerHandshake(request({}, 'GET', 'HTTP/1.1')).ok).toBe(true);
  });

  test('a key with non-zero pad bits is still base64 of 16 bytes', () => {
    expect(acceptServerHandshake(request({ 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZR==' })).ok).toBe(true);
  });

  test.each([
    ['POST', request({}, 'POST'), 405, 'method-not-get', [['Allow', 'GET']]],
    ['HTTP/1.0', request({}, 'GET', '1.0'), 400, 'http-version', []],
    ['no Host', request({ Host: null }), 400, 'missing-host', []],
    ['two Hosts', request({ Host: ['a', 'b'] }), 400, 'duplicate-host', []],
    ['no Upgrade', request({ Upgrade: null }), 400, 'missing-upgrade', []],
    ['Upgrade: h2c', request({ Upgrade: 'h2c' }), 400, 'upgrade-not-websocket', []],
    ['Upgrade: websocket2', request({ Upgrade: 'websocket2' }), 400, 'upgrade-not-websocket', []],
    ['no Connection', request({ Connection: null }), 400, 'connection-not-upgrade', []],
    ['Connection: keep-alive', request({ Connection: 'keep-alive' }), 400, 'connection-not-upgrade', []],
    ['Connection: upgraded', request({ Connection: 'upgraded' }), 400, 'connection-not-upgrade', []],
    [
      'no version',
      request({ 'Sec-WebSocket-Version': null }),
      426,
      'unsupported-version',
      [['Sec-WebSocket-Version', '13']],
    ],
    [
      'version 8',
      request({ 'Sec-WebSocket-Version': '8' }),
      426,
      'unsupported-version',
      [['Sec-WebSocket-Version', '13']],
    ],
    [
      'two versions',
      request({ 'Sec-WebSocket-Version': ['13', '13'] }),
      426,
      'unsupported-version',
      [['Sec-WebSocket-Version', '13']],
    ],
    ['no key', request({ 'Sec-WebSocket-Key': null }), 400, 'missing-key', []],
    ['two keys', request({ 'Sec-WebSocket-Key': [RFC_KEY, RFC_KEY] }), 400, 'duplicate-key', []],
    ['15-byte key', request({ 'Sec-WebSocket-Key': 'AAAAAAAAAAAAAAAAAAAA' }), 400, 'invalid-key', []],
    ['17-byte key', request({ 'Sec-WebSocket-Key': 'AAAAAAAAAAAAAAAAAAAAAAA=' }), 400, 'invalid-key', []],
    ['non-base64 key', request({ 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ=!' }), 400, 'invalid-key', []],
    [
      'two keys in one line',
      request({ 'Sec-WebSocket-Key': `${RFC_KEY}, ${RFC_KEY}` }),
      400,
      'invalid-key',
      [],
    ],
    ['bad subprotocol', request({ 'Sec-WebSocket-Protocol': 'chat, a b' }), 400, 'invalid-subprotocol', []],
    [
      'bad extensions',
      request({ 'Sec-WebSocket-Extensions': 'permessage-deflate; ;' }),
      400,
      'invalid-extensions',
      [],
    ],
  ] as [string, HttpHead, number, HandshakeErrorKind, [string, string][]][])(
    '%s -> %d',
    (_name, req, status, kind, required) => {
      const result = acceptServerHandshake(req, { perMessageDeflate: {} });
      if (result.ok) throw new Error('expected a rejection');
      expect(result.kind).toBe(kind);
      expect(result.status).toBe(status);
      expect(HANDSHAKE_ERRORS[kind].status).toBe(status);
      expect(result.reason.startsWith(HANDSHAKE_ERRORS[kind].reason)).toBe(true);
      expect(result.headers).toEqual(required);
      const { head: res, body } = response(result.response);
      expect(res.status).toBe(status);
      expect(res.statusText).toBe(STATUS_TEXT[status]);
      expect(getHeader(res, 'Connection')).toBe('close');
      expect(getHeader(res, 'Content-Type')).toBe('text/plain; charset=utf-8');
      for (const [name, value] of required) expect(getHeader(res, name)).toBe(value);
      expect(body).toBe(result.reason + '\n');
    },
  );

  // RFC 9112 6.3 (message framing) and 3.2 (Host): one row per refusal, each a 400 with its reason.
  test.each([
    ['Content-Length: abc', { 'Content-Length': 'abc' }, 'ambiguous-length'],
    ['Content-Length: -1', { 'Content-Length': '-1' }, 'ambiguous-length'],
    ['Content-Length: 5, 5', { 'Content-Length': '5, 5' }, 'ambiguous-length'],
    ['Content-Length: ""', { 'Content-Length': '' }, 'ambiguous-length'],
    ['two equal lengths', { 'Content-Length': ['0', '0'] }, 'ambiguous-length'],
    ['two different lengths', { 'Content-Length': ['5', '6'] }, 'ambiguous-length'],
    [
      'Content-Length and Transfer-Encoding',
      { 'Content-Length': '0', 'Transfer-Encoding': 'chunked' },
      'ambiguous-length',
    ],
    ['Transfer-Encoding: gzip', { 'Transfer-Encoding': 'gzip' }, 'ambiguous-length'],
    ['Transfer-Encoding: chunked, gzip', { 'Transfer-Encoding': 'chunked, gzip' }, 'ambiguous-length'],
    ['Transfer-Encoding: ""', { 'Transfer-Encoding': '' }, 'ambiguous-length'],
    ['Transfer-Encoding: chunked', { 'Transfer-Encoding': 'chunked' }, 'request-content'],
    ['Transfer-Encoding: gzip, CHUNKED', { 'Transfer-Encoding': ['gzip', 'CHUNKED'] }, 'request-content'],
    ['Content-Length: 5', { 'Content-Length': '5' }, 'request-content'],
    ['Content-Length: 007', { 'Content-Length': '007' }, 'request-content'],
    ['Host: ""', { Host: '' }, 'invalid-host'],
    ['Host: a b', { Host: 'a b' }, 'invalid-host'],
    ['Host: a/b', { Host: 'a/b' }, 'invalid-host'],
    ['Host: user@a', { Host: 'user@a' }, 'invalid-host'],
    ['Host: a:80x', { Host: 'a:80x' }, 'invalid-host'],
    ['Host: a:1:2', { Host: 'a:1:2' }, 'invalid-host'],
    ['Host: [::1', { Host: '[::1' }, 'invalid-host'],
    ['Host: []', { Host: '[]' }, 'invalid-host'],
    ['Host: [::1]x', { Host: '[::1]x' }, 'invalid-host'],
    ['Host: a%zz', { Host: 'a%zz' }, 'invalid-host'],
    ['Host: :80', { Host: ':80' }, 'invalid-host'],
  ] as [string, Record<string, string | string[]>, HandshakeErrorKind][])(
    '%s -> 400',
    (_name, changes, kind) => {
      const result = acceptServerHandshake(request(changes));
      if (result.ok) throw new Error('expected a rejection');
      expect(result.kind).toBe(kind);
      expect(result.status).toBe(400);
      const { head: res, body } = response(result.response);
      expect(res.status).toBe(400);
      expect(getHeader(res, 'Connection')).toBe('close');
      expect(body).toBe(result.reason + '\n');
    },
  );

  test.each([
    ['Content-Length: 0', { 'Content-Length': '0' }],
    ['Content-Length: 000', { 'Content-Length': '000' }],
    ['Host with a port', { Host: 'example.com:8080' }],
    ['Host IPv4', { Host: '127.0.0.1:80' }],
    ['Host IPv6', { Host: '[::1]:8080' }],
    ['Host IPv6 without port', { Host: '[2001:db8::1]' }],
    ['Host with an empty port', { Host: 'example.com:' }],
    ['Host pct-encoded and sub-delims', { Host: "a%41b!$&'()*+,;=-._~" }],
  ] as [string, Record<string, string>][])('%s is accepted', (_name, changes) => {
    expect(acceptServerHandshake(request(changes)).ok).toBe(true);
  });

  test('malformed extensions are refused even when deflate is off', () => {
    const result = acceptServerHandshake(request({ 'Sec-WebSocket-Extensions': '"' }));
    expect(!result.ok && result.status).toBe(400);
  });

  test('a head from Node-style rawHeaders works the same', () => {
    const built = headFromRaw({
      method: 'GET',
      target: '/chat',
      version: '1.1',
      rawHeaders: [
        'Host',
        'h',
        'Upgrade',
        'websocket',
        'Connection',
        'Upgrade',
        'Sec-WebSocket-Key',
        RFC_KEY,
        'Sec-WebSocket-Version',
        '13',
      ],
    });
    const result = acceptServerHandshake(built);
    expect(result.ok && getHeader(head('response', result.response), 'Sec-WebSocket-Accept')).toBe(
      's3pPLMBiTxaQ9kYGzzhZRbK+xOo=',
    );
  });

  test('a response head is a misuse', () => {
    expect(() => acceptServerHandshake({ status: 101, version: '1.1', headers: [] })).toThrow(/request head/);
  });
});

describe('RFC 6455 4.2.2: subprotocol and extensions', () => {
  const offering = request({ 'Sec-WebSocket-Protocol': ['a, b', 'c'] });

  test('the chooser sees every offered protocol in order and its pick is sent', () => {
    const seen: string[][] = [];
    const result = acceptServerHandshake(offering, { chooseProtocol: (o) => (seen.push(o), 'c') });
    expect(seen).toEqual([['a', 'b', 'c']]);
    expect(result.ok && result.protocol).toBe('c');
    expect(result.ok && getHeader(head('response', result.response), 'Sec-WebSocket-Protocol')).toBe('c');
  });

  test('null, undefined or no chooser: no protocol header', () => {
    for (const options of [{ chooseProtocol: () => null }, { chooseProtocol: () => undefined }, {}]) {
      const result = acceptServerHandshake(offering, options);
      if (!result.ok) throw new Error(result.reason);
      expect(result.protocol).toBeNull();
      expect(getHeaderValues(head('response', result.response), 'Sec-WebSocket-Protocol')).toEqual([]);
    }
  });

  test('the chooser is not called when nothing was offered', () => {
    const chooser = jest.fn(() => 'x');
    expect(acceptServerHandshake(request(), { chooseProtocol: chooser }).ok).toBe(true);
    expect(chooser).not.toHaveBeenCalled();
  });

  test('a chooser returning something not offered is a programming error', () => {
    expect(() => acceptServerHandshake(offering, { chooseProtocol: () => 'd' })).toThrow(/did not offer/);
    expect(() => acceptServerHandshake(offering, { chooseProtocol: () => 'A' })).toThrow(/did not offer/);
  });

  test('permessage-deflate is negotiated and announced', () => {
    const req = request({ 'Sec-WebSocket-Extensions': 'foo, permessage-deflate; client_max_window_bits' });
    const result = acceptServerHandshake(req, { perMessageDeflate: { clientMaxWindowBits: 10 } });
    if (!result.ok) throw new Error(result.reason);
    expect(result.extensions).toBe('permessage-deflate; client_max_window_bits=10');
    expect(result.perMessageDeflate).toEqual({
      serverNoContextTakeover: false,
      clientNoContextTakeover: false,
      serverMaxWindowBits: 15,
      clientMaxWindowBits: 10,
    });
    expect(getHeader(head('response', result.response), 'Sec-WebSocket-Extensions')).toBe(result.extensions);
  });

  test('deflate off (absent or false) ignores the offer; true uses the defaults', () => {
    const req = request({ 'Sec-WebSocket-Extensions': 'permessage-deflate' });
    for (const perMessageDeflate of [undefined, false]) {
      const result = acceptServerHandshake(req, perMessageDeflate === undefined ? {} : { perMessageDeflate });
      expect(result.ok && result.perMessageDeflate).toBeNull();
    }
    const on = acceptServerHandshake(req, { perMessageDeflate: true });
    expect(on.ok && on.extensions).toBe('permessage-deflate');
  });

  test('declined offers leave the connection uncompressed', () => {
    const req = request({ 'Sec-WebSocket-Extensions': 'permessage-deflate; server_max_window_bits=8' });
    const result = acceptServerHandshake(req, { perMessageDeflate: {} });
    expect(result.ok && result.perMessageDeflate).toBeNull();
    expect(result.ok && text(result.response)).not.toMatch(/Extensions/);
  });

  test('extra headers follow the handshake headers', () => {
    const result = acceptServerHandshake(request(), {
      headers: [
        ['Set-Cookie', 'a=1'],
        ['X-Id', '7'],
      ],
    });
    expect(result.ok && text(result.response)).toMatch(
      /Sec-WebSocket-Accept: .*\r\nSet-Cookie: a=1\r\nX-Id: 7\r\n\r\n$/,
    );
    const record = acceptServerHandshake(request(), { headers: { 'X-Id': '8' } });
    expect(record.ok && getHeader(head('response', record.response), 'x-id')).toBe('8');
  });

  test.each([
    [{ headers: [['Sec-WebSocket-Protocol', 'x']] }, /chooseProtocol/],
    [{ headers: { upgrade: 'websocket' } }, /set by the handshake/],
    [{ headers: [['X', 'a\r\nInjected: 1']] }, /CR, LF/],
    [{ headers: [['Bad Name', 'a']] }, /not an HTTP token/],
    [{ perMessageDeflate: { serverMaxWindowBits: 8 } }, /supportsWindowBits8/],
  ] as [ServerHandshakeOptions, RegExp][])('misuse throws: %j', (options, message) => {
    expect(() => acceptServerHandshake(request(), options)).toThrow(message);
  });
});

describe('HTTP responses for refusals', () => {
  test('buildErrorResponse: status line, framing, extra headers, UTF-8 body', () => {
    const raw = buildErrorResponse(401, 'sign in first — merci', [['WWW-Authenticate', 'Basic realm="ws"']]);
    const { head: res, body } = response(raw);
    expect(res.status).toBe(401);
    expect(res.statusText).toBe('Unauthorized');
    expect(res.headers).toEqual([
      ['Content-Type', 'text/plain; charset=utf-8'],
      ['Content-Length', String(new TextEncoder().encode(body).length)],
      ['Connection', 'close'],
      ['WWW-Authenticate', 'Basic realm="ws"'],
    ]);
    expect(body).toBe('sign in first — merci\n');
  });

  test.each([403, 404, 431, 503])('status %d has its reason phrase', (status) => {
    expect(response(buildErrorResponse(status, 'no')).head.statusText).toBe(STATUS_TEXT[status]);
  });

  test('buildHttpResponse with an unknown status and no body', () => {
    expect(text(buildHttpResponse(599, { 'X-A': '1' }))).toBe('HTTP/1.1 599 Unknown\r\nX-A: 1\r\n\r\n');
    expect(() => buildHttpResponse(42)).toThrow(/three-digit/);
    expect(() => buildHttpResponse(200, [['X', 'a\nb']])).toThrow(/CR, LF/);
  });
});

describe('RFC 6455 4.1: the client request', () => {
  const fixedKey = (b: Uint8Array): void => b.set(bytes('the sample nonce'));

  test('the example request (with a fixed key)', () => {
    const sent = createClientRequest({
      host: 'server.example.com',
      path: '/chat',
      protocols: ['chat', 'superchat'],
      origin: 'http://example.com',
      randomFill: fixedKey,
    });
    expect(sent.key).toBe(RFC_KEY);
    expect(sent.accept).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
    expect(text(sent.request)).toBe(
      'GET /chat HTTP/1.1\r\n' +
        'Host: server.example.com\r\n' +
        'Upgrade: websocket\r\n' +
        'Connection: Upgrade\r\n' +
        `Sec-WebSocket-Key: ${RFC_KEY}\r\n` +
        'Sec-WebSocket-Version: 13\r\n' +
        'Sec-WebSocket-Protocol: chat, superchat\r\n' +
        'Origin: http://example.com\r\n' +
        '\r\n',
    );
    expect(head('request', sent.request).headers).toEqual(sent.headers);
  });

  test('the default key is 16 random bytes from crypto.getRandomValues', () => {
    const a = createClientRequest({ host: 'h', path: '/' }).key;
    const b = createClientRequest({ host: 'h', path: '/' }).key;
    expect(base64Decode(a)).toHaveLength(16);
    expect(a).not.toBe(b);
  });

  test('without crypto and without randomFill it says what to pass', () => {
    const descriptor = Object.getOwnPropertyDescriptor(globalThis, 'crypto');
    Object.defineProperty(globalThis, 'crypto', { value: undefined, configurable: true, writable: true });
    try {
      expect(() => createClientRequest({ host: 'h', path: '/' })).toThrow(/randomFill/);
      expect(createClientRequest({ host: 'h', path: '/', randomFill: fixedKey }).key).toBe(RFC_KEY);
    } finally {
      Object.defineProperty(globalThis, 'crypto', descriptor!);
    }
  });

  test('permessage-deflate offer and extra headers', () => {
    const sent = createClientRequest({
      host: 'h:8080',
      path: '/x?y=1',
      perMessageDeflate: { serverNoContextTakeover: true },
      headers: { Authorization: 'Bearer t' },
      randomFill: fixedKey,
    });
    const req = head('request', sent.request);
    expect(req.target).toBe('/x?y=1');
    expect(getHeader(req, 'Sec-WebSocket-Extensions')).toBe(
      'permessage-deflate; server_no_context_takeover; client_max_window_bits',
    );
    expect(getHeader(req, 'Authorization')).toBe('Bearer t');
    expect(sent.perMessageDeflate).toEqual({ serverNoContextTakeover: true });
    expect(createClientRequest({ host: 'h', path: '/', perMessageDeflate: true }).perMessageDeflate).toEqual(
      {},
    );
  });

  test.each([
    [{ host: '', path: '/' }, /host/],
    [{ host: 'a b', path: '/' }, /host/],
    [{ host: 'h\r\nX: 1', path: '/' }, /host/],
    [{ host: 'h', path: 'x' }, /path/],
    [{ host: 'h', path: '/a b' }, /path/],
    [{ host: 'h', path: '/', protocols: ['a b'] }, /not an HTTP token/],
    [{ host: 'h', path: '/', protocols: [''] }, /not an HTTP token/],
    [{ host: 'h', path: '/', protocols: ['a', 'a'] }, /twice/],
    [{ host: 'h', path: '/', origin: 'http://x\r\n' }, /origin/],
    [{ host: 'h', path: '/', headers: { 'X-A': 'a\nb' } }, /CR, LF/],
    [{ host: 'h', path: '/', headers: { 'X A': 'a' } }, /not an HTTP token/],
    [{ host: 'h', path: '/', headers: { 'sec-websocket-protocol': 'a' } }, /option protocols/],
    [{ host: 'h', path: '/', headers: { Host: 'a' } }, /option host/],
    [{ host: 'h', path: '/', perMessageDeflate: { clientMaxWindowBits: 8 } }, /supportsWindowBits8/],
  ])('misuse throws: %j', (options, message) => {
    expect(() => createClientRequest({ ...options, randomFill: fixedKey })).toThrow(message);
  });
});

describe('RFC 6455 4.1: the client checks the response', () => {
  const sent = { key: RFC_KEY, protocols: ['chat'], perMessageDeflate: {} as PerMessageDeflateClientOptions };
  const ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';
  const res = (lines: string[], status = '101 Switching Protocols'): HttpHead =>
    head('response', `HTTP/1.1 ${status}\r\n${lines.map((l) => l + '\r\n').join('')}\r\n`);
  const good = ['Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${ACCEPT}`];

  test('a minimal valid response', () => {
    expect(checkServerResponse(res(good), sent)).toEqual({
      ok: true,
      protocol: null,
      extensions: '',
      perMessageDeflate: null,
    });
  });

  test('a negotiated deflate response', () => {
    const result = checkServerResponse(
      res([...good, 'Sec-WebSocket-Extensions: permessage-deflate; server_max_window_bits=9']),
      sent,
    );
    expect(result).toEqual({
      ok: true,
      protocol: null,
      extensions: 'permessage-deflate; server_max_window_bits=9',
      perMessageDeflate: {
        serverNoContextTakeover: false,
        clientNoContextTakeover: false,
        serverMaxWindowBits: 9,
        clientMaxWindowBits: 15,
      },
    });
  });

  test.each([
    [
      ['Upgrade: websocket'],
      '401 Unauthorized',
      /expected 101 Switching Protocols, got 401 Unauthorized/,
      401,
    ],
    [good, '200 OK', /got 200/, 200],
    [['Connection: Upgrade', `Sec-WebSocket-Accept: ${ACCEPT}`], undefined, /Upgrade header/, 101],
    [['Upgrade: websocket', `Sec-WebSocket-Accept: ${ACCEPT}`], undefined, /Connection header/, 101],
    [['Upgrade: websocket', 'Connection: Upgrade'], undefined, /missing Sec-WebSocket-Accept/, 101],
    [[...good, `Sec-WebSocket-Accept: ${ACCEPT}`], undefined, /more than one Sec-WebSocket-Accept/, 101],
    [
      ['Upgrade: websocket', 'Connection: Upgrade', 'Sec-WebSocket-Accept: x3pPLMBiTxaQ9kYGzzhZRbK+xOo='],
      undefined,
      /does not match/,
      101,
    ],
    [[...good, 'Sec-WebSocket-Protocol: superchat'], undefined, /not offered/, 101],
    [[...good, 'Sec-WebSocket-Protocol: chat, chat'], undefined, /not offered/, 101],
    [
      [...good, 'Sec-WebSocket-Protocol: chat', 'Sec-WebSocket-Protocol: chat'],
      undefined,
      /more than one Sec-WebSocket-Protocol/,
      101,
    ],
    [[...good, 'Sec-WebSocket-Extensions: foo'], undefined, /extension "foo", which was not offered/, 101],
    [
      [...good, 'Sec-WebSocket-Extensions: permessage-deflate, permessage-deflate'],
      undefined,
      /more than once/,
      101,
    ],
    [[...good, 'Sec-WebSocket-Extensions: permessage-deflate; x=1'], undefined, /unknown parameter x/, 101],
    [[...good, 'Sec-WebSocket-Extensions: permessage-deflate;'], undefined, /Sec-WebSocket-Extensions/, 101],
  ] as [string[], string | undefined, RegExp, number][])('%j %s fails', (lines, status, reason, code) => {
    const result = checkServerResponse(res(lines, status), sent);
    expect(result.ok).toBe(false);
    if (!result.ok) {
      expect(result.reason).toMatch(reason);
      expect(result.status).toBe(code);
    }
  });

  test('a protocol or deflate when none was offered fails', () => {
    const none = { key: RFC_KEY, protocols: [], perMessageDeflate: null };
    const protocol = checkServerResponse(res([...good, 'Sec-WebSocket-Protocol: chat']), none);
    expect(!protocol.ok && protocol.reason).toMatch(/none was offered/);
    const deflate = checkServerResponse(res([...good, 'Sec-WebSocket-Extensions: permessage-deflate']), none);
    expect(!deflate.ok && deflate.reason).toMatch(/not offered/);
  });

  test('a request head is a misuse', () => {
    expect(() => checkServerResponse(head('request', RFC_REQUEST), sent)).toThrow(/response head/);
  });
});

describe('properties', () => {
  const token = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,10}$/);
  const bits = fc.integer({ min: 9, max: 15 });
  const clientDeflate = fc.option(
    fc.record(
      {
        serverNoContextTakeover: fc.boolean(),
        clientNoContextTakeover: fc.boolean(),
        serverMaxWindowBits: bits,
        clientMaxWindowBits: fc.oneof(fc.boolean(), bits),
      },
      { requiredKeys: [] },
    ),
    { nil: undefined },
  );
  const serverDeflate = fc.option(
    fc.record(
      {
        serverNoContextTakeover: fc.boolean(),
        clientNoContextTakeover: fc.boolean(),
        serverMaxWindowBits: bits,
        clientMaxWindowBits: bits,
      },
      { requiredKeys: [] },
    ),
    { nil: undefined },
  );

  test('round trip: client request -> server accept -> client check', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(token, { maxLength: 5 }),
        fc.option(fc.nat(), { nil: null }),
        clientDeflate,
        serverDeflate,
        fc.uint8Array({ minLength: 16, maxLength: 16 }),
        (protocols, pick, clientOptions, serverOptions, keyBytes) => {
          const sent = createClientRequest({
            host: 'localhost:9001',
            path: '/echo',
            protocols,
            ...(clientOptions === undefined ? {} : { perMessageDeflate: clientOptions }),
            randomFill: (b) => b.set(keyBytes),
          });
          const server = acceptServerHandshake(head('request', sent.request), {
            chooseProtocol: (offered) => (pick === null ? null : offered[pick % offered.length]),
            ...(serverOptions === undefined
              ? {}
              : { perMessageDeflate: serverOptions as PerMessageDeflateServerOptions }),
          });
          if (!server.ok) throw new Error(server.reason);
          expect(server.key).toBe(sent.key);
          expect(server.protocol).toBe(
            pick === null || protocols.length === 0 ? null : protocols[pick % protocols.length],
          );
          const client = checkServerResponse(head('response', server.response), sent);
          if (!client.ok) throw new Error(client.reason);
          expect(client.protocol).toBe(server.protocol);
          expect(client.extensions).toBe(server.extensions);
          expect(client.perMessageDeflate === null).toBe(server.perMessageDeflate === null);
          if (clientOptions !== undefined && serverOptions !== undefined) {
            // Without 8-bit windows, an offer is declined only for these two conflicts (RFC 7692 7.1.1.1, 7.1.2.2).
            const conflict =
              (clientOptions.serverNoContextTakeover === true &&
                serverOptions.serverNoContextTakeover === false) ||
              (serverOptions.clientMaxWindowBits !== undefined &&
                clientOptions.clientMaxWindowBits === false);
            expect(server.perMessageDeflate === null).toBe(conflict);
          }
          if (client.perMessageDeflate !== null && server.perMessageDeflate !== null) {
            const { clientMaxWindowBits: c, ...clientRest } = client.perMessageDeflate;
            const { clientMaxWindowBits: s, ...serverRest } = server.perMessageDeflate;
            expect(clientRest).toEqual(serverRest);
            expect(c).toBeLessThanOrEqual(s);
          }
        },
      ),
      FC,
    );
  });

  const headerNames = fc.constantFrom(
    'Host',
    'Upgrade',
    'Connection',
    'Sec-WebSocket-Key',
    'Sec-WebSocket-Version',
    'Sec-WebSocket-Protocol',
    'Sec-WebSocket-Extensions',
    'Sec-WebSocket-Accept',
    'X-Other',
  );
  const headerValues = fc.oneof(
    fc.constantFrom(
      'websocket',
      'Upgrade',
      '13',
      RFC_KEY,
      's3pPLMBiTxaQ9kYGzzhZRbK+xOo=',
      'chat',
      'permessage-deflate',
      'a, b',
      '"',
      ';',
      '',
    ),
    fc.string({ maxLength: 30 }).map((s) => s.replace(/[^\x20-\x7e]/g, '')),
  );
  const headers = fc.array(fc.tuple(headerNames, headerValues), { maxLength: 12 });

  test('random request heads never throw; refusals are well-formed responses', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('GET', 'POST', 'get', 'CONNECT'),
        fc.constantFrom('1.0', '1.1', '2.0'),
        headers,
        (method, version, list) => {
          const result = acceptServerHandshake(
            { method, target: '/', version, headers: list },
            { chooseProtocol: (offered) => offered[0], perMessageDeflate: { supportsWindowBits8: true } },
          );
          if (result.ok) {
            expect(head('response', result.response).status).toBe(101);
          } else {
            expect([400, 405, 426]).toContain(result.status);
            expect(response(result.response).head.status).toBe(result.status);
          }
        },
      ),
      FC,
    );
  });

  test('random response heads never throw', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(101, 200, 400),
        headers,
        fc.array(token, { maxLength: 3 }),
        fc.boolean(),
        (status, list, protocols, deflate) => {
          const result = checkServerResponse(
            { status, statusText: '', version: '1.1', headers: list },
            { key: RFC_KEY, protocols, perMessageDeflate: deflate ? {} : null },
          );
          expect(typeof result.ok).toBe('boolean');
          if (!result.ok) expect(result.reason.length).toBeGreaterThan(0);
        },
      ),
      FC,
    );
  });
});

describe('RFC 6455 4.2.1 with limits: maxHeaders and maxHeadBytes are checked on any head (431)', () => {
  test('more fields than maxHeaders: too-many-headers', () => {
    const extra = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`X-${i}`, 'v']));
    expect(acceptServerHandshake(request(extra), { maxHeaders: 11 }).ok).toBe(true);
    const refused = acceptServerHandshake(request(extra), { maxHeaders: 10 });
    if (refused.ok) throw new Error('expected a refusal');
    expect([refused.kind, refused.status]).toEqual(['too-many-headers', 431]);
  });

  test('a head HeadParser accepted within maxHeadBytes is never refused for its size; a far smaller limit refuses it', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('X-A', 'X-Long-Name'), fc.string({ maxLength: 40 })), {
          maxLength: 8,
        }),
        fc.boolean(),
        (fields, spaced) => {
          const lines = [
            'GET /chat?x=1 HTTP/1.1',
            'Host: example.com',
            'Upgrade: websocket',
            'Connection: Upgrade',
            `Sec-WebSocket-Key: ${RFC_KEY}`,
            'Sec-WebSocket-Version: 13',
            ...fields.map(([n, v]) => `${n}:${spaced ? ' ' : ''}${v.replace(/[^\x21-\x7e]/g, 'a')}`),
          ];
          const wire = new TextEncoder().encode(`${lines.join('\r\n')}\r\n\r\n`);
          const parsed = parseHead('request', wire, { maxHeadBytes: wire.length });
          if (!parsed.done || !parsed.ok) throw new Error('the parser refused the head');
          expect(acceptServerHandshake(parsed.head, { maxHeadBytes: wire.length }).ok).toBe(true);
          const smaller = acceptServerHandshake(parsed.head, { maxHeadBytes: 40 });
          expect(smaller.ok ? null : smaller.kind).toBe('head-too-large');
        },
      ),
      FC,
    );
  });
});
