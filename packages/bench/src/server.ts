// One echo server per process, driven by the benchmark over IPC.
//   node --expose-gc server.mjs <rfc6455|ws|raw> [--deflate]
// It listens on 127.0.0.1, port 0, and tells the parent its port. The parent may ask for
// 'usage' (CPU time, RSS), 'gc' (two full collections, then RSS) and 'exit' (a normal exit,
// so that --cpu-prof writes its profile).
import net from 'node:net';
import { createHash } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { Session } from 'node:inspector';
import { writeFileSync } from 'node:fs';

const [kind, ...flags] = process.argv.slice(2);
const deflate = flags.includes('--deflate');
const host = '127.0.0.1';
// Frames up to 1 MiB are sent; leave room so no server refuses them.
const maxPayload = 64 * 1024 * 1024;

/** The ws-style API both libraries share: echo every message as it came. */
function echoOnConnection(server) {
  server.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
    ws.on('error', () => {});
  });
}

async function startWsStyle(moduleName) {
  const { WebSocketServer } = await import(moduleName);
  const server = new WebSocketServer({ host, port: 0, perMessageDeflate: deflate, maxPayload });
  echoOnConnection(server);
  await new Promise((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
  });
  return { port: server.address().port, close: () => server.close() };
}

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** The ceiling: answer the upgrade with a minimal 101, then return every byte unparsed. */
async function startRaw() {
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    let head = null;
    let open = false;
    socket.on('data', (chunk) => {
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
  await new Promise((resolve, reject) => {
    server.once('listening', resolve);
    server.once('error', reject);
    server.listen(0, host);
  });
  return { port: server.address().port, close: () => server.close() };
}

function gc() {
  if (typeof globalThis.gc !== 'function') return false;
  globalThis.gc();
  globalThis.gc();
  return true;
}

let server;
if (kind === 'raw') server = await startRaw();
else if (kind === 'ws') server = await startWsStyle('ws');
// BENCH_RFC6455_MODULE: another build of @rfc6455/node to measure (a path or URL), e.g. a branch's bundle.
else if (kind === 'rfc6455') server = await startWsStyle(process.env.BENCH_RFC6455_MODULE ?? '@rfc6455/node');
else throw new Error(`Unknown server kind "${kind}": use rfc6455, ws or raw.`);

// CPU profile of the measured window only (not start-up or warm-up), in .cpuprofile format.
let session = null;
function post(method, params = {}) {
  return new Promise((resolve, reject) =>
    session.post(method, params, (error, result) => (error ? reject(error) : resolve(result))),
  );
}

process.on('message', async (message) => {
  const { id, cmd } = message;
  if (cmd === 'profile-start') {
    session = new Session();
    session.connect();
    await post('Profiler.enable');
    await post('Profiler.setSamplingInterval', { interval: 100 });
    await post('Profiler.start');
    process.send({ id });
  } else if (cmd === 'profile-stop') {
    const { profile } = await post('Profiler.stop');
    writeFileSync(message.file, JSON.stringify(profile));
    session.disconnect();
    session = null;
    process.send({ id });
  } else if (cmd === 'usage') {
    const cpu = process.cpuUsage();
    process.send({
      id,
      cpuMicros: cpu.user + cpu.system,
      elu: performance.eventLoopUtilization(),
      rss: process.memoryUsage.rss(),
    });
  } else if (cmd === 'gc') {
    const collected = gc();
    const memory = process.memoryUsage();
    process.send({
      id,
      collected,
      rss: memory.rss,
      heapUsed: memory.heapUsed,
      heapTotal: memory.heapTotal,
      external: memory.external,
    });
  } else if (cmd === 'exit') {
    server.close();
    process.send({ id }, () => process.exit(0));
  }
});
// The parent went away: do not linger.
process.on('disconnect', () => process.exit(0));
process.send({ ready: true, port: server.port, pid: process.pid });
