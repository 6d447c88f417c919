// What the @rfc6455/streams testees share: TCP as WHATWG byte streams on Node (Duplex.toWeb) and on Deno
// (Deno.listen / Deno.connect), the options the suite needs, and an echo of every message with its type.
/* global Deno */

const deno = globalThis.Deno;

/** Section 9 sends messages of up to 16 MiB (and 12/13 inflate to about as much): stay clear of it. */
export const MAX_PAYLOAD = 64 * 1024 * 1024;

/** STREAMS_DEFLATE=pako|node:zlib|auto (default auto) picks the permessage-deflate engine. */
export function deflateOptions() {
  const engine = (deno ? deno.env.get('STREAMS_DEFLATE') : process.env.STREAMS_DEFLATE) ?? 'auto';
  return { engine };
}

export function env(name) {
  return deno ? deno.env.get(name) : process.env[name];
}

export function args() {
  return deno ? deno.args : process.argv.slice(2);
}

/** Echoes every message with its type: text as a string, binary as an ArrayBuffer. */
export function echo(ws) {
  ws.binaryType = 'arraybuffer';
  ws.onmessage = (event) => ws.send(event.data);
  // Cases that send bad frames end in errors: they are the point of the case.
  ws.onerror = () => {};
}

/** Listens on 127.0.0.1:port (0: any), prints "LISTENING <port>", hands every connection's streams to `serve`. */
export async function listen(port, serve) {
  if (deno) {
    const listener = deno.listen({ hostname: '127.0.0.1', port });
    console.log(`LISTENING ${listener.addr.port}`);
    deno.addSignalListener('SIGTERM', () => deno.exit(0));
    for await (const conn of listener) {
      conn.setNoDelay(true);
      serve(conn);
    }
    return;
  }
  const net = await import('node:net');
  const { Duplex } = await import('node:stream');
  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    serve(Duplex.toWeb(socket));
  });
  server.listen(port, '127.0.0.1', () => console.log(`LISTENING ${server.address().port}`));
  process.on('SIGTERM', () => process.exit(0));
}

/** A TCP connection to the host and port of a ws:// URL, as { readable, writable }. */
export async function dial(url) {
  const { hostname, port } = new URL(url);
  if (deno) {
    const conn = await deno.connect({ hostname, port: Number(port) });
    conn.setNoDelay(true);
    return conn;
  }
  const net = await import('node:net');
  const { Duplex } = await import('node:stream');
  const socket = await new Promise((resolve, reject) => {
    const s = net.connect(Number(port), hostname, () => resolve(s));
    s.once('error', reject);
  });
  socket.setNoDelay(true);
  return Duplex.toWeb(socket);
}
