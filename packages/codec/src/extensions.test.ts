import fc from 'fast-check';
import {
  formatExtension,
  formatExtensions,
  parseExtensionHeaders,
  parseExtensions,
  type Extension,
} from './extensions.js';
import { propertySettings } from '@rfc6455/test-support';

const FC = propertySettings(process.env);

function ok(value: string): Extension[] {
  const result = parseExtensions(value);
  if (!result.ok) throw new Error(`expected ${JSON.stringify(value)} to parse: ${result.reason}`);
  return result.extensions;
}

describe('RFC 6455 9.1: Sec-WebSocket-Extensions grammar', () => {
  test('one extension with a valueless parameter', () => {
    expect(ok('permessage-deflate; client_max_window_bits')).toEqual([
      { name: 'permessage-deflate', params: [{ name: 'client_max_window_bits', value: null }] },
    ]);
  });

  test('several offers, duplicates allowed, token and quoted values', () => {
    expect(
      ok(
        'permessage-deflate; server_max_window_bits=10, permessage-deflate;server_max_window_bits="12", x-other',
      ),
    ).toEqual([
      { name: 'permessage-deflate', params: [{ name: 'server_max_window_bits', value: '10' }] },
      { name: 'permessage-deflate', params: [{ name: 'server_max_window_bits', value: '12' }] },
      { name: 'x-other', params: [] },
    ]);
  });

  test('optional whitespace around separators', () => {
    expect(ok(' \tfoo \t; \ta \t= \t1 \t;b\t, bar ')).toEqual([
      {
        name: 'foo',
        params: [
          { name: 'a', value: '1' },
          { name: 'b', value: null },
        ],
      },
      { name: 'bar', params: [] },
    ]);
  });

  test('quoted-pair is unescaped', () => {
    expect(ok('foo; a="1\\0"')).toEqual([{ name: 'foo', params: [{ name: 'a', value: '10' }] }]);
  });

  test('empty list elements are ignored (RFC 7230 7)', () => {
    expect(ok(', foo ,, \t, bar,')).toEqual([
      { name: 'foo', params: [] },
      { name: 'bar', params: [] },
    ]);
    expect(ok('')).toEqual([]);
  });

  test.each([
    [';a', /extension name/],
    ['foo;', /parameter name/],
    ['foo; =1', /parameter name/],
    ['foo; a=', /value for a/],
    ['foo; a= ,', /value for a/],
    ['foo; a="b c"', /not a token/],
    ['foo; a=""', /not a token/],
    ['foo; a="unterminated', /quoted string/],
    ['foo; a="x\\', /quoted string/],
    ['foo; a="\u0001"', /quoted string/],
    ['foo bar', /unexpected character/],
    ['foo; a=b c', /unexpected character/],
    ['foo; a=b=c', /unexpected character/],
    ['foo; a="x"y', /unexpected character/],
    ['foo, ;', /extension name/],
    ['f\u00e9o', /unexpected character/],
    ['"foo"', /extension name/],
  ])('rejects %j', (value, reason) => {
    const result = parseExtensions(value);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.reason).toMatch(reason);
  });

  test('several header lines are parsed one by one and concatenated', () => {
    const result = parseExtensionHeaders(['foo; a=1', 'bar', 'foo']);
    expect(result).toEqual({
      ok: true,
      extensions: [
        { name: 'foo', params: [{ name: 'a', value: '1' }] },
        { name: 'bar', params: [] },
        { name: 'foo', params: [] },
      ],
    });
    // A quote cannot run from one header line into the next.
    expect(parseExtensionHeaders(['foo; a="x', 'y"']).ok).toBe(false);
  });
});

describe('hostile 16 KiB values parse or fail with an answer', () => {
  const K16 = 16 * 1024;
  test.each([
    [','.repeat(K16), true, 0],
    [' '.repeat(K16), true, 0],
    [', '.repeat(K16 / 2), true, 0],
    ['"'.repeat(K16), false, 0],
    [';'.repeat(K16), false, 0],
    ['a;'.repeat(K16 / 2 - 1) + 'a', true, 1],
    ['a,'.repeat(K16 / 2), true, K16 / 2],
    ['a; b="' + '\\"'.repeat(K16 / 2), false, 0],
    ['a; b="' + 'x'.repeat(K16) + '"', true, 1],
    ['a; b="' + 'x'.repeat(K16) + ' "', false, 0],
    ['a ; '.repeat(K16 / 4), false, 0],
    ['a=' + '='.repeat(K16), false, 0],
    ['a; b=' + 'c'.repeat(K16) + ' d', false, 0],
  ])('value %#', (value, parses, count) => {
    const result = parseExtensions(value);
    expect(result.ok).toBe(parses);
    if (result.ok) expect(result.extensions).toHaveLength(count);
  });

  test('a long run of one extension with thousands of parameters', () => {
    const value = 'x' + '; p=1'.repeat(3000);
    const [only] = ok(value);
    expect(only?.params).toHaveLength(3000);
  });

  test('property: random strings over the grammar characters never throw, and what parses formats back to itself', () => {
    const alphabet = fc.constantFrom(',', ' ', '\t', '"', ';', '=', '\\', 'a', 'b', '1', '-');
    fc.assert(
      fc.property(
        fc.array(alphabet, { maxLength: 60 }).map((a) => a.join('')),
        (value) => {
          const result = parseExtensions(value);
          if (result.ok) expect(ok(formatExtensions(result.extensions))).toEqual(result.extensions);
        },
      ),
      FC,
    );
  });
});

describe('formatExtensions', () => {
  test('formats names, valueless and valued parameters', () => {
    expect(
      formatExtensions([
        {
          name: 'permessage-deflate',
          params: [
            { name: 'server_no_context_takeover', value: null },
            { name: 'server_max_window_bits', value: '10' },
          ],
        },
        { name: 'x', params: [] },
      ]),
    ).toBe('permessage-deflate; server_no_context_takeover; server_max_window_bits=10, x');
  });

  test('throws on non-token names or values (caller misuse)', () => {
    expect(() => formatExtension({ name: 'a b', params: [] })).toThrow(/token/);
    expect(() => formatExtension({ name: 'a', params: [{ name: 'b', value: 'c d' }] })).toThrow(/token/);
    expect(() => formatExtension({ name: 'a', params: [{ name: 'b\r\n', value: null }] })).toThrow(/token/);
  });

  test('property: parse(format(x)) = x', () => {
    const token = fc.stringMatching(/^[a-z0-9!#$%&'*+.^_`|~-]{1,8}$/);
    const param = fc.record({ name: token, value: fc.option(token, { nil: null }) });
    const extension = fc.record({ name: token, params: fc.array(param, { maxLength: 4 }) });
    fc.assert(
      fc.property(fc.array(extension, { maxLength: 5 }), (list) => {
        expect(ok(formatExtensions(list))).toEqual(list);
      }),
      FC,
    );
  });
});
