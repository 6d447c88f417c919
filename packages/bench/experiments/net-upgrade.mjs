// Experiment, not shipped: a server that owns its port without node:http. It accepts on a plain
// net.Server, reads the request head with the codec's own HeadParser and hands the socket to
// @rfc6455/node's handleUpgrade (noServer mode) with a minimal request object. The transport
// patches of transport-patches.mjs apply too (BENCH_PATCHES picks them). Measure it with:
//   BENCH_RFC6455_MODULE=$PWD/packages/bench/experiments/net-upgrade.mjs \
//     node packages/bench/src/bench.mjs --only handshakes,memory --no-codec --out /tmp/exp
import net from 'node:net';
import { EventEmitter } from 'node:events';
import { HeadParser } from '@rfc6455/codec';
import { WebSocketServer as PatchedServer } from './transport-patches.mjs';

/** The parts of http.IncomingMessage that handleUpgrade reads. */
function requestFrom(head, socket) {
  const rawHeaders = [];
  const headers = {};
  for (const [name, value] of head.headers) {
    rawHeaders.push(name, value);
    const key = name.toLowerCase();
    headers[key] = key in headers ? `${headers[key]}, ${value}` : value;
  }
  return { method: head.method, url: head.target, httpVersion: head.version, rawHeaders, headers, socket };
}

export class WebSocketServer extends EventEmitter {
  constructor({ host, port, ...options }) {
    super();
    this.inner = new PatchedServer({ ...options, noServer: true });
    this.server = net.createServer((socket) => this.accept(socket));
    this.server.on('error', (error) => this.emit('error', error));
    this.server.listen(port, host, () => this.emit('listening'));
  }

  address() {
    return this.server.address();
  }

  close(callback) {
    this.inner.close();
    this.server.close(callback);
  }

  accept(socket) {
    const parser = new HeadParser('request');
    socket.on('error', () => socket.destroy());
    const onData = (chunk) => {
      const result = parser.feed(chunk);
      if (!result.done) return;
      // The WebSocket adds its own 'data' listener synchronously, inside handleUpgrade.
      socket.off('data', onData);
      if (!result.ok) {
        socket.end(`HTTP/1.1 ${result.status} Bad Request\r\nConnection: close\r\n\r\n`);
        return;
      }
      const req = requestFrom(result.head, socket);
      const rest = Buffer.from(result.rest.buffer, result.rest.byteOffset, result.rest.byteLength);
      this.inner.handleUpgrade(req, socket, rest, (ws) => {
        this.inner.emit('connection', ws, req);
        this.emit('connection', ws, req);
      });
    };
    socket.on('data', onData);
  }
}
