// RFC 7692: the permessage-deflate extension.
// The interfaces below are the contract between negotiation (this file) and the connection;
// compression itself is injected, so the codec stays free of zlib.

import type { Extension, ExtensionParam } from './extensions.js';

/** Negotiated RFC 7692 parameters, named by the side that they constrain. */
export interface PerMessageDeflateParams {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  /** 8..15; 15 when absent. */
  serverMaxWindowBits: number;
  /** 8..15; 15 when absent. */
  clientMaxWindowBits: number;
}

/** Synchronous raw-DEFLATE compressor for the messages this side sends. */
export interface MessageCompressor {
  /**
   * Compresses a whole message payload and returns the bytes without the trailing 00 00 ff ff
   * (RFC 7692 7.2.1). Context takeover, when negotiated, is the implementation's business.
   */
  compress(data: Uint8Array): Uint8Array;
  /** Frees native resources. */
  close?(): void;
}

/** A failure may carry the engine's own error code (zlib's `Z_DATA_ERROR`, ...): close events pass it on. */
export type InflateResult =
  | { ok: true; data: Uint8Array[] }
  | { ok: false; reason: 'too-big' | 'corrupt'; message: string; code?: string };

/**
 * Synchronous raw-INFLATE for the messages this side receives. Called once per received frame of a
 * compressed message; `fin` is true on the message's last frame, when the implementation appends
 * 00 00 ff ff (RFC 7692 7.2.2). It stops as soon as the output passes `maxOutput` bytes and reports
 * 'too-big'.
 */
export interface MessageDecompressor {
  decompress(data: Uint8Array, fin: boolean, maxOutput: number): InflateResult;
  close?(): void;
}

/** What a connection needs when permessage-deflate was negotiated. */
export interface PerMessageDeflate {
  params: PerMessageDeflateParams;
  compressor: MessageCompressor;
  decompressor: MessageDecompressor;
  /** Messages smaller than this many bytes are sent uncompressed (default 0: compress everything). */
  threshold?: number;
}

// ---------------------------------------------------------------------------------------------
// Negotiation (RFC 7692 section 7.1). Pure functions over parsed Sec-WebSocket-Extensions
// elements (extensions.ts); handshake.ts calls them for both roles.

export const PERMESSAGE_DEFLATE = 'permessage-deflate';

/** What a server accepts. Every field is optional; the defaults accept any valid offer. */
export interface PerMessageDeflateServerOptions {
  /**
   * true: always reset our compression context per message (sends server_no_context_takeover);
   * false: decline offers that ask for it; default: reset only when the client asks.
   */
  serverNoContextTakeover?: boolean;
  /**
   * true: ask the client to reset its context (client_no_context_takeover); false: never ask;
   * default: echo the client's own hint.
   */
  clientNoContextTakeover?: boolean;
  /** Largest LZ77 window (8..15) our compressor uses; we answer server_max_window_bits=min(offered, this). */
  serverMaxWindowBits?: number;
  /**
   * Ask the client to keep its window at or below this (8..15). Offers without client_max_window_bits
   * cannot promise that and are declined.
   */
  clientMaxWindowBits?: number;
  /**
   * Whether the injected compressor honours an 8-bit (256-byte) window. zlib turns windowBits 8 into
   * 9 for raw deflate; its matches still never reach back more than 512 - 262 = 250 bytes, so a
   * zlib-backed compressor may say true. Default false: offers that demand server_max_window_bits=8
   * are declined (we may only answer with a value <= the offered one, RFC 7692 7.1.2.1).
   */
  supportsWindowBits8?: boolean;
}

/** What a client offers and accepts. */
export interface PerMessageDeflateClientOptions {
  /** Ask the server to reset its context per message (server_no_context_takeover). */
  serverNoContextTakeover?: boolean;
  /** Tell the server we reset ours per message (client_no_context_takeover; binding on us). */
  clientNoContextTakeover?: boolean;
  /** Ask the server to keep its window at or below this (server_max_window_bits, 8..15). */
  serverMaxWindowBits?: number;
  /**
   * true (default): offer client_max_window_bits without a value (the server may limit our window);
   * a number 8..15: offer it with that value (our window will not exceed it); false: leave it out.
   */
  clientMaxWindowBits?: number | boolean;
  /** Whether our compressor honours client_max_window_bits=8 (see the server option). Default false. */
  supportsWindowBits8?: boolean;
}

export type DeflateResponseResult =
  { ok: true; params: PerMessageDeflateParams } | { ok: false; reason: string };

// Parameters of one offer or response, after the checks every element must pass.
interface ParsedParams {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: number | null; // null: absent
  clientMaxWindowBits: number | true | null; // true: present without a value; null: absent
}

const PARAM_NAMES = [
  'server_no_context_takeover',
  'client_no_context_takeover',
  'server_max_window_bits',
  'client_max_window_bits',
] as const;

// RFC 7692 7.1: unknown parameters, repeated parameters and invalid values make an offer
// declined (server) or a response fatal (client). `side` says which grammar applies:
// in a response client_max_window_bits needs a value (7.1.2.2).
function parseParams(params: readonly ExtensionParam[], side: 'offer' | 'response'): ParsedParams | string {
  const parsed: ParsedParams = {
    serverNoContextTakeover: false,
    clientNoContextTakeover: false,
    serverMaxWindowBits: null,
    clientMaxWindowBits: null,
  };
  const seen = new Set<string>();
  for (const { name, value } of params) {
    if (!(PARAM_NAMES as readonly string[]).includes(name)) return `unknown parameter ${name}`;
    if (seen.has(name)) return `parameter ${name} given twice`;
    seen.add(name);
    switch (name) {
      case 'server_no_context_takeover':
      case 'client_no_context_takeover':
        if (value !== null) return `${name} must not have a value`;
        if (name === 'server_no_context_takeover') parsed.serverNoContextTakeover = true;
        else parsed.clientNoContextTakeover = true;
        break;
      case 'server_max_window_bits': {
        const bits = value === null ? null : parseWindowBits(value);
        if (bits === null) return `${name} needs a value from 8 to 15`;
        parsed.serverMaxWindowBits = bits;
        break;
      }
      default: {
        // client_max_window_bits
        if (value === null) {
          if (side === 'response') return `${name} needs a value from 8 to 15 in a response`;
          parsed.clientMaxWindowBits = true;
          break;
        }
        const bits = parseWindowBits(value);
        if (bits === null) return `${name} needs a value from 8 to 15`;
        parsed.clientMaxWindowBits = bits;
      }
    }
  }
  return parsed;
}

// RFC 7692 7.1.2: 1*DIGIT without leading zeros, 8..15 ("8", "9", "10" ... "15").
function parseWindowBits(text: string): number | null {
  if (text.length === 1) {
    return text === '8' || text === '9' ? Number(text) : null;
  }
  if (text.length === 2 && text[0] === '1' && text.charCodeAt(1) >= 0x30 && text.charCodeAt(1) <= 0x35) {
    return Number(text);
  }
  return null;
}

function checkBits(where: string, value: unknown, allow8: boolean): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 8 || value > 15) {
    throw new Error(`${where} must be an integer from 8 to 15, got ${String(value)}`);
  }
  if (value === 8 && !allow8) {
    throw new Error(
      `${where} = 8 needs a compressor that honours an 8-bit window: set supportsWindowBits8 (or use 9..15)`,
    );
  }
  return value;
}

/** Throws when server options are out of range (caller misuse). */
export function validateDeflateServerOptions(options: PerMessageDeflateServerOptions): void {
  const allow8 = options.supportsWindowBits8 === true;
  if (options.serverMaxWindowBits !== undefined)
    checkBits('serverMaxWindowBits', options.serverMaxWindowBits, allow8);
  // Our inflater can read any window, so 8 is fine for the client's side.
  if (options.clientMaxWindowBits !== undefined)
    checkBits('clientMaxWindowBits', options.clientMaxWindowBits, true);
}

/** Throws when client options are out of range (caller misuse). */
export function validateDeflateClientOptions(options: PerMessageDeflateClientOptions): void {
  const allow8 = options.supportsWindowBits8 === true;
  if (options.serverMaxWindowBits !== undefined)
    checkBits('serverMaxWindowBits', options.serverMaxWindowBits, true);
  const c = options.clientMaxWindowBits;
  if (c !== undefined && typeof c !== 'boolean') checkBits('clientMaxWindowBits', c, allow8);
}

/**
 * Server side: walks the client's offers in order and accepts the first permessage-deflate offer it
 * can honour (RFC 7692 5.1). Returns the response element and the negotiated parameters, or null
 * when every offer is declined (the connection then runs without compression).
 */
export function acceptDeflateOffers(
  offers: readonly Extension[],
  options: PerMessageDeflateServerOptions = {},
): { response: Extension; params: PerMessageDeflateParams } | null {
  validateDeflateServerOptions(options);
  for (const offer of offers) {
    if (offer.name !== PERMESSAGE_DEFLATE) continue;
    const accepted = acceptOffer(offer, options);
    if (accepted !== null) return accepted;
  }
  return null;
}

function acceptOffer(
  offer: Extension,
  options: PerMessageDeflateServerOptions,
): { response: Extension; params: PerMessageDeflateParams } | null {
  const parsed = parseParams(offer.params, 'offer');
  if (typeof parsed === 'string') return null; // RFC 7692 7.1: decline an invalid offer
  const response: ExtensionParam[] = [];

  // server_no_context_takeover (7.1.1.1)
  //   offered | option     | answer
  //   no      | undefined  | -            (we keep our context)
  //   yes     | undefined  | include      (MUST when accepting such an offer)
  //   any     | true       | include      (MAY, unasked)
  //   yes     | false      | decline the offer
  if (parsed.serverNoContextTakeover && options.serverNoContextTakeover === false) return null;
  const serverNoContextTakeover = parsed.serverNoContextTakeover || options.serverNoContextTakeover === true;
  if (serverNoContextTakeover) response.push({ name: 'server_no_context_takeover', value: null });

  // client_no_context_takeover (7.1.1.2): an offered one is a binding hint from the client.
  //   offered | option    | answer   | client resets its context
  //   no      | undefined | -        | no
  //   yes     | undefined | include  | yes
  //   any     | true      | include  | yes
  //   yes     | false     | -        | yes (its own promise)
  //   no      | false     | -        | no
  const askClientReset =
    options.clientNoContextTakeover === true ||
    (parsed.clientNoContextTakeover && options.clientNoContextTakeover !== false);
  if (askClientReset) response.push({ name: 'client_no_context_takeover', value: null });

  // server_max_window_bits (7.1.2.1): the answer may never exceed the offered value.
  //   offered v | option s | answer
  //   -         | -        | -          (15)
  //   -         | s        | s          (MAY, unasked)
  //   v         | -        | v
  //   v         | s        | min(v, s)
  //   and an answer of 8 without supportsWindowBits8 declines the offer.
  let serverBits = 15;
  const offeredServerBits = parsed.serverMaxWindowBits;
  const limit = options.serverMaxWindowBits;
  if (offeredServerBits !== null || limit !== undefined) {
    serverBits = Math.min(offeredServerBits ?? 15, limit ?? 15);
    if (serverBits === 8 && options.supportsWindowBits8 !== true) return null;
    response.push({ name: 'server_max_window_bits', value: String(serverBits) });
  }

  // client_max_window_bits (7.1.2.2): we may only send it when the client offered it.
  //   offered   | option c | answer
  //   -         | -        | -          (15)
  //   -         | c        | decline the offer (the client cannot promise a smaller window)
  //   yes       | -        | -          (15)
  //   yes       | c        | c
  //   v         | -        | -          (the client keeps to v by itself; 15 is what it may use)
  //   v         | c        | min(v, c)
  let clientBits = 15;
  const offeredClientBits = parsed.clientMaxWindowBits;
  const clientLimit = options.clientMaxWindowBits;
  if (clientLimit !== undefined) {
    if (offeredClientBits === null) return null;
    clientBits = offeredClientBits === true ? clientLimit : Math.min(offeredClientBits, clientLimit);
    response.push({ name: 'client_max_window_bits', value: String(clientBits) });
  }

  return {
    response: { name: PERMESSAGE_DEFLATE, params: response },
    params: {
      serverNoContextTakeover,
      clientNoContextTakeover: askClientReset || parsed.clientNoContextTakeover,
      serverMaxWindowBits: serverBits,
      clientMaxWindowBits: clientBits,
    },
  };
}

/** Client side: the permessage-deflate offer for these options (throws on invalid options). */
export function createDeflateOffer(options: PerMessageDeflateClientOptions = {}): Extension {
  validateDeflateClientOptions(options);
  const params: ExtensionParam[] = [];
  if (options.serverNoContextTakeover === true)
    params.push({ name: 'server_no_context_takeover', value: null });
  if (options.clientNoContextTakeover === true)
    params.push({ name: 'client_no_context_takeover', value: null });
  if (options.serverMaxWindowBits !== undefined) {
    params.push({ name: 'server_max_window_bits', value: String(options.serverMaxWindowBits) });
  }
  const c = options.clientMaxWindowBits ?? true;
  if (c !== false) params.push({ name: 'client_max_window_bits', value: c === true ? null : String(c) });
  return { name: PERMESSAGE_DEFLATE, params };
}

/**
 * Client side: checks the server's permessage-deflate response against what we offered
 * (RFC 7692 7.1) and returns the parameters both sides now use. A failure means the client must
 * fail the connection (RFC 6455 4.1).
 */
export function checkDeflateResponse(
  response: Extension,
  options: PerMessageDeflateClientOptions = {},
): DeflateResponseResult {
  const fail = (why: string): DeflateResponseResult => ({
    ok: false,
    reason: `permessage-deflate response: ${why}`,
  });
  if (response.name !== PERMESSAGE_DEFLATE) return fail(`unexpected extension ${response.name}`);
  const parsed = parseParams(response.params, 'response');
  if (typeof parsed === 'string') return fail(parsed);

  // server_no_context_takeover: MUST be echoed when asked for; MAY come unasked (7.1.1.1).
  if (options.serverNoContextTakeover === true && !parsed.serverNoContextTakeover) {
    return fail('server_no_context_takeover was requested but not confirmed');
  }

  // server_max_window_bits: when we asked for a limit, the answer must be present and not larger (7.1.2.1).
  //   offered s | answer  | result
  //   -         | -       | 15
  //   -         | w       | w
  //   s         | -       | fail
  //   s         | w <= s  | w
  //   s         | w > s   | fail
  let serverBits = parsed.serverMaxWindowBits ?? 15;
  if (options.serverMaxWindowBits !== undefined) {
    if (parsed.serverMaxWindowBits === null)
      return fail('server_max_window_bits was requested but not confirmed');
    if (parsed.serverMaxWindowBits > options.serverMaxWindowBits) {
      return fail(
        `server_max_window_bits=${parsed.serverMaxWindowBits} exceeds the requested ${options.serverMaxWindowBits}`,
      );
    }
    serverBits = parsed.serverMaxWindowBits;
  }

  // client_max_window_bits: only allowed when we offered it (7.1.2.2).
  //   offered | answer | our window
  //   false   | -      | 15 (or less, our choice)
  //   false   | w      | fail
  //   true    | w      | w
  //   v       | w      | min(v, w)
  //   any     | -      | v or 15
  const offeredClient = options.clientMaxWindowBits ?? true;
  let clientBits = typeof offeredClient === 'number' ? offeredClient : 15;
  if (parsed.clientMaxWindowBits !== null) {
    if (offeredClient === false) return fail('client_max_window_bits was not offered');
    const answered = parsed.clientMaxWindowBits as number; // a response always carries a value
    clientBits = Math.min(clientBits, answered);
    if (clientBits === 8 && options.supportsWindowBits8 !== true) {
      return fail(
        'client_max_window_bits=8 cannot be honoured by this compressor (supportsWindowBits8 is not set)',
      );
    }
  }

  return {
    ok: true,
    params: {
      serverNoContextTakeover: parsed.serverNoContextTakeover,
      clientNoContextTakeover: parsed.clientNoContextTakeover || options.clientNoContextTakeover === true,
      serverMaxWindowBits: serverBits,
      clientMaxWindowBits: clientBits,
    },
  };
}
