// One echo server per process, driven by the benchmark over IPC.
//   node --expose-gc server.js <rfc6455|ws|raw> [--deflate]
// It listens on 127.0.0.1, port 0, and tells the parent its port. The parent may ask for
// 'usage' (CPU time, RSS), 'gc' (two full collections, then RSS) and 'exit' (a normal exit,
// so that --cpu-prof writes its profile).
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Session } from 'node:inspector';
import type { Profiler } from 'node:inspector';
import { writeFileSync } from 'node:fs';
import type { MessageData } from '@rfc6455/node';
import type { ServerCommand, ServerMessage } from './servers.js';

/** The part of the ws-style API (ws and @rfc6455/node alike) that the echo uses. */
interface EchoSocket {
  on(event: 'message', listener: (data: MessageData, isBinary: boolean) => void): unknown;
  on(event: 'error', listener: (error: Error) => void): unknown;
  send(data: MessageData, options: { binary: boolean }): unknown;
}
interface EchoServer {
  on(event: 'connection', listener: (ws: EchoSocket) => void): unknown;
  once(event: 'listening', listener: () => void): unknown;
  once(event: 'error', listener: (error: Error) => void): unknown;
  address(): AddressInfo | string | null;
  close(): void;
}
interface WsStyleModule {
  WebSocketServer: new (options: {
    host: string;
    port: number;
    perMessageDeflate: boolean;
    maxPayload: number;
  }) => EchoServer;
}
interface Listening {
  port: number;
  close: () => void;
}

function portOf(address: AddressInfo | string | null): number {
  if (address === null || typeof address === 'string') throw new Error('The echo server has no TCP port');
  return address.port;
}

/** Everything goes to the benchmark over IPC (see ServerMessage in servers.ts). */
function reply(message: ServerMessage, done?: () => void): void {
  if (process.send === undefined) throw new Error('server.js runs under the benchmark, with an IPC channel');
  if (done === undefined) process.send(message);
  else process.send(message, done);
}

const [kind, ...flags] = process.argv.slice(2);
const deflate = flags.includes('--deflate');
const host = '127.0.0.1';
// Frames up to 1 MiB are sent; leave room so no server refuses them.
const maxPayload = 64 * 1024 * 1024;

/** The ws-style API both libraries share: echo every message as it came. */
function echoOnConnection(server: EchoServer): void {
  server.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    ws.on('error', () => {});
  });
}

async function startWsStyle(moduleName: string): Promise<Listening> {
  const { WebSocketServer } = (await import(moduleName)) as WsStyleModule;
  const server = new WebSocketServer({ host, port: 0, perMessageDeflate: deflate, maxPayload });
  echoOnConnection(server);
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  return { port: portOf(server.address()), close: () => server.close() };
}

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** The ceiling: answer the upgrade with a minimal 101, then return every byte unparsed. */
async function startRaw(): Promise<Listening> {
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    let head: Buffer | null = null;
    let open = false;
    socket.on('data', (chunk: Buffer) => {
      if (open) {
        socket.write(chunk);
        return;
      }
      head = head === null ? chunk : Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      const request = head.toString('latin1', 0, end);
      const key = /^sec-websocket-key:[ \t]*(\S+)/im.exec(request)?.[1] ?? '';
      const accept = createHash('sha1')
        .update(key + GUID)
        .digest('base64');
      // Echoed frames keep the client's RSV1, so agreeing to no-context-takeover deflate is honest.
      const extension = /permessage-deflate/i.test(request)
        ? 'Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; client_no_context_takeover\r\n'
        : '';
      socket.write(
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Accept: ${accept}\r\n${extension}\r\n`,
      );
      open = true;
      const rest = head.subarray(end + 4);
      head = null;
      if (rest.length > 0) socket.write(rest);
    });
    socket.on('error', () => {});
  });
  await new Promise<void>((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
    server.listen(0, host);
  });
  return { port: portOf(server.address()), close: () => server.close() };
}

function gc(): boolean {
  if (typeof globalThis.gc !== 'function') return false;
  globalThis.gc();
  globalThis.gc();
  return true;
}

let server: Listening;
if (kind === 'raw') server = await startRaw();
else if (kind === 'ws') server = await startWsStyle('ws');
// BENCH_RFC6455_MODULE: another build of @rfc6455/node to measure (a path or URL), e.g. a branch's bundle.
else if (kind === 'rfc6455') server = await startWsStyle(process.env.BENCH_RFC6455_MODULE ?? '@rfc6455/node');
else throw new Error(`Unknown server kind "${kind}": use rfc6455, ws or raw.`);

// CPU profile of the measured window only (not start-up or warm-up), in .cpuprofile format.
let session: Session | null = null;
function post(method: string, params: object = {}): Promise<object | undefined> {
  return new Promise((resolve, reject) => {
    if (session === null) throw new Error(`${method} outside a profiling session`);
    session.post(method, params, (error, result) => (error ? reject(error) : resolve(result)));
  });
}

async function handle(message: ServerCommand): Promise<void> {
  const { id, cmd } = message;
  if (cmd === 'profile-start') {
    session = new Session();
    session.connect();
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: 100 });
    await post('Profiler.start');
    reply({ id });
  } else if (cmd === 'profile-stop') {
    const { profile } = (await post('Profiler.stop')) as Profiler.StopReturnType;
    writeFileSync(message.file, JSON.stringify(profile));
    session?.disconnect();
    session = null;
    reply({ id });
  } else if (cmd === 'usage') {
    const cpu = process.cpuUsage();
    reply({
      id,
      cpuMicros: cpu.user + cpu.system,
      elu: performance.eventLoopUtilization(),
      rss: process.memoryUsage.rss(),
    });
  } else if (cmd === 'gc') {
    const collected = gc();
    const memory = process.memoryUsage();
    reply({
      id,
      collected,
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      heapTotal: memory.heapTotal,
      external: memory.external,
    });
  } else if (cmd === 'exit') {
    server.close();
    reply({ id }, () => process.exit(0));
  }
}

process.on('message', (message) => void handle(message as ServerCommand));
// The parent went away: do not linger.
process.on('disconnect', () => process.exit(0));
reply({ ready: true, port: server.port, pid: process.pid });
