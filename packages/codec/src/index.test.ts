// The public entry exports exactly the documented API: a name added to index.ts by accident (or
// left out of the README) fails here. internal.ts holds the rest, with no promise.
import fs from 'node:fs';
import path from 'node:path';
import * as api from './index.js';
import * as internal from './internal.js';

const root = path.join(__dirname, '..');
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
const source = (file: string) => fs.readFileSync(path.join(__dirname, file), 'utf8');

/** Every value of '@rfc6455/codec' (types leave nothing at run time; they are read from index.ts). */
const PUBLIC_VALUES = [
  'CloseCode',
  'Connection',
  'DEFAULT_LIMITS',
  'DEFAULT_MAX_HEADERS',
  'DEFAULT_MAX_HEAD_BYTES',
  'HeadParser',
  'MAX_CLOSE_REASON_BYTES',
  'MAX_CONTROL_PAYLOAD',
  'MAX_PENDING_PONGS',
  'PROTOCOL_ERRORS',
  'PreparedMessage',
  'STATUS_TEXT',
  'Utf8Validator',
  'HANDSHAKE_ERRORS',
  'EXTENDED_CONNECT_ERRORS',
  'acceptExtendedConnect',
  'checkExtendedConnectResponse',
  'createExtendedConnectRequest',
  'WEBSOCKET_GUID',
  'acceptDeflateOffers',
  'acceptServerHandshake',
  'buildErrorResponse',
  'buildHttpResponse',
  'checkDeflateResponse',
  'checkServerResponse',
  'computeAccept',
  'countHeader',
  'createClientRequest',
  'createDeflateOffer',
  'decodeClosePayload',
  'decodeUtf8',
  'encodeClosePayload',
  'encodeUtf8',
  'equalsIgnoringAsciiCase',
  'firstHeader',
  'formatExtensions',
  'getHeader',
  'getHeaderValues',
  'headFromRaw',
  'headerHasToken',
  'isToken',
  'isValidCloseCode',
  'isValidHeaderValue',
  'isValidUtf8',
  'parseExtensionHeaders',
  'parseExtensions',
  'parseHead',
  'resolveLimits',
  'splitList',
  'validateDeflateClientOptions',
  'validateDeflateServerOptions',
];

const PUBLIC_TYPES = [
  'CloseEvent',
  'CloseInitiator',
  'ClientHandshakeResult',
  'ClientRequest',
  'ClientRequestOptions',
  'HandshakeErrorKind',
  'ExtendedConnectErrorKind',
  'ExtendedConnectRequest',
  'ExtendedConnectRequestOptions',
  'ExtendedConnectResult',
  'FieldList',
  'ClosePayload',
  'ConnectionOptions',
  'ConnectionState',
  'DeflateResponseResult',
  'Event',
  'Extension',
  'ExtensionListResult',
  'ExtensionParam',
  'HeadLimits',
  'HeadParseResult',
  'HeaderList',
  'HttpHead',
  'InflateResult',
  'Limits',
  'MessageCompressor',
  'MessageDecompressor',
  'PerMessageDeflate',
  'PerMessageDeflateClientOptions',
  'PerMessageDeflateParams',
  'PerMessageDeflateServerOptions',
  'PrepareMessageOptions',
  'ProtocolErrorKind',
  'Role',
  'SendMessageOptions',
  'ServerHandshakeOptions',
  'ServerHandshakeResult',
  'SharedDeflate',
  'Utf8State',
];

/** The names in the `export type { ... }` lists of a source file. */
function typeExports(text: string): string[] {
  const names: string[] = [];
  for (const match of text.matchAll(/export type \{([^}]*)\}/g)) {
    for (const name of match[1]!.split(',')) if (name.trim() !== '') names.push(name.trim());
  }
  return names.sort();
}

/** Code in markdown: fenced blocks and inline code spans, where API names are written. */
function codeOf(markdown: string): string {
  return [...markdown.matchAll(/```[a-z]*\n([\s\S]*?)```|`([^`\n]+)`/g)]
    .map((match) => match[1] ?? match[2])
    .join('\n');
}

/** The README's API documentation: all of it but the Stability section, which names internals. */
const stability = readme.indexOf('## Stability');
const readmeCode = codeOf(readme.slice(0, stability) + readme.slice(readme.indexOf('\n## ', stability + 1)));

function documented(name: string): boolean {
  return new RegExp(`\\b${name}\\b`).test(readmeCode);
}

describe('the public entry', () => {
  test('exports exactly the listed values', () => {
    expect(Object.keys(api).sort()).toEqual([...PUBLIC_VALUES].sort());
  });

  test('exports exactly the listed types', () => {
    expect(typeExports(source('index.ts'))).toEqual([...PUBLIC_TYPES].sort());
  });

  test('every public name is in the README', () => {
    expect([...PUBLIC_VALUES, ...PUBLIC_TYPES].filter((name) => !documented(name))).toEqual([]);
  });

  test('one name per thing: no synonyms', () => {
    const values = Object.values(api);
    expect(new Set(values).size).toBe(values.length);
  });
});

describe('./internal', () => {
  test('is not documented as public API', () => {
    expect(stability).toBeGreaterThan(0);
    expect(Object.keys(internal).filter(documented)).toEqual([]);
  });

  test('shares no name with the public entry', () => {
    const names = [...Object.keys(internal), ...typeExports(source('internal.ts'))];
    expect(names.filter((name) => PUBLIC_VALUES.includes(name) || PUBLIC_TYPES.includes(name))).toEqual([]);
  });

  test('is exported by package.json like the main entry', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as {
      exports: Record<string, unknown>;
    };
    expect(pkg.exports['./internal']).toEqual({
      types: './dist/internal.d.ts',
      default: './dist/internal.js',
    });
  });
});
