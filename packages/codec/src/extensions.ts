// Sec-WebSocket-Extensions (RFC 6455 section 9.1):
//   extension-list  = 1#extension
//   extension       = extension-token *( ";" extension-param )
//   extension-param = token [ "=" (token | quoted-string) ]
// A quoted value must be a token once unescaped. One left-to-right pass with a cursor: linear time,
// no regular expressions on peer data.

import { isToken, isTokenChar } from './http.js';

export interface ExtensionParam {
  name: string;
  /** Unquoted value, or null when the parameter has none. */
  value: string | null;
}

/** One extension (an offer in a request, an acceptance in a response), with its parameters in order. */
export interface Extension {
  name: string;
  params: ExtensionParam[];
}

export type ExtensionListResult = { ok: true; extensions: Extension[] } | { ok: false; reason: string };

/**
 * Parses one Sec-WebSocket-Extensions value. Empty list elements are tolerated (RFC 7230 7);
 * anything else off the grammar is an error. The same extension may appear more than once (offers).
 */
export function parseExtensions(value: string): ExtensionListResult {
  const extensions: Extension[] = [];
  const n = value.length;
  let i = 0;
  const skipOws = (): void => {
    while (i < n && isOws(value.charCodeAt(i))) i++;
  };
  const readToken = (): string => {
    const start = i;
    while (i < n && isTokenChar(value.charCodeAt(i))) i++;
    return value.slice(start, i);
  };
  const fail = (what: string): ExtensionListResult => ({
    ok: false,
    reason: `invalid Sec-WebSocket-Extensions: ${what} at offset ${i}`,
  });

  for (;;) {
    skipOws();
    if (i >= n) break;
    if (value.charCodeAt(i) === 0x2c) {
      i++;
      continue;
    }
    const name = readToken();
    if (name === '') return fail('expected an extension name');
    const params: ExtensionParam[] = [];
    skipOws();
    while (i < n && value.charCodeAt(i) === 0x3b) {
      i++;
      skipOws();
      const paramName = readToken();
      if (paramName === '') return fail('expected a parameter name');
      skipOws();
      let paramValue: string | null = null;
      if (i < n && value.charCodeAt(i) === 0x3d) {
        i++;
        skipOws();
        if (i < n && value.charCodeAt(i) === 0x22) {
          const quoted = readQuoted(value, i);
          if (quoted === null) return fail('malformed quoted string');
          i = quoted.end;
          if (!isToken(quoted.text)) return fail(`quoted value of ${paramName} is not a token`);
          paramValue = quoted.text;
        } else {
          paramValue = readToken();
          if (paramValue === '') return fail(`expected a value for ${paramName}`);
        }
        skipOws();
      }
      params.push({ name: paramName, value: paramValue });
    }
    if (i < n && value.charCodeAt(i) !== 0x2c) return fail('unexpected character');
    extensions.push({ name, params });
  }
  return { ok: true, extensions };
}

/** Parses every Sec-WebSocket-Extensions header line (each on its own, so a quote never spans lines). */
export function parseExtensionHeaders(values: readonly string[]): ExtensionListResult {
  const extensions: Extension[] = [];
  for (const value of values) {
    const result = parseExtensions(value);
    if (!result.ok) return result;
    extensions.push(...result.extensions);
  }
  return { ok: true, extensions };
}

/** Formats extensions for a Sec-WebSocket-Extensions header. Names and values must be tokens. */
export function formatExtensions(extensions: readonly Extension[]): string {
  return extensions.map(formatExtension).join(', ');
}

export function formatExtension(extension: Extension): string {
  if (!isToken(extension.name)) {
    throw new Error(`extension name ${JSON.stringify(extension.name)} is not an HTTP token; use letters, digits and -`);
  }
  let out = extension.name;
  for (const param of extension.params) {
    if (!isToken(param.name) || (param.value !== null && !isToken(param.value))) {
      throw new Error(
        `extension parameter ${JSON.stringify(param.name)}=${JSON.stringify(param.value)} is not made of HTTP tokens (RFC 6455 9.1)`,
      );
    }
    out += param.value === null ? `; ${param.name}` : `; ${param.name}=${param.value}`;
  }
  return out;
}

// quoted-string (RFC 7230 3.2.6) starting at value[start] === '"'. Returns the unescaped text and
// the offset after the closing quote, or null when it is unterminated or holds a control character.
function readQuoted(value: string, start: number): { text: string; end: number } | null {
  let text = '';
  let i = start + 1;
  while (i < value.length) {
    const c = value.charCodeAt(i);
    if (c === 0x22) return { text, end: i + 1 };
    if (c === 0x5c) {
      if (i + 1 >= value.length) return null;
      const escaped = value.charCodeAt(i + 1);
      if (!isQuotable(escaped)) return null;
      text += value[i + 1];
      i += 2;
      continue;
    }
    if (!isQuotable(c)) return null;
    text += value[i];
    i++;
  }
  return null;
}

// HTAB / SP / VCHAR / obs-text
function isQuotable(code: number): boolean {
  return code === 0x09 || (code >= 0x20 && code <= 0xff && code !== 0x7f);
}

function isOws(code: number): boolean {
  return code === 0x20 || code === 0x09;
}
