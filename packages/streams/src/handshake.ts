// accept() and connect(): the opening handshake (RFC 6455 4) over a byte stream, by the codec's rules.

import {
  Connection,
  DEFAULT_MAX_HEADERS,
  DEFAULT_MAX_HEAD_BYTES,
  HeadParser,
  acceptServerHandshake,
  buildErrorResponse,
  checkServerResponse,
  createClientRequest,
} from '@rfc6455/codec';
import type {
  HeaderList,
  HttpHead,
  PerMessageDeflate,
  PerMessageDeflateClientOptions,
  PerMessageDeflateParams,
  PerMessageDeflateServerOptions,
} from '@rfc6455/codec';
import { resolveDeflateEngine } from './deflate.js';
import type { DeflateEngine, DeflateRuntimeOptions } from './deflate.js';
import { WebSocket } from './websocket.js';
import type { ByteStream, SocketOptions } from './websocket.js';

export const DEFAULT_HANDSHAKE_TIMEOUT = 10_000;

/** permessage-deflate: the negotiation limits (RFC 7692 7.1) and the compressor's tuning. */
export interface PerMessageDeflateOptions extends DeflateRuntimeOptions {
  serverNoContextTakeover?: boolean;
  clientNoContextTakeover?: boolean;
  /** 8..15 (8 is served with a 9-bit window, which a peer that asked for 8 can read: deflate.ts). */
  serverMaxWindowBits?: number;
  clientMaxWindowBits?: number;
  /** 'auto' (default): node:zlib through @rfc6455/node where it loads, else pako. */
  engine?: DeflateEngine;
}

interface HandshakeOptions extends SocketOptions {
  /** Milliseconds for the whole opening handshake (default 10 000; needs timers). */
  handshakeTimeout?: number;
  /** Largest HTTP head accepted, in bytes (default 16 KiB); more is answered with 431 or fails. */
  maxHeadBytes?: number;
  /** Most header lines accepted (default 100). */
  maxHeaders?: number;
}

export interface AcceptOptions extends HandshakeOptions {
  /** Chooses a subprotocol from the client's offer, as in ws (default: the first offered). */
  handleProtocols?: (protocols: Set<string>, request: HttpHead) => string | false;
  /** Accept permessage-deflate offers (default false, as ws's server). */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
  /** Extra headers for the 101 response. */
  headers?: HeaderList;
}

export interface ConnectOptions extends HandshakeOptions {
  /** Subprotocols to offer, in order of preference. */
  protocols?: string | string[];
  origin?: string;
  /** Extra request headers. */
  headers?: HeaderList;
  /** Offer permessage-deflate (default true, as ws's client). */
  perMessageDeflate?: boolean | PerMessageDeflateOptions;
}

/** Why accept() or connect() failed: a refused handshake (the status is the HTTP answer), or the stream ended. */
export class HandshakeError extends Error {
  override readonly name = 'HandshakeError';
  constructor(
    message: string,
    readonly status: number | null,
  ) {
    super(message);
  }
}

const hasTimers = typeof setTimeout === 'function';

function connectionLimits(options: SocketOptions): { maxFramePayload?: number; maxMessageSize?: number } {
  const max = options.maxPayload;
  if (max === undefined) return {};
  if (!Number.isSafeInteger(max) || max < 0) {
    throw new Error(`maxPayload must be a whole number of bytes, got ${String(max)}`);
  }
  return { maxFramePayload: max, maxMessageSize: max };
}

function checkStream(stream: ByteStream): void {
  if (
    typeof stream !== 'object' ||
    stream === null ||
    typeof stream.readable?.getReader !== 'function' ||
    typeof stream.writable?.getWriter !== 'function'
  ) {
    throw new TypeError('pass { readable, writable }: a ReadableStream and a WritableStream of bytes');
  }
}

/** Reads an HTTP head; resolves with it and the bytes after it, or rejects with a HandshakeError. */
async function readHead(
  reader: ReadableStreamDefaultReader<Uint8Array>,
  parser: HeadParser,
  onRefused: (status: 400 | 431, reason: string) => Promise<void>,
): Promise<{ head: HttpHead; rest: Uint8Array }> {
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new HandshakeError('the stream ended before the handshake was complete', null);
    const parsed = parser.feed(value);
    if (!parsed.done) continue;
    if (!parsed.ok) {
      await onRefused(parsed.status, parsed.reason);
      throw new HandshakeError(parsed.reason, parsed.status);
    }
    return { head: parsed.head, rest: parsed.rest };
  }
}

/** Runs `work` with a deadline; on timeout ends both halves of the stream and rejects. */
async function withDeadline<T>(
  ms: number,
  reader: ReadableStreamDefaultReader<Uint8Array>,
  writer: WritableStreamDefaultWriter<Uint8Array>,
  work: Promise<T>,
): Promise<T> {
  if (!hasTimers) return work;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      reader.cancel().catch(() => {});
      writer.abort().catch(() => {});
      reject(new HandshakeError(`the opening handshake took more than ${ms} ms`, null));
    }, ms);
  });
  try {
    return await Promise.race([work, deadline]);
  } finally {
    clearTimeout(timer);
  }
}

function checkTimeout(value: number | undefined): number {
  if (value === undefined) return DEFAULT_HANDSHAKE_TIMEOUT;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new Error(`handshakeTimeout must be a number of milliseconds >= 0, got ${String(value)}`);
  }
  return value;
}

function negotiationOptions(
  pmd: PerMessageDeflateOptions,
): PerMessageDeflateServerOptions & PerMessageDeflateClientOptions {
  const o: PerMessageDeflateServerOptions & PerMessageDeflateClientOptions = { supportsWindowBits8: true };
  if (pmd.serverNoContextTakeover !== undefined) o.serverNoContextTakeover = pmd.serverNoContextTakeover;
  if (pmd.clientNoContextTakeover !== undefined) o.clientNoContextTakeover = pmd.clientNoContextTakeover;
  if (pmd.serverMaxWindowBits !== undefined) o.serverMaxWindowBits = pmd.serverMaxWindowBits;
  if (pmd.clientMaxWindowBits !== undefined) o.clientMaxWindowBits = pmd.clientMaxWindowBits;
  return o;
}

async function makeDeflate(
  params: PerMessageDeflateParams | null,
  role: 'server' | 'client',
  pmd: PerMessageDeflateOptions,
): Promise<PerMessageDeflate | null> {
  if (params === null) return null;
  const factory = await resolveDeflateEngine(pmd.engine);
  const runtime: DeflateRuntimeOptions = {};
  if (pmd.threshold !== undefined) runtime.threshold = pmd.threshold;
  if (pmd.level !== undefined) runtime.level = pmd.level;
  if (pmd.memLevel !== undefined) runtime.memLevel = pmd.memLevel;
  return factory(params, role, runtime);
}

/**
 * The server side: reads the request head, answers 101 (or an HTTP error, then ends the stream and
 * rejects with a HandshakeError), and resolves with an open WebSocket.
 */
export async function accept(stream: ByteStream, options: AcceptOptions = {}): Promise<WebSocket> {
  checkStream(stream);
  const limits = connectionLimits(options);
  const timeout = checkTimeout(options.handshakeTimeout);
  const pmd = options.perMessageDeflate
    ? options.perMessageDeflate === true
      ? {}
      : options.perMessageDeflate
    : null;
  const headLimits = {
    maxHeadBytes: options.maxHeadBytes ?? DEFAULT_MAX_HEAD_BYTES,
    maxHeaders: options.maxHeaders ?? DEFAULT_MAX_HEADERS,
  };
  const reader = stream.readable.getReader();
  const writer = stream.writable.getWriter();
  const refuse = async (response: Uint8Array): Promise<void> => {
    await writer.write(response).catch(() => {});
    await writer.close().catch(() => {});
    await reader.cancel().catch(() => {});
  };
  const work = (async () => {
    const { head, rest } = await readHead(reader, new HeadParser('request', headLimits), (status, reason) =>
      refuse(buildErrorResponse(status, reason)),
    );
    const handleProtocols = options.handleProtocols;
    const result = acceptServerHandshake(head, {
      ...headLimits,
      ...(handleProtocols
        ? { chooseProtocol: (offered: string[]) => handleProtocols(new Set(offered), head) || null }
        : {}),
      ...(pmd ? { perMessageDeflate: negotiationOptions(pmd) } : {}),
      ...(options.headers ? { headers: options.headers } : {}),
    });
    if (!result.ok) {
      await refuse(result.response);
      throw new HandshakeError(result.reason, result.status);
    }
    const deflate = await makeDeflate(result.perMessageDeflate, 'server', pmd ?? {});
    const conn = new Connection({ role: 'server', perMessageDeflate: deflate, autoPong: false, ...limits });
    void writer.write(result.response).catch(() => {});
    const host = head.headers.find(([name]) => name.toLowerCase() === 'host')?.[1] ?? 'localhost';
    return new WebSocket({
      conn,
      reader,
      writer,
      rest,
      url: `ws://${host}${head.target ?? '/'}`,
      protocol: result.protocol ?? '',
      extensions: result.extensions,
      deflate,
      options,
    });
  })();
  return withDeadline(timeout, reader, writer, work);
}

/**
 * The client side over a stream that is already connected to `url`'s host: sends the upgrade request,
 * checks the answer (RFC 6455 4.1) and resolves with an open WebSocket, or rejects with a HandshakeError.
 */
export async function connect(
  stream: ByteStream,
  url: string | URL,
  options: ConnectOptions = {},
): Promise<WebSocket> {
  checkStream(stream);
  let target: URL;
  try {
    target = new URL(String(url));
  } catch {
    throw new SyntaxError(`Invalid URL: ${String(url)}; use ws://host[:port]/path or wss://...`);
  }
  if (target.protocol === 'http:') target.protocol = 'ws:';
  if (target.protocol === 'https:') target.protocol = 'wss:';
  if (target.protocol !== 'ws:' && target.protocol !== 'wss:') {
    throw new SyntaxError(`The URL's scheme must be ws: or wss:, got ${target.protocol}`);
  }
  if (target.hash !== '') throw new SyntaxError(`The URL must not contain a fragment (${target.hash})`);
  const limits = connectionLimits(options);
  const timeout = checkTimeout(options.handshakeTimeout);
  const pmd =
    options.perMessageDeflate === false
      ? null
      : options.perMessageDeflate === true || options.perMessageDeflate === undefined
        ? {}
        : options.perMessageDeflate;
  const protocols =
    options.protocols === undefined
      ? []
      : typeof options.protocols === 'string'
        ? [options.protocols]
        : options.protocols;
  const request = createClientRequest({
    host: target.host,
    path: target.pathname + target.search,
    protocols,
    ...(options.origin !== undefined ? { origin: options.origin } : {}),
    ...(options.headers ? { headers: options.headers } : {}),
    ...(pmd ? { perMessageDeflate: negotiationOptions(pmd) } : {}),
  });
  const reader = stream.readable.getReader();
  const writer = stream.writable.getWriter();
  const work = (async () => {
    void writer.write(request.request).catch(() => {});
    const parser = new HeadParser('response', {
      maxHeadBytes: options.maxHeadBytes ?? DEFAULT_MAX_HEAD_BYTES,
      maxHeaders: options.maxHeaders ?? DEFAULT_MAX_HEADERS,
    });
    const fail = async (): Promise<void> => {
      await writer.close().catch(() => {});
      await reader.cancel().catch(() => {});
    };
    const { head, rest } = await readHead(reader, parser, fail);
    const checked = checkServerResponse(head, request);
    if (!checked.ok) {
      await fail();
      throw new HandshakeError(
        `the server refused the WebSocket handshake: ${checked.reason}`,
        checked.status ?? null,
      );
    }
    const deflate = await makeDeflate(checked.perMessageDeflate, 'client', pmd ?? {});
    const conn = new Connection({ role: 'client', perMessageDeflate: deflate, autoPong: false, ...limits });
    return new WebSocket({
      conn,
      reader,
      writer,
      rest,
      url: target.href,
      protocol: checked.protocol ?? '',
      extensions: checked.extensions,
      deflate,
      options,
    });
  })();
  return withDeadline(timeout, reader, writer, work);
}
