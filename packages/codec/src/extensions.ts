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
  for (;;) {
    i = skipOws(value, i);
    if (i >= n) break;
    if (value.charCodeAt(i) === 0x2c) {
      i++;
      continue;
    }
    let end = tokenEnd(value, i);
    if (end === i) return failAt('expected an extension name', i);
    const name = value.slice(i, end);
    const params: ExtensionParam[] = [];
    i = skipOws(value, end);
    while (i < n && value.charCodeAt(i) === 0x3b) {
      i = skipOws(value, i + 1);
      end = tokenEnd(value, i);
      if (end === i) return failAt('expected a parameter name', i);
      const paramName = value.slice(i, end);
      i = skipOws(value, end);
      let paramValue: string | null = null;
      if (i < n && value.charCodeAt(i) === 0x3d) {
        i = skipOws(value, i + 1);
        if (i < n && value.charCodeAt(i) === 0x22) {
          const quoted = readQuoted(value, i);
          if (quoted === null) return failAt('malformed quoted string', i);
          if (!isToken(quoted.text)) return failAt(`quoted value of ${paramName} is not a token`, i);
          paramValue = quoted.text;
          i = quoted.end;
        } else {
          end = tokenEnd(value, i);
          if (end === i) return failAt(`expected a value for ${paramName}`, i);
          paramValue = value.slice(i, end);
          i = end;
        }
        i = skipOws(value, i);
      }
      params.push({ name: paramName, value: paramValue });
    }
    if (i < n && value.charCodeAt(i) !== 0x2c) return failAt('unexpected character', i);
    extensions.push({ name, params });
  }
  return { ok: true, extensions };
}

function failAt(what: string, offset: number): ExtensionListResult {
  return { ok: false, reason: `invalid Sec-WebSocket-Extensions: ${what} at offset ${offset}` };
}

function skipOws(value: string, i: number): number {
  while (i < value.length && isOws(value.charCodeAt(i))) i++;
  return i;
}

function tokenEnd(value: string, i: number): number {
  while (i < value.length && isTokenChar(value.charCodeAt(i))) i++;
  return i;
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
    throw new Error(
      `extension name ${JSON.stringify(extension.name)} is not an HTTP token; use letters, digits and -`,
    );
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
  let from = start + 1; // start of the run of plain characters not yet copied
  for (let i = from; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x22) return { text: text + value.slice(from, i), end: i + 1 };
    if (c === 0x5c) {
      if (i + 1 >= value.length || !isQuotable(value.charCodeAt(i + 1))) return null;
      text += value.slice(from, i);
      from = ++i; // the escaped char starts the next run
    } else if (!isQuotable(c)) {
      return null;
    }
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
