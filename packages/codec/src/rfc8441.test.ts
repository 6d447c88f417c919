import {
  acceptExtendedConnect,
  checkExtendedConnectResponse,
  createExtendedConnectRequest,
  type FieldList,
} from './rfc8441.js';

const BASE: [string, string][] = [
  [':method', 'CONNECT'],
  [':protocol', 'websocket'],
  [':scheme', 'https'],
  [':path', '/chat?room=1'],
  [':authority', 'example.com'],
  ['sec-websocket-version', '13'],
];

function request(...extra: [string, string][]): FieldList {
  return [...BASE, ...extra];
}

function without(name: string): FieldList {
  return BASE.filter(([n]) => n !== name);
}

describe('RFC 8441 4: the extended CONNECT', () => {
  test('a well-formed request is accepted with 200 and no accept field', () => {
    const r = acceptExtendedConnect(request());
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.status).toBe(200);
    expect(r.headers).toEqual([]);
    expect(r.request.method).toBe('CONNECT');
    expect(r.request.target).toBe('/chat?room=1');
    expect(r.request.version).toBe('2.0');
  });

  test.each([
    [':method', 'GET', 405, 'method-not-connect'],
    [':protocol', 'webtransport', 400, 'protocol-not-websocket'],
  ])('%s %s is refused with %i', (name, value, status, kind) => {
    const fields = BASE.map(([n, v]): [string, string] => (n === name ? [n, value] : [n, v]));
    const r = acceptExtendedConnect(fields);
    expect(r).toMatchObject({ ok: false, status, kind });
    if (!r.ok) expect(r.reason).toContain(JSON.stringify(value));
  });

  test.each([':scheme', ':path', ':authority'])('a request without %s is refused with 400', (name) => {
    expect(acceptExtendedConnect(without(name))).toMatchObject({
      ok: false,
      status: 400,
      kind: 'missing-pseudo-header',
    });
  });

  test('a plain CONNECT (no :protocol) is refused', () => {
    expect(acceptExtendedConnect(without(':protocol'))).toMatchObject({
      ok: false,
      kind: 'protocol-not-websocket',
    });
  });

  test('too many fields: 431', () => {
    const many = Array.from({ length: 5 }, (_, i): [string, string] => [`x-${i}`, 'v']);
    expect(acceptExtendedConnect(request(...many), { maxHeaders: 5 })).toMatchObject({
      ok: false,
      status: 431,
    });
    expect(acceptExtendedConnect(request(...many), { maxHeaders: 6 }).ok).toBe(true);
  });
});

describe('RFC 8441 5: the WebSocket fields', () => {
  test('a missing or wrong Sec-WebSocket-Version is refused, naming 13', () => {
    for (const fields of [
      without('sec-websocket-version'),
      [...without('sec-websocket-version'), ['sec-websocket-version', '8']] as FieldList,
    ]) {
      const r = acceptExtendedConnect(fields);
      expect(r).toMatchObject({ ok: false, status: 400, kind: 'unsupported-version' });
      if (!r.ok) expect(r.headers).toEqual([['sec-websocket-version', '13']]);
    }
  });

  test('a Sec-WebSocket-Key, if sent anyway, is ignored', () => {
    expect(acceptExtendedConnect(request(['sec-websocket-key', 'not even base64'])).ok).toBe(true);
  });

  test('the subprotocol and permessage-deflate are negotiated as in RFC 6455', () => {
    const r = acceptExtendedConnect(
      request(
        ['sec-websocket-protocol', 'chat, superchat'],
        ['sec-websocket-extensions', 'permessage-deflate; client_max_window_bits'],
      ),
      { chooseProtocol: (offered) => offered[1], perMessageDeflate: true },
    );
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.protocol).toBe('superchat');
    expect(r.perMessageDeflate).not.toBeNull();
    expect(r.headers).toEqual([
      ['sec-websocket-protocol', 'superchat'],
      ['sec-websocket-extensions', r.extensions],
    ]);
    expect(r.extensions).toMatch(/^permessage-deflate/);
  });

  test('a malformed subprotocol or extension list is refused with 400', () => {
    expect(acceptExtendedConnect(request(['sec-websocket-protocol', 'a b']))).toMatchObject({
      ok: false,
      status: 400,
      kind: 'invalid-subprotocol',
    });
    expect(acceptExtendedConnect(request(['sec-websocket-extensions', ';;']))).toMatchObject({
      ok: false,
      status: 400,
      kind: 'invalid-extensions',
    });
  });

  test('a chooser that returns a name not offered is misuse and throws', () => {
    expect(() =>
      acceptExtendedConnect(request(['sec-websocket-protocol', 'chat']), { chooseProtocol: () => 'other' }),
    ).toThrow(/did not offer/);
  });
});

describe('RFC 8441 client side', () => {
  test('the request carries the pseudo-headers and no key, Host, Upgrade or Connection', () => {
    const req = createExtendedConnectRequest({
      authority: 'example.com:8443',
      scheme: 'https',
      path: '/chat',
      protocols: ['chat'],
      origin: 'https://example.com',
      perMessageDeflate: true,
      headers: [['X-Token', 'abc']],
    });
    const names = req.headers.map(([n]) => n);
    expect(req.headers.slice(0, 5)).toEqual([
      [':method', 'CONNECT'],
      [':protocol', 'websocket'],
      [':scheme', 'https'],
      [':path', '/chat'],
      [':authority', 'example.com:8443'],
    ]);
    for (const gone of ['host', 'upgrade', 'connection', 'sec-websocket-key'])
      expect(names).not.toContain(gone);
    expect(names).toEqual(names.map((n) => n.toLowerCase()));
    expect(req.headers).toContainEqual(['sec-websocket-version', '13']);
    expect(req.headers).toContainEqual(['sec-websocket-protocol', 'chat']);
    expect(req.headers).toContainEqual(['origin', 'https://example.com']);
    expect(req.headers).toContainEqual(['x-token', 'abc']);
    // A server of ours accepts it as sent.
    const r = acceptExtendedConnect(req.headers, { chooseProtocol: (o) => o[0], perMessageDeflate: true });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const checked = checkExtendedConnectResponse(r.status, [[':status', '200'], ...r.headers], req);
    expect(checked).toMatchObject({ ok: true, protocol: 'chat' });
    if (checked.ok) expect(checked.perMessageDeflate).toEqual(r.perMessageDeflate);
  });

  test('invalid options throw as createClientRequest does', () => {
    expect(() => createExtendedConnectRequest({ authority: 'a', scheme: 'https', path: 'no-slash' })).toThrow(
      /path/,
    );
    expect(() => createExtendedConnectRequest({ authority: 'a', scheme: 'ws' as 'http', path: '/' })).toThrow(
      /scheme/,
    );
    expect(() =>
      createExtendedConnectRequest({
        authority: 'a',
        scheme: 'https',
        path: '/',
        headers: [['Upgrade', 'x']],
      }),
    ).toThrow(/set by the handshake/);
  });

  test('a non-2xx answer fails with its status', () => {
    const req = createExtendedConnectRequest({ authority: 'a', scheme: 'http', path: '/' });
    expect(checkExtendedConnectResponse(404, [], req)).toMatchObject({ ok: false, status: 404 });
    expect(checkExtendedConnectResponse(101, [], req)).toMatchObject({ ok: false, status: 101 });
  });

  test('a subprotocol or extension not offered fails', () => {
    const req = createExtendedConnectRequest({
      authority: 'a',
      scheme: 'http',
      path: '/',
      protocols: ['chat'],
    });
    expect(checkExtendedConnectResponse(200, [['sec-websocket-protocol', 'other']], req)).toMatchObject({
      ok: false,
    });
    expect(
      checkExtendedConnectResponse(200, [['sec-websocket-extensions', 'permessage-deflate']], req),
    ).toMatchObject({
      ok: false,
    });
    expect(checkExtendedConnectResponse(200, [], req)).toMatchObject({
      ok: true,
      protocol: null,
      extensions: '',
    });
  });
});
