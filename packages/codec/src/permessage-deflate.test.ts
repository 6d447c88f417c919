import fc from 'fast-check';
import { formatExtension, parseExtensions, type Extension } from './extensions.js';
import {
  acceptDeflateOffers,
  checkDeflateResponse,
  createDeflateOffer,
  type PerMessageDeflateClientOptions,
  type PerMessageDeflateServerOptions,
} from './permessage-deflate.js';
import { propertySettings } from '@rfc6455/test-support';

const FC = propertySettings(process.env);

function extensions(value: string): Extension[] {
  const result = parseExtensions(value);
  if (!result.ok) throw new Error(result.reason);
  return result.extensions;
}

/** Server side on a header value: the response header value (or null) and the params. */
function serverAccepts(offer: string, options: PerMessageDeflateServerOptions = {}) {
  const accepted = acceptDeflateOffers(extensions(offer), options);
  return accepted === null ? null : { response: formatExtension(accepted.response), params: accepted.params };
}

function clientChecks(response: string, options: PerMessageDeflateClientOptions = {}) {
  const [element] = extensions(response);
  return checkDeflateResponse(element!, options);
}

const DEFAULT_PARAMS = {
  serverNoContextTakeover: false,
  clientNoContextTakeover: false,
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
};

describe('RFC 7692 7.1: the client offer', () => {
  test('default offer: client_max_window_bits without a value', () => {
    expect(formatExtension(createDeflateOffer())).toBe('permessage-deflate; client_max_window_bits');
  });

  test('every option', () => {
    const offer = createDeflateOffer({
      serverNoContextTakeover: true,
      clientNoContextTakeover: true,
      serverMaxWindowBits: 10,
      clientMaxWindowBits: 12,
    });
    expect(formatExtension(offer)).toBe(
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=12',
    );
    expect(formatExtension(createDeflateOffer({ clientMaxWindowBits: false }))).toBe('permessage-deflate');
  });

  test.each([
    [{ serverMaxWindowBits: 7 }, /8 to 15/],
    [{ serverMaxWindowBits: 16 }, /8 to 15/],
    [{ serverMaxWindowBits: 9.5 }, /8 to 15/],
    [{ clientMaxWindowBits: 8 }, /supportsWindowBits8/],
    [{ clientMaxWindowBits: 0 }, /8 to 15/],
  ] as [PerMessageDeflateClientOptions, RegExp][])('invalid options %j throw', (options, message) => {
    expect(() => createDeflateOffer(options)).toThrow(message);
  });

  test('clientMaxWindowBits 8 is fine when the compressor supports it; server_max_window_bits=8 may always be asked for', () => {
    expect(formatExtension(createDeflateOffer({ clientMaxWindowBits: 8, supportsWindowBits8: true }))).toBe(
      'permessage-deflate; client_max_window_bits=8',
    );
    expect(formatExtension(createDeflateOffer({ serverMaxWindowBits: 8 }))).toBe(
      'permessage-deflate; server_max_window_bits=8; client_max_window_bits',
    );
  });
});

describe('RFC 7692 7.1: the server accepts the first offer it can honour', () => {
  test('a plain offer is accepted with an empty response', () => {
    expect(serverAccepts('permessage-deflate')).toEqual({
      response: 'permessage-deflate',
      params: DEFAULT_PARAMS,
    });
  });

  test('offers for other extensions are skipped', () => {
    expect(serverAccepts('x-webkit-deflate-frame, foo')).toBeNull();
    expect(serverAccepts('foo, permessage-deflate')?.response).toBe('permessage-deflate');
  });

  describe('7.1.1.1 server_no_context_takeover', () => {
    test.each([
      ['permessage-deflate', {}, 'permessage-deflate', false],
      [
        'permessage-deflate; server_no_context_takeover',
        {},
        'permessage-deflate; server_no_context_takeover',
        true,
      ],
      [
        'permessage-deflate',
        { serverNoContextTakeover: true },
        'permessage-deflate; server_no_context_takeover',
        true,
      ],
      ['permessage-deflate; server_no_context_takeover', { serverNoContextTakeover: false }, null, false],
    ] as const)('%s with %j -> %s', (offer, options, response, reset) => {
      const accepted = serverAccepts(offer, options);
      expect(accepted?.response ?? null).toBe(response);
      if (accepted !== null) expect(accepted.params.serverNoContextTakeover).toBe(reset);
    });
  });

  describe('7.1.1.2 client_no_context_takeover', () => {
    test.each([
      ['permessage-deflate', {}, 'permessage-deflate', false],
      [
        'permessage-deflate; client_no_context_takeover',
        {},
        'permessage-deflate; client_no_context_takeover',
        true,
      ],
      [
        'permessage-deflate',
        { clientNoContextTakeover: true },
        'permessage-deflate; client_no_context_takeover',
        true,
      ],
      [
        'permessage-deflate; client_no_context_takeover',
        { clientNoContextTakeover: false },
        'permessage-deflate',
        true,
      ],
      ['permessage-deflate', { clientNoContextTakeover: false }, 'permessage-deflate', false],
    ] as const)('%s with %j -> %s', (offer, options, response, reset) => {
      const accepted = serverAccepts(offer, options);
      expect(accepted?.response).toBe(response);
      expect(accepted?.params.clientNoContextTakeover).toBe(reset);
    });
  });

  describe('7.1.2.1 server_max_window_bits', () => {
    test.each([
      ['permessage-deflate', {}, 'permessage-deflate', 15],
      [
        'permessage-deflate',
        { serverMaxWindowBits: 11 },
        'permessage-deflate; server_max_window_bits=11',
        11,
      ],
      [
        'permessage-deflate; server_max_window_bits=10',
        {},
        'permessage-deflate; server_max_window_bits=10',
        10,
      ],
      [
        'permessage-deflate; server_max_window_bits=10',
        { serverMaxWindowBits: 12 },
        'permessage-deflate; server_max_window_bits=10',
        10,
      ],
      [
        'permessage-deflate; server_max_window_bits=12',
        { serverMaxWindowBits: 10 },
        'permessage-deflate; server_max_window_bits=10',
        10,
      ],
      ['permessage-deflate; server_max_window_bits=8', {}, null, 0],
      [
        'permessage-deflate; server_max_window_bits=8',
        { supportsWindowBits8: true },
        'permessage-deflate; server_max_window_bits=8',
        8,
      ],
      ['permessage-deflate; server_max_window_bits=9', {}, 'permessage-deflate; server_max_window_bits=9', 9],
    ] as const)('%s with %j -> %s', (offer, options, response, bits) => {
      const accepted = serverAccepts(offer, options);
      expect(accepted?.response ?? null).toBe(response);
      if (accepted !== null) expect(accepted.params.serverMaxWindowBits).toBe(bits);
    });
  });

  describe('7.1.2.2 client_max_window_bits', () => {
    test.each([
      ['permessage-deflate', {}, 'permessage-deflate', 15],
      ['permessage-deflate', { clientMaxWindowBits: 10 }, null, 0],
      ['permessage-deflate; client_max_window_bits', {}, 'permessage-deflate', 15],
      [
        'permessage-deflate; client_max_window_bits',
        { clientMaxWindowBits: 10 },
        'permessage-deflate; client_max_window_bits=10',
        10,
      ],
      ['permessage-deflate; client_max_window_bits=12', {}, 'permessage-deflate', 15],
      [
        'permessage-deflate; client_max_window_bits=12',
        { clientMaxWindowBits: 10 },
        'permessage-deflate; client_max_window_bits=10',
        10,
      ],
      [
        'permessage-deflate; client_max_window_bits=9',
        { clientMaxWindowBits: 10 },
        'permessage-deflate; client_max_window_bits=9',
        9,
      ],
      [
        'permessage-deflate; client_max_window_bits',
        { clientMaxWindowBits: 8 },
        'permessage-deflate; client_max_window_bits=8',
        8,
      ],
    ] as const)('%s with %j -> %s', (offer, options, response, bits) => {
      const accepted = serverAccepts(offer, options);
      expect(accepted?.response ?? null).toBe(response);
      if (accepted !== null) expect(accepted.params.clientMaxWindowBits).toBe(bits);
    });
  });

  test.each([
    'permessage-deflate; foo',
    'permessage-deflate; server_no_context_takeover; server_no_context_takeover',
    'permessage-deflate; client_max_window_bits; client_max_window_bits=10',
    'permessage-deflate; server_no_context_takeover=1',
    'permessage-deflate; client_no_context_takeover=true',
    'permessage-deflate; server_max_window_bits',
    'permessage-deflate; server_max_window_bits=7',
    'permessage-deflate; server_max_window_bits=16',
    'permessage-deflate; server_max_window_bits=08',
    'permessage-deflate; server_max_window_bits=+9',
    'permessage-deflate; client_max_window_bits=abc',
    'permessage-deflate; client_max_window_bits=1',
  ])('declines an invalid offer and takes the next one: %s', (bad) => {
    expect(serverAccepts(bad)).toBeNull();
    expect(serverAccepts(`${bad}, permessage-deflate; server_max_window_bits=11`)?.response).toBe(
      'permessage-deflate; server_max_window_bits=11',
    );
  });

  test('quoted values are the same as tokens', () => {
    expect(serverAccepts('permessage-deflate; server_max_window_bits="10"')?.params.serverMaxWindowBits).toBe(
      10,
    );
  });

  test('invalid server options throw', () => {
    expect(() => acceptDeflateOffers([], { serverMaxWindowBits: 8 })).toThrow(/supportsWindowBits8/);
    expect(() => acceptDeflateOffers([], { serverMaxWindowBits: 20 })).toThrow(/8 to 15/);
    expect(() => acceptDeflateOffers([], { clientMaxWindowBits: 7 })).toThrow(/8 to 15/);
    expect(acceptDeflateOffers([], { clientMaxWindowBits: 8 })).toBeNull();
  });

  describe('Autobahn|Testsuite section 13 offers', () => {
    // Autobahn's offer: client_no_context_takeover and client_max_window_bits always, plus what it requests.
    const offer = (noContext: boolean, bits: number): string =>
      'permessage-deflate; client_no_context_takeover; client_max_window_bits' +
      (noContext ? '; server_no_context_takeover' : '') +
      (bits !== 0 ? `; server_max_window_bits=${bits}` : '');

    test.each([
      ['13.1', [offer(false, 0)], {}],
      ['13.2', [offer(true, 0)], { serverNoContextTakeover: true }],
      ['13.4', [offer(false, 15)], { serverMaxWindowBits: 15 }],
      ['13.6', [offer(true, 15)], { serverNoContextTakeover: true, serverMaxWindowBits: 15 }],
    ])('%s is accepted as offered', (_case, offers, expected) => {
      const accepted = serverAccepts(offers.join(', '));
      expect(accepted?.params).toEqual({ ...DEFAULT_PARAMS, clientNoContextTakeover: true, ...expected });
    });

    test('13.3 and 13.5 (server_max_window_bits=8) need supportsWindowBits8', () => {
      for (const o of [offer(false, 8), offer(true, 8)]) {
        expect(serverAccepts(o)).toBeNull();
        expect(serverAccepts(o, { supportsWindowBits8: true })?.params.serverMaxWindowBits).toBe(8);
      }
    });

    test('13.7: three offers; without 8-bit support the second is taken', () => {
      const offers = [offer(true, 8), offer(true, 0), offer(false, 0)].join(', ');
      expect(serverAccepts(offers)?.response).toBe(
        'permessage-deflate; server_no_context_takeover; client_no_context_takeover',
      );
      expect(serverAccepts(offers, { supportsWindowBits8: true })?.params.serverMaxWindowBits).toBe(8);
    });
  });
});

describe('RFC 7692 7.1: the client checks the response', () => {
  test('an empty response gives the defaults', () => {
    expect(clientChecks('permessage-deflate')).toEqual({ ok: true, params: DEFAULT_PARAMS });
  });

  test('all parameters are reflected', () => {
    expect(
      clientChecks(
        'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=11',
      ),
    ).toEqual({
      ok: true,
      params: {
        serverNoContextTakeover: true,
        clientNoContextTakeover: true,
        serverMaxWindowBits: 10,
        clientMaxWindowBits: 11,
      },
    });
  });

  test('our own client_no_context_takeover binds us even if the server does not echo it', () => {
    const result = clientChecks('permessage-deflate', { clientNoContextTakeover: true });
    expect(result.ok && result.params.clientNoContextTakeover).toBe(true);
  });

  test('a client_max_window_bits hint caps our window', () => {
    const result = clientChecks('permessage-deflate; client_max_window_bits=12', { clientMaxWindowBits: 10 });
    expect(result.ok && result.params.clientMaxWindowBits).toBe(10);
    const none = clientChecks('permessage-deflate', { clientMaxWindowBits: 10 });
    expect(none.ok && none.params.clientMaxWindowBits).toBe(10);
  });

  test.each([
    ['permessage-deflate; foo', {}, /unknown parameter foo/],
    ['permessage-deflate; server_max_window_bits=10; server_max_window_bits=10', {}, /twice/],
    ['permessage-deflate; server_no_context_takeover=1', {}, /must not have a value/],
    ['permessage-deflate; server_max_window_bits=16', {}, /8 to 15/],
    ['permessage-deflate; server_max_window_bits', {}, /8 to 15/],
    ['permessage-deflate; client_max_window_bits', {}, /in a response/],
    ['permessage-deflate; client_max_window_bits=10', { clientMaxWindowBits: false }, /not offered/],
    ['permessage-deflate', { serverNoContextTakeover: true }, /server_no_context_takeover was requested/],
    ['permessage-deflate', { serverMaxWindowBits: 10 }, /server_max_window_bits was requested/],
    ['permessage-deflate; server_max_window_bits=11', { serverMaxWindowBits: 10 }, /exceeds/],
    ['permessage-deflate; client_max_window_bits=8', {}, /supportsWindowBits8/],
    ['x-other', {}, /unexpected extension/],
  ] as [string, PerMessageDeflateClientOptions, RegExp][])(
    'rejects %s (offered %j)',
    (response, options, reason) => {
      const result = clientChecks(response, options);
      expect(result.ok).toBe(false);
      if (!result.ok) expect(result.reason).toMatch(reason);
    },
  );

  test('server_max_window_bits=8 from the server is fine for our inflater; client 8 with support too', () => {
    const server8 = clientChecks('permessage-deflate; server_max_window_bits=8');
    expect(server8.ok && server8.params.serverMaxWindowBits).toBe(8);
    const client8 = clientChecks('permessage-deflate; client_max_window_bits=8', {
      supportsWindowBits8: true,
    });
    expect(client8.ok && client8.params.clientMaxWindowBits).toBe(8);
  });
});

describe('round trip: offer -> server accept -> client check', () => {
  const bits = fc.integer({ min: 8, max: 15 });
  const clientOptions = fc
    .record(
      {
        serverNoContextTakeover: fc.boolean(),
        clientNoContextTakeover: fc.boolean(),
        serverMaxWindowBits: bits,
        clientMaxWindowBits: fc.oneof(fc.boolean(), bits),
        supportsWindowBits8: fc.boolean(),
      },
      { requiredKeys: [] },
    )
    .filter((o) => !(o.clientMaxWindowBits === 8 && o.supportsWindowBits8 !== true));
  const serverOptions = fc
    .record(
      {
        serverNoContextTakeover: fc.boolean(),
        clientNoContextTakeover: fc.boolean(),
        serverMaxWindowBits: bits,
        clientMaxWindowBits: bits,
        supportsWindowBits8: fc.boolean(),
      },
      { requiredKeys: [] },
    )
    .filter((o) => !(o.serverMaxWindowBits === 8 && o.supportsWindowBits8 !== true));

  test('property: whatever the server accepts, the client accepts, and both agree on the parameters', () => {
    fc.assert(
      fc.property(clientOptions, serverOptions, (client, server) => {
        const offer = createDeflateOffer(client);
        const accepted = acceptDeflateOffers(extensions(formatExtension(offer)), server);
        if (accepted === null) return;
        const [response] = extensions(formatExtension(accepted.response));
        const checked = checkDeflateResponse(response!, client);
        if (!checked.ok) {
          // The only legitimate refusal: the server limits our window to 8 and we cannot honour it.
          expect(checked.reason).toMatch(/supportsWindowBits8/);
          expect(accepted.params.clientMaxWindowBits).toBe(8);
          return;
        }
        const s = accepted.params;
        const c = checked.params;
        expect(c.serverNoContextTakeover).toBe(s.serverNoContextTakeover);
        expect(c.clientNoContextTakeover).toBe(s.clientNoContextTakeover);
        expect(c.serverMaxWindowBits).toBe(s.serverMaxWindowBits);
        // Our compressor's window never exceeds what the server's inflater was told.
        expect(c.clientMaxWindowBits).toBeLessThanOrEqual(s.clientMaxWindowBits);
        if (client.serverMaxWindowBits !== undefined)
          expect(s.serverMaxWindowBits).toBeLessThanOrEqual(client.serverMaxWindowBits);
        if (client.serverNoContextTakeover === true) expect(s.serverNoContextTakeover).toBe(true);
      }),
      FC,
    );
  });

  test('property: a server with default options accepts every valid single offer without 8-bit windows', () => {
    fc.assert(
      fc.property(clientOptions, (client) => {
        fc.pre(client.serverMaxWindowBits !== 8);
        expect(acceptDeflateOffers([createDeflateOffer(client)], {})).not.toBeNull();
      }),
      FC,
    );
  });
});
