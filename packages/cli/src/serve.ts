import { readFileSync } from 'node:fs';
import cluster from 'node:cluster';
import { createServer } from 'node:http';
import { createSecureServer } from 'node:http2';
import type { Http2SecureServer, ServerHttp2Session } from 'node:http2';
import { parseArgs } from 'node:util';
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ExitCode, UsageError, integer, usage } from './args.js';
import type { Io } from './args.js';
import { staticFiles } from './static-files.js';
import { selfSignedCertificate } from './tls.js';
import { WebSocket, WebSocketServer } from './transport.js';
import type { Broker } from '@rfc6455/node';

export const serveHelp = `Usage: rfc6455 serve [options]

Serves WebSocket connections, and static files on the same port.

Options:
  --port N           port to listen on (default 8000; 0 picks a free one)
  --host H           address to listen on (default 127.0.0.1)
  --mode M           echo:      each message goes back to its sender (default)
                     broadcast: each message goes to every connected client, sender included
                                (published to the topic 'room', framed once for all)
                     demo:      broadcast, permessage-deflate, and the demo page over HTTP
  --static DIR       serve the files in DIR over HTTP (demo mode: the bundled demo page)
  --path P           accept WebSocket connections on this path only (default /)
  --protocol P       a subprotocol the server accepts (repeatable; demo mode: chat)
  --deflate          negotiate permessage-deflate (RFC 7692) when the client offers it
  --max-payload N    largest message accepted, in bytes (default 64 MiB); larger ones close with 1009
  --max-buffered N   a client with more than N bytes waiting to be sent (one that does not read)
                     is closed with 1008 instead of being sent more (default 16 MiB)
  --tls-cert FILE    serve HTTPS and wss: with this PEM certificate (and --tls-key), over HTTP/2
                     (HTTP/1.1 too): browsers open their WebSockets on the page's own HTTP/2
                     connection (RFC 8441 extended CONNECT)
  --tls-key FILE     the certificate's PEM private key
  --tls-self-signed  as --tls-cert/--tls-key, with a certificate for localhost and 127.0.0.1 made
                     now with openssl (browsers warn about it: for trying things out)
  --redis URL        broadcast and demo modes: share the room with every server pointed at the same
                     Redis (redis://127.0.0.1:6379), through Redis pub/sub (@rfc6455/redis)
  --workers N        run N processes on the one port (node:cluster; needs --redis in broadcast and
                     demo modes, so that the processes share the room)
  --allow-origin O   let pages from origin O (e.g. https://example.com:8443) connect (repeatable;
                     '*' for any). Demo mode, and any mode given this flag, checks Origin: only
                     http://localhost:PORT, http://127.0.0.1:PORT and these may connect (403 for
                     others; clients that send no Origin are not browsers and pass). Demo mode also
                     answers 403 to a Host that is not a loopback name or --host (DNS rebinding),
                     unless '*' is given.
  -h, --help         show this help

Ctrl-C (SIGINT) or SIGTERM closes every connection with 1001 (going away) and exits 0.
Exit codes: 0 after a graceful shutdown, 1 when the server cannot start, 2 for a usage error.`;

export type Mode = 'echo' | 'broadcast' | 'demo';

export interface ServeOptions {
  port: number;
  host: string;
  mode: Mode;
  /** Directory served over HTTP; null answers plain HTTP requests with 426 Upgrade Required. */
  staticDir: string | null;
  path: string;
  /** Subprotocols accepted, in the server's order of preference. */
  protocols: string[];
  deflate: boolean;
  maxPayload: number;
  maxBuffered: number;
  /**
   * Origins allowed besides the server's own (--allow-origin; '*' for any). Demo mode checks Origin
   * and Host always; other modes check Origin only when this is non-empty.
   */
  allowOrigins?: string[];
  /** PEM key and certificate: HTTPS with HTTP/2 (and HTTP/1.1), wss:; null or absent: plain HTTP. */
  tls?: { key: Buffer; cert: Buffer } | null;
  /** Redis URL for the room (broadcast, demo), or null: this process only. */
  redis?: string | null;
  /** Processes on the port (node:cluster); 1: this one. */
  workers?: number;
  /** Where to write one-line notes about connections (default: nowhere). */
  log?: (line: string) => void;
}

export const defaults = {
  port: 8000,
  host: '127.0.0.1',
  maxPayload: 64 * 1024 * 1024,
  maxBuffered: 16 * 1024 * 1024,
} as const;

export interface RunningServer {
  /** node:http's server, or with `tls` node:http2's secure server (allowHTTP1). */
  readonly http: Server | Http2SecureServer;
  readonly wss: WebSocketServer;
  readonly port: number;
  /** Page URL, e.g. http://localhost:8000/ */
  readonly httpUrl: string;
  /** WebSocket URL, e.g. ws://localhost:8000 */
  readonly wsUrl: string;
  /** Says 1001 to every client, waits for them (at most `graceMs`), then closes the listener. */
  close(graceMs?: number): Promise<void>;
}

function displayHost(host: string): string {
  // Loopback and wildcard addresses are reachable as localhost, the name people type.
  if (['127.0.0.1', '::1', 'localhost', '0.0.0.0', '::', ''].includes(host)) return 'localhost';
  return host.includes(':') ? `[${host}]` : host;
}

function describe(req: IncomingMessage): string {
  return `${req.socket.remoteAddress ?? '?'}:${req.socket.remotePort ?? '?'}`;
}

// Cross-site WebSocket hijacking (RFC 6455 10.2): any page the user visits can open a WebSocket to
// localhost, with the user's cookies; only its Origin tells it apart. DNS rebinding: a page at
// http://evil.example:PORT whose name resolves to 127.0.0.1 is same-origin with itself, so its Host
// (evil.example) gives it away. The guard checks both.
interface Guard {
  /** Why the request's Host is refused, or null. */
  host(req: IncomingMessage): string | null;
  /** Why the request's Origin is refused, or null. */
  origin(req: IncomingMessage): string | null;
}

const WILDCARD_HOSTS = ['0.0.0.0', '::', ''];

/** The serialized origin of `text` (scheme and host lowercased, default port dropped), or null. */
function serializedOrigin(text: string): string | null {
  try {
    const origin = new URL(text).origin;
    return origin === 'null' ? null : origin;
  } catch {
    return null;
  }
}

/** The host name of a Host value (`[::1]:8000` -> `[::1]`, `LocalHost:80` -> `localhost`). */
function hostName(host: string): string {
  const end = host.startsWith('[') ? host.indexOf(']') + 1 : host.lastIndexOf(':');
  return (end > 0 ? host.slice(0, end) : host).toLowerCase();
}

/** A name that always means this machine: DNS cannot rebind it to another. */
function isLoopbackName(name: string): boolean {
  return (
    name === 'localhost' ||
    name.endsWith('.localhost') ||
    name === '[::1]' ||
    /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(name)
  );
}

function makeGuard(options: ServeOptions, port: number): Guard | null {
  const extra = options.allowOrigins ?? [];
  const demo = options.mode === 'demo';
  if (!demo && extra.length === 0) return null;
  if (extra.includes('*')) return null;
  const configured = WILDCARD_HOSTS.includes(options.host)
    ? null
    : options.host.includes(':')
      ? `[${options.host.toLowerCase()}]`
      : options.host.toLowerCase();
  const scheme = options.tls ? 'https' : 'http';
  const allowed = new Set([`${scheme}://localhost:${port}`, `${scheme}://127.0.0.1:${port}`]);
  if (configured !== null) allowed.add(`${scheme}://${configured}:${port}`);
  for (const origin of extra) allowed.add(serializedOrigin(origin)!);
  // HTTP/2 names the host in :authority (RFC 9113 8.3.1), HTTP/1.1 in Host.
  const hostOf = (req: IncomingMessage): string =>
    req.headers.host ?? (req.headers[':authority'] as string | undefined) ?? '';
  return {
    host(req) {
      if (!demo) return null;
      const name = hostName(hostOf(req));
      if (isLoopbackName(name) || name === configured) return null;
      return `Host ${hostOf(req).slice(0, 100)} is not this server's name (use localhost)`;
    },
    origin(req) {
      const origin = req.headers.origin;
      if (origin === undefined) return null; // not a browser
      const serialized = serializedOrigin(origin);
      if (serialized !== null && allowed.has(serialized)) return null;
      // The page's own origin, when it was reached by a loopback name (localhost.:PORT, [::1]:PORT).
      const host = hostOf(req);
      if (isLoopbackName(hostName(host)) && serialized === serializedOrigin(`${scheme}://${host}`))
        return null;
      return `Origin ${origin.slice(0, 100)} is not allowed to connect (rfc6455 serve --allow-origin ORIGIN lets it)`;
    },
  };
}

/** The topic of broadcast and demo modes. */
export const ROOM = 'room';

async function redisBroker(
  url: string,
  log: (line: string) => void,
): Promise<Broker & { close(): Promise<void> }> {
  // Loaded only when asked for: the other modes need no Redis client.
  const { RedisBroker } = await import('@rfc6455/redis');
  const broker = new RedisBroker(url);
  let down = false;
  broker.on('error', (error: Error) => {
    if (!down) log(`redis: ${error.message} (reconnecting; the room is this process's until then)`);
    down = true;
  });
  broker.on('ready', () => {
    if (down) log('redis: connected again');
    down = false;
  });
  if (!(await broker.ready()))
    log(`redis: ${url} not reachable yet; serving this process's clients meanwhile`);
  return broker;
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const log = options.log ?? (() => {});
  const broker = options.redis ? await redisBroker(options.redis, log) : null;
  const handler: (req: IncomingMessage, res: ServerResponse) => void =
    options.staticDir !== null
      ? staticFiles(options.staticDir)
      : (_req, res) => {
          // RFC 6455 4.2.2: a plain HTTP request to a WebSocket endpoint.
          res.writeHead(426, { 'content-type': 'text/plain; charset=utf-8', upgrade: 'websocket' });
          res.end('This is a WebSocket server: connect with a WebSocket client.\n');
        };
  let guard: Guard | null = null; // set once the port is known
  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const refused = guard?.host(req) ?? null;
    if (refused !== null) {
      // HTTP/2 has no Connection header (RFC 9113 8.2.2).
      const close: Record<string, string> = req.httpVersionMajor === 1 ? { connection: 'close' } : {};
      res.writeHead(403, { 'content-type': 'text/plain; charset=utf-8', ...close });
      res.end(`${refused}\n`);
      return;
    }
    handler(req, res);
  };
  // With TLS: HTTP/2 and HTTP/1.1 on one port (ALPN); the WebSocketServer takes both kinds of handshake.
  const sessions = new Set<ServerHttp2Session>();
  const http: Server | Http2SecureServer = options.tls
    ? createSecureServer(
        { key: options.tls.key, cert: options.tls.cert, allowHTTP1: true },
        onRequest as never,
      )
    : createServer(onRequest);
  if (options.tls) {
    (http as Http2SecureServer).on('session', (session: ServerHttp2Session) => {
      sessions.add(session);
      session.on('close', () => sessions.delete(session));
    });
  }
  await new Promise<void>((resolve, reject) => {
    const onError = (error: NodeJS.ErrnoException): void => {
      http.off('listening', onListening);
      reject(listenError(error, options));
    };
    const onListening = (): void => {
      http.off('error', onError);
      resolve();
    };
    http.once('error', onError);
    http.once('listening', onListening);
    http.listen(options.port, options.host);
  });

  guard = makeGuard(options, (http.address() as AddressInfo).port);
  const checks = guard;

  // Attached once listening, so that a listen error is ours to report, not the WebSocket server's.
  const wss = new WebSocketServer({
    ...(checks === null
      ? {}
      : {
          verifyClient: (
            info: { req: IncomingMessage },
            done: (ok: boolean, code?: number, message?: string) => void,
          ) => {
            const refused = checks.host(info.req) ?? checks.origin(info.req);
            if (refused === null) done(true);
            else {
              log(`refused ${describe(info.req)}: ${refused}`);
              done(false, 403, refused);
            }
          },
        }),
    server: http,
    path: options.path,
    perMessageDeflate: options.deflate,
    maxPayload: options.maxPayload,
    // A client that does not read would make the server buffer every message for it: past the
    // bound, the library closes it (1008, RFC 6455 7.4.1) instead of sending it more.
    maxBufferedAmount: options.maxBuffered,
    // How long a closing handshake (a slow client's among them) may take before the connection is destroyed.
    closeTimeout: 5000,
    handleProtocols: (offered: Set<string>) => options.protocols.find((p) => offered.has(p)) ?? false,
    ...(broker === null ? {} : { topics: { broker } }),
  });
  wss.on('brokerError', (error: Error) => log(`not sent to other processes: ${error.message}`));

  wss.on('error', (error: Error) => log(`server error: ${error.message}`));

  // Tracked by the WebSocket server (clientTracking is on by default).
  const clients = (): Set<WebSocket> => wss.clients ?? new Set();

  wss.on('connection', (ws: WebSocket, req: IncomingMessage) => {
    const who = describe(req);
    log(`open  ${who} (${clients().size} connected)`);
    // The room is a topic: one frame per message for every client (and through Redis, every process).
    // A client over --max-buffered is closed with 1008 (maxBufferedAmount), the others are not held up.
    if (options.mode !== 'echo') ws.subscribe(ROOM);
    ws.on('message', (data: unknown, isBinary: boolean) => {
      if (options.mode === 'echo') ws.send(data as Uint8Array, { binary: isBinary });
      else wss.publish(ROOM, data as Uint8Array, { binary: isBinary });
    });
    ws.on('close', (code: number, reason: Uint8Array) => {
      log(`close ${who} ${code} ${Buffer.from(reason).toString()}`.trimEnd());
    });
    ws.on('error', (error: Error) => log(`error ${who}: ${error.message}`));
  });

  const port = (http.address() as AddressInfo).port;
  const host = displayHost(options.host);
  const wsPath = options.path === '/' ? '' : options.path;
  const secure = options.tls ? 's' : '';
  let closing: Promise<void> | null = null;

  return {
    http,
    wss,
    port,
    httpUrl: `http${secure}://${host}:${port}/`,
    wsUrl: `ws${secure}://${host}:${port}${wsPath}`,
    close(graceMs = 5000) {
      closing ??= shutDown(http, sessions, wss, graceMs).then(() => broker?.close());
      return closing;
    },
  };
}

async function shutDown(
  http: Server | Http2SecureServer,
  sessions: Set<ServerHttp2Session>,
  wss: WebSocketServer,
  graceMs: number,
): Promise<void> {
  const stopped = new Promise<void>((resolve) => http.close(() => resolve()));
  if ('closeIdleConnections' in http) http.closeIdleConnections();
  // RFC 6455 7.4.1: 1001, the endpoint is going away.
  const closed = [...(wss.clients ?? [])].map(
    (client) =>
      new Promise<void>((resolve) => {
        if (client.readyState === WebSocket.CLOSED) return resolve();
        client.once('close', () => resolve());
        if (client.readyState === WebSocket.OPEN) client.close(1001, 'server shutting down');
      }),
  );
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), graceMs);
  });
  if ((await Promise.race([Promise.all(closed), deadline])) === 'late') {
    for (const client of wss.clients ?? []) client.terminate();
  }
  clearTimeout(timer);
  await new Promise<void>((resolve) => wss.close(() => resolve()));
  if ('closeAllConnections' in http) http.closeAllConnections();
  for (const session of sessions) session.destroy();
  await stopped;
}

function listenError(error: NodeJS.ErrnoException, options: ServeOptions): Error {
  const where = `${options.host}:${options.port}`;
  switch (error.code) {
    case 'EADDRINUSE':
      return new Error(
        `port ${options.port} on ${options.host} is already in use (pick another with --port, or 0 for any free one)`,
      );
    case 'EACCES':
      return new Error(`not allowed to listen on ${where} (ports below 1024 need privileges)`);
    case 'EADDRNOTAVAIL':
    case 'ENOTFOUND':
      return new Error(`cannot listen on ${where}: no such local address`);
    case undefined: // not a system error: its message says what went wrong
    default:
      return new Error(`cannot listen on ${where}: ${error.message}`);
  }
}

function readPem(flag: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new UsageError(`--${flag}: cannot read ${file}: ${(error as Error).message}`);
  }
}

/** Turns the command line into ServeOptions. `demoDir` is the bundled demo page's directory. */
export function parseServeArgs(argv: string[], demoDir: string): ServeOptions | 'help' {
  const { values, positionals } = usage(() =>
    parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        port: { type: 'string' },
        host: { type: 'string' },
        mode: { type: 'string' },
        static: { type: 'string' },
        path: { type: 'string' },
        protocol: { type: 'string', multiple: true },
        deflate: { type: 'boolean' },
        'max-payload': { type: 'string' },
        'max-buffered': { type: 'string' },
        'allow-origin': { type: 'string', multiple: true },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'tls-self-signed': { type: 'boolean' },
        redis: { type: 'string' },
        workers: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    }),
  );
  if (values.help === true) return 'help';
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`);
  const mode = values.mode ?? 'echo';
  if (mode !== 'echo' && mode !== 'broadcast' && mode !== 'demo') {
    throw new UsageError(`--mode must be echo, broadcast or demo, got '${mode}'`);
  }
  const path = values.path ?? '/';
  if (!path.startsWith('/')) throw new UsageError(`--path must start with '/', got '${path}'`);
  const demo = mode === 'demo';
  const allowOrigins = values['allow-origin'] ?? [];
  for (const origin of allowOrigins) {
    if (origin !== '*' && serializedOrigin(origin) === null) {
      throw new UsageError(
        `--allow-origin must be an origin such as https://example.com:8443, or '*', got '${origin}'`,
      );
    }
  }
  const certFile = values['tls-cert'];
  const keyFile = values['tls-key'];
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw new UsageError('--tls-cert and --tls-key go together: give both files (PEM)');
  }
  if (certFile !== undefined && values['tls-self-signed'] === true) {
    throw new UsageError('give either --tls-cert/--tls-key or --tls-self-signed, not both');
  }
  let tls: ServeOptions['tls'] = null;
  if (certFile !== undefined && keyFile !== undefined) {
    tls = { cert: readPem('tls-cert', certFile), key: readPem('tls-key', keyFile) };
  } else if (values['tls-self-signed'] === true) {
    tls = selfSignedCertificate();
  }
  const redis = values.redis ?? null;
  if (redis !== null) {
    if (mode === 'echo')
      throw new UsageError('--redis is for the broadcast and demo modes (echo shares nothing)');
    if (!/^rediss?:\/\//.test(redis)) throw new UsageError(`--redis must be a redis:// URL, got '${redis}'`);
  }
  const workers = integer('workers', values.workers, 1, 256) ?? 1;
  if (workers > 1 && mode !== 'echo' && redis === null) {
    throw new UsageError(
      '--workers with the broadcast and demo modes needs --redis, so that the processes share the room',
    );
  }
  return {
    tls,
    redis,
    workers,
    port: integer('port', values.port, 0, 65535) ?? defaults.port,
    host: values.host ?? defaults.host,
    mode,
    staticDir: values.static ?? (demo ? demoDir : null),
    path,
    protocols: values.protocol ?? (demo ? ['chat'] : []),
    deflate: values.deflate === true || demo,
    maxPayload: integer('max-payload', values['max-payload'], 1, 2 ** 53 - 1) ?? defaults.maxPayload,
    maxBuffered: integer('max-buffered', values['max-buffered'], 0, 2 ** 53 - 1) ?? defaults.maxBuffered,
    allowOrigins,
  };
}

/**
 * `rfc6455 serve`: runs until `stop` is aborted (main wires it to SIGINT and SIGTERM), then shuts
 * down gracefully. Resolves to the exit code.
 */
export async function serveCommand(
  argv: string[],
  io: Io,
  demoDir: string,
  stop: AbortSignal,
): Promise<number> {
  const options = parseServeArgs(argv, demoDir);
  if (options === 'help') {
    io.stdout.write(`${serveHelp}\n`);
    return ExitCode.ok;
  }
  if ((options.workers ?? 1) > 1 && cluster.isPrimary) return runWorkers(options, argv, io, stop);
  let server: RunningServer;
  try {
    server = await startServer({ ...options, log: (line) => io.stderr.write(`${line}\n`) });
  } catch (error) {
    io.stderr.write(`rfc6455 serve: ${(error as Error).message}\n`);
    return ExitCode.failure;
  }
  const extras = [
    options.tls ? 'HTTPS: HTTP/2 and HTTP/1.1' : '',
    options.deflate ? 'permessage-deflate' : '',
    options.protocols.join(', '),
    options.redis ? `room shared through ${options.redis}` : '',
  ].filter(Boolean);
  // A cluster worker tells the primary, which prints the addresses once.
  if (cluster.isWorker) process.send?.({ listening: server.port });
  else
    io.stdout.write(
      `rfc6455 serve: ${options.mode} mode${extras.length > 0 ? ` (${extras.join('; ')})` : ''}\n` +
        (options.staticDir !== null ? `  page:      ${server.httpUrl}\n` : '') +
        `  websocket: ${server.wsUrl}\n` +
        `Press Ctrl-C to stop.\n`,
    );
  await new Promise<void>((resolve) => {
    if (stop.aborted) resolve();
    else stop.addEventListener('abort', () => resolve(), { once: true });
  });
  io.stderr.write(`shutting down: closing ${server.wss.clients?.size ?? 0} connection(s) with 1001\n`);
  await server.close();
  return ExitCode.ok;
}

/**
 * --workers N: the primary forks N workers running the same command on the same port (node:cluster
 * shares the listening socket; a port of 0 becomes one free port for all). It prints the addresses
 * once the first worker listens, and on stop sends SIGTERM to each worker (by its PID), which closes
 * its connections with 1001. A worker that dies is reported, not replaced.
 */
async function runWorkers(options: ServeOptions, argv: string[], io: Io, stop: AbortSignal): Promise<number> {
  cluster.setupPrimary({ args: ['serve', ...argv] });
  const workers = Array.from({ length: options.workers ?? 1 }, () => cluster.fork());
  let printed = false;
  const exited = workers.map(
    (worker) =>
      new Promise<number>((resolve) => {
        worker.on('message', (message: { listening?: number }) => {
          if (printed || typeof message.listening !== 'number') return;
          printed = true;
          const host = displayHost(options.host);
          io.stdout.write(
            `rfc6455 serve: ${options.mode} mode, ${workers.length} processes on one port` +
              (options.redis ? ` (room shared through ${options.redis})` : '') +
              '\n' +
              (options.staticDir !== null ? `  page:      http://${host}:${message.listening}/\n` : '') +
              `  websocket: ws://${host}:${message.listening}${options.path === '/' ? '' : options.path}\n` +
              `  workers:   ${workers.map((w) => w.process.pid).join(' ')}\n` +
              `Press Ctrl-C to stop.\n`,
          );
        });
        worker.on('exit', (code, signal) => {
          if (!stop.aborted) io.stderr.write(`worker ${worker.process.pid} exited (${signal ?? code})\n`);
          resolve(code ?? 1);
        });
      }),
  );
  const onStop = (): void => {
    for (const worker of workers) if (worker.process.exitCode === null) worker.process.kill('SIGTERM');
  };
  if (stop.aborted) onStop();
  else stop.addEventListener('abort', onStop, { once: true });
  const codes = await Promise.all(exited);
  return stop.aborted && codes.every((code) => code === 0) ? ExitCode.ok : ExitCode.failure;
}
