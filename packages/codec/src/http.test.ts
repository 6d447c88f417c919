import fc from 'fast-check';
import {
  DEFAULT_MAX_HEAD_BYTES,
  HeadParser,
  countHeader,
  equalsIgnoringAsciiCase,
  firstHeader,
  getHeader as get,
  getHeader,
  getHeaderValues,
  headFromRaw,
  headerHasToken,
  isToken,
  parseHead,
  splitList,
  type HeadParseResult,
  type HttpHead,
} from './http.js';

const FC = { seed: 42, numRuns: Number(process.env.FC_RUNS ?? 100) };
const bytes = (s: string): Uint8Array => Uint8Array.from(s, (c) => c.charCodeAt(0));
const text = (b: Uint8Array): string => String.fromCharCode(...b);

const RFC_REQUEST =
  'GET /chat HTTP/1.1\r\n' +
  'Host: server.example.com\r\n' +
  'Upgrade: websocket\r\n' +
  'Connection: Upgrade\r\n' +
  'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n' +
  'Origin: http://example.com\r\n' +
  'Sec-WebSocket-Protocol: chat, superchat\r\n' +
  'Sec-WebSocket-Version: 13\r\n' +
  '\r\n';

function expectHead(result: HeadParseResult): { head: HttpHead; rest: Uint8Array } {
  if (!result.done || !result.ok) throw new Error(`expected a parsed head, got ${JSON.stringify(result)}`);
  return result;
}

function expectError(result: HeadParseResult): { status: number; reason: string } {
  if (!result.done || result.ok) throw new Error(`expected an error, got ${JSON.stringify(result)}`);
  return result;
}

/** Feeds `chunks` in order until the parser finishes; returns the result and the bytes after the head. */
function feedAll(
  kind: 'request' | 'response',
  chunks: Uint8Array[],
  limits = {},
): { result: HeadParseResult; after: string } {
  const parser = new HeadParser(kind, limits);
  for (let i = 0; i < chunks.length; i++) {
    const result = parser.feed(chunks[i]!);
    if (result.done) {
      if (!result.ok) return { result, after: '' };
      return {
        result,
        after:
          text(result.rest) +
          chunks
            .slice(i + 1)
            .map(text)
            .join(''),
      };
    }
  }
  return { result: { done: false }, after: '' };
}

function splitAt(data: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(data.subarray(prev, p));
    prev = p;
  }
  out.push(data.subarray(prev));
  return out;
}

describe('RFC 6455 section 1.3: the example opening handshake', () => {
  test('parses the client request', () => {
    const { head, rest } = expectHead(parseHead('request', bytes(RFC_REQUEST)));
    expect(head.method).toBe('GET');
    expect(head.target).toBe('/chat');
    expect(head.version).toBe('1.1');
    expect(head.headers).toHaveLength(7);
    expect(head.headers[0]).toEqual(['Host', 'server.example.com']);
    expect(get(head, 'sec-websocket-key')).toBe('dGhlIHNhbXBsZSBub25jZQ==');
    expect(rest).toHaveLength(0);
  });

  test('parses the server response', () => {
    const response =
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\nSec-WebSocket-Protocol: chat\r\n\r\n';
    const { head } = expectHead(parseHead('response', bytes(response)));
    expect(head.status).toBe(101);
    expect(head.statusText).toBe('Switching Protocols');
    expect(head.version).toBe('1.1');
    expect(getHeader(head, 'SEC-WEBSOCKET-ACCEPT')).toBe('s3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });
});

describe('incremental parsing', () => {
  test('one byte at a time', () => {
    const parser = new HeadParser('request');
    const data = bytes(RFC_REQUEST + '\x81\x05hello');
    let result: HeadParseResult = { done: false };
    let i = 0;
    for (; i < data.length && !result.done; i++) result = parser.feed(data.subarray(i, i + 1));
    expect(i).toBe(RFC_REQUEST.length);
    expect(expectHead(result).head.headers).toHaveLength(7);
  });

  test('bytes after the head in the same chunk are returned as a view', () => {
    const data = bytes(RFC_REQUEST + '\x81\x05hello');
    const { rest } = expectHead(parseHead('request', data));
    expect(text(rest)).toBe('\x81\x05hello');
    expect(rest.buffer).toBe(data.buffer);
    expect(rest.byteOffset).toBe(RFC_REQUEST.length);
  });

  test('feeding after the head is complete is a misuse', () => {
    const parser = new HeadParser('request');
    expectHead(parser.feed(bytes(RFC_REQUEST)));
    expect(() => parser.feed(bytes('x'))).toThrow(/Connection/);
  });

  test('feeding after an error repeats the error', () => {
    const parser = new HeadParser('request');
    const first = expectError(parser.feed(bytes('GET / HTTP/1.1\nHost: x\r\n\r\n')));
    expect(parser.feed(bytes(RFC_REQUEST))).toEqual({ done: true, ok: false, ...first });
  });

  test('empty lines before the request line are ignored', () => {
    const { head } = expectHead(parseHead('request', bytes('\r\n\r\n' + RFC_REQUEST)));
    expect(head.method).toBe('GET');
  });

  test('property: any split of a valid head gives the same head and keeps every byte after it', () => {
    const headerName = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,12}$/);
    const headerValue = fc.stringMatching(/^[\x21-\x7e]([\x20-\x7e]{0,20}[\x21-\x7e])?$/);
    fc.assert(
      fc.property(
        fc.array(fc.tuple(headerName, headerValue), { maxLength: 12 }),
        fc.uint8Array({ maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 10 }),
        (headers, tail, cuts) => {
          const head =
            'GET /x?y=1 HTTP/1.1\r\n' + headers.map(([n, v]) => `${n}: ${v}\r\n`).join('') + '\r\n';
          const data = new Uint8Array([...bytes(head), ...tail]);
          const whole = expectHead(parseHead('request', data));
          expect(whole.head.headers).toEqual(headers);
          const { result, after } = feedAll('request', splitAt(data, cuts));
          expect(expectHead(result).head).toEqual(whole.head);
          expect(after).toBe(text(tail));
        },
      ),
      FC,
    );
  });

  test('property: random bytes never throw, and every split gives the same outcome', () => {
    const piece = fc.oneof(
      fc.constantFrom(
        '\r\n',
        '\r\n\r\n',
        '\r',
        '\n',
        ': ',
        ' ',
        'GET / HTTP/1.1',
        'HTTP/1.1 101 OK',
        'a',
        '\t',
        '\0',
        ',',
      ),
      fc.string({ maxLength: 5 }).map((s) => s.replace(/[^\x00-\xff]/g, 'x')),
    );
    fc.assert(
      fc.property(
        fc.constantFrom<'request' | 'response'>('request', 'response'),
        fc.array(piece, { maxLength: 30 }),
        fc.array(fc.nat(), { maxLength: 8 }),
        fc.integer({ min: 1, max: 64 }),
        (kind, pieces, cuts, maxHeadBytes) => {
          const data = bytes(pieces.join(''));
          const limits = { maxHeadBytes, maxHeaders: 3 };
          const one = feedAll(kind, [data], limits);
          const split = feedAll(kind, splitAt(data, cuts), limits);
          expect(split.result).toEqual({
            ...one.result,
            ...(one.result.done && one.result.ok ? { rest: expect.anything() } : {}),
          });
          expect(split.after).toBe(one.after);
        },
      ),
      FC,
    );
  });
});

describe('ASCII and latin1 heads', () => {
  test('a head with obs-text (bytes 0x80-0xff) keeps one char per byte; ASCII heads read the same as before', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 40 }), fc.boolean(), (raw, ascii) => {
        const value = Array.from(raw, (b) => {
          const c = ascii ? 0x20 + (b % 0x5f) : b < 0x20 || b === 0x7f ? 0x41 : b;
          return String.fromCharCode(c);
        })
          .join('')
          .trim();
        const request = `GET / HTTP/1.1\r\nX-V: ${value}\r\n\r\n`;
        const result = parseHead('request', bytes(request));
        if (!result.done || !result.ok) throw new Error('not parsed');
        expect(getHeader(result.head, 'X-V')).toBe(value);
      }),
      FC,
    );
  });
});

describe('limits (431)', () => {
  test('a head of exactly maxHeadBytes is accepted, one byte more is not', () => {
    const size = RFC_REQUEST.length;
    expectHead(parseHead('request', bytes(RFC_REQUEST), { maxHeadBytes: size }));
    const error = expectError(parseHead('request', bytes(RFC_REQUEST), { maxHeadBytes: size - 1 }));
    expect(error.status).toBe(431);
    expect(error.reason).toMatch(new RegExp(`${size - 1} bytes`));
  });

  test('the default limit is 16 KiB and is decided as soon as it is reached', () => {
    expect(DEFAULT_MAX_HEAD_BYTES).toBe(16384);
    const parser = new HeadParser('request');
    expect(parser.feed(bytes('GET / HTTP/1.1\r\nX-Long: '))).toEqual({ done: false });
    // One chunk far beyond the limit: rejected on this call, without waiting for CRLFCRLF.
    const error = expectError(parser.feed(new Uint8Array(1 << 20).fill(0x61)));
    expect(error.status).toBe(431);
  });

  test('100 header fields are accepted, 101 are not (decided before the head ends)', () => {
    const line = 'X-A: 1\r\n';
    expectHead(parseHead('request', bytes('GET / HTTP/1.1\r\n' + line.repeat(100) + '\r\n')));
    const error = expectError(parseHead('request', bytes('GET / HTTP/1.1\r\n' + line.repeat(101))));
    expect(error).toMatchObject({ status: 431, reason: 'more than 100 header fields' });
  });

  test('custom header count limit', () => {
    expectHead(parseHead('request', bytes('GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n'), { maxHeaders: 2 }));
    expect(
      expectError(
        parseHead('request', bytes('GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n'), { maxHeaders: 2 }),
      ).status,
    ).toBe(431);
  });

  test('empty lines before the request line count against the byte limit', () => {
    const error = expectError(parseHead('request', bytes('\r\n'.repeat(20)), { maxHeadBytes: 40 }));
    expect(error.status).toBe(431);
  });

  test('invalid limits are a misuse', () => {
    expect(() => new HeadParser('request', { maxHeadBytes: 0 })).toThrow(/maxHeadBytes/);
    expect(() => new HeadParser('request', { maxHeaders: 1.5 })).toThrow(/maxHeaders/);
  });
});

describe('malformed heads (400)', () => {
  test.each([
    ['GET / HTTP/1.1\nHost: a\r\n\r\n', /bare LF/],
    ['GET / HTTP/1.1\rHost: a\r\n\r\n', /CR not followed by LF/],
    ['GET / HTTP/1.1\r\nHost: a\r\n folded\r\n\r\n', /folding/],
    ['GET / HTTP/1.1\r\nHost : a\r\n\r\n', /invalid header field name/],
    ['GET / HTTP/1.1\r\nHost a\r\n\r\n', /without a colon/],
    ['GET / HTTP/1.1\r\n: a\r\n\r\n', /invalid header field name/],
    ['GET / HTTP/1.1\r\nX: a\0b\r\n\r\n', /invalid character/],
    ['GET / HTTP/1.1\r\nX: a\x7fb\r\n\r\n', /invalid character/],
    ['GET /  HTTP/1.1\r\n\r\n', /request line/],
    ['GET /\r\n\r\n', /request line/],
    ['G(T / HTTP/1.1\r\n\r\n', /method/],
    [' / HTTP/1.1\r\n\r\n', /method/],
    ['GET / HTTP/1.10\r\n\r\n', /version/],
    ['GET / http/1.1\r\n\r\n', /version/],
    ['GET / HTTP/1.1 \r\n\r\n', /version/],
    ['GET /\x80 HTTP/1.1\r\n\r\n', /request target/],
  ])('request %j', (input, reason) => {
    const error = expectError(parseHead('request', bytes(input)));
    expect(error.status).toBe(400);
    expect(error.reason).toMatch(reason);
  });

  test.each([
    ['\r\n', /empty status line/],
    ['HTTP/1.1\r\n\r\n', /status line/],
    ['HTTP/1.1 1O1 Switching\r\n\r\n', /status code/],
    ['HTTP/1.1 1011\r\n\r\n', /status code/],
    ['HTTP/1.1 101 A\x01B\r\n\r\n', /reason phrase/],
    ['HTTP/1.1 101 OK\r\nX\r\n\r\n', /colon/],
  ])('response %j', (input, reason) => {
    const error = expectError(parseHead('response', bytes(input)));
    expect(error.status).toBe(400);
    expect(error.reason).toMatch(reason);
  });

  test('a status line without a reason phrase is tolerated', () => {
    const { head } = expectHead(parseHead('response', bytes('HTTP/1.1 101\r\n\r\n')));
    expect(head.status).toBe(101);
    expect(head.statusText).toBe('');
  });

  test('header values keep inner spaces and obs-text, and lose surrounding whitespace', () => {
    const { head } = expectHead(
      parseHead('request', bytes('GET / HTTP/1.1\r\nX: \t a  b\xe9 \t\r\nY:\r\n\r\n')),
    );
    expect(head.headers).toEqual([
      ['X', 'a  b\xe9'],
      ['Y', ''],
    ]);
  });
});

describe('header helpers', () => {
  const head: HttpHead = {
    version: '1.1',
    headers: [
      ['Connection', 'keep-alive'],
      ['X', '1'],
      ['CONNECTION', 'Upgrade'],
    ],
  };

  test('get is case-insensitive and joins repeats with ", " (RFC 7230 3.2.2)', () => {
    expect(get(head, 'connection')).toBe('keep-alive, Upgrade');
    expect(getHeaderValues(head, 'Connection')).toEqual(['keep-alive', 'Upgrade']);
    expect(get(head, 'missing')).toBeUndefined();
  });

  test('headerHasToken compares list elements case-insensitively', () => {
    expect(headerHasToken(head, 'connection', 'upgrade')).toBe(true);
    expect(headerHasToken(head, 'connection', 'close')).toBe(false);
    expect(headerHasToken(head, 'x', '1')).toBe(true);
  });

  test('countHeader and firstHeader agree with getHeaderValues, for any names and case', () => {
    const name = fc.constantFrom('Host', 'host', 'HOST', 'Upgrade', 'X-A', 'x-a', 'x-b');
    fc.assert(
      fc.property(
        fc.array(fc.tuple(name, fc.string({ maxLength: 5 })), { maxLength: 8 }),
        name,
        (fields, want) => {
          const h: HttpHead = { version: '1.1', headers: fields };
          const values = getHeaderValues(h, want);
          expect(countHeader(h, want)).toBe(values.length);
          expect(firstHeader(h, want)).toBe(values[0]);
        },
      ),
      FC,
    );
  });

  test('equalsIgnoringAsciiCase folds A-Z only', () => {
    expect(equalsIgnoringAsciiCase('Sec-WebSocket-Key', 'sec-websocket-KEY')).toBe(true);
    expect(equalsIgnoringAsciiCase('a', 'ab')).toBe(false);
    // '@' and '`', '[' and '{' differ by 0x20 too, but are not letters.
    expect(equalsIgnoringAsciiCase('@[', '`{')).toBe(false);
    expect(equalsIgnoringAsciiCase('\u00c9', '\u00e9')).toBe(false);
  });

  test('headerHasToken agrees with splitList for any list, quotes and commas included', () => {
    const piece = fc.constantFrom('upgrade', 'UpGrade', 'keep-alive', ' ', ',', '"', '\\', 'a', '\t', ';');
    fc.assert(
      fc.property(fc.array(piece, { maxLength: 12 }), (pieces) => {
        const value = pieces.join('');
        const h: HttpHead = { version: '1.1', headers: [['Connection', value]] };
        const expected = splitList(value).some((e) => e.toLowerCase() === 'upgrade');
        expect(headerHasToken(h, 'connection', 'Upgrade')).toBe(expected);
      }),
      { ...FC, numRuns: FC.numRuns * 10 },
    );
  });

  test.each([
    ['a, b,c', ['a', 'b', 'c']],
    [' , a ,, \t,b , ', ['a', 'b']],
    ['a="x, y", b', ['a="x, y"', 'b']],
    ['a="x\\", y", b', ['a="x\\", y"', 'b']],
    ['a="unterminated, b', ['a="unterminated, b']],
    ['', []],
  ])('splitList(%j)', (value, elements) => {
    expect(splitList(value)).toEqual(elements);
  });

  test('splitList handles a long hostile value (commas, quotes, spaces)', () => {
    const value = ', "'.repeat(5000);
    const elements = splitList(value);
    expect(elements.join('')).not.toContain(',,');
    expect(splitList(' ,'.repeat(8000))).toEqual([]);
    expect(splitList('a\\",'.repeat(4000))).toHaveLength(1);
  });

  test('isToken', () => {
    expect(isToken('permessage-deflate')).toBe(true);
    expect(isToken("!#$%&'*+-.^_`|~09AZaz")).toBe(true);
    for (const bad of ['', 'a b', 'a,b', 'a"', 'a;', 'a=b', '\u00e9', 'a/b'])
      expect(isToken(bad)).toBe(false);
  });

  test('headFromRaw builds a head from Node-style rawHeaders', () => {
    const built = headFromRaw({
      method: 'GET',
      target: '/a',
      version: '1.1',
      rawHeaders: ['Host', 'h', 'X', '1', 'x', '2'],
    });
    expect(built).toEqual({
      method: 'GET',
      target: '/a',
      version: '1.1',
      headers: [
        ['Host', 'h'],
        ['X', '1'],
        ['x', '2'],
      ],
    });
    expect(headFromRaw({ status: 101, version: 'HTTP/1.1', rawHeaders: [] }).version).toBe('1.1');
  });
});
