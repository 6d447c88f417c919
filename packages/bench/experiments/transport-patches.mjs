// Experiments, not shipped: @rfc6455/node with small transport changes applied from outside, to
// measure what they would buy before anyone writes them properly. Run the benchmark against it:
//   BENCH_RFC6455_MODULE=$PWD/packages/bench/experiments/transport-patches.mjs \
//     node packages/bench/src/bench.mjs --only text-64,binary-1k,handshakes,deflate-16k --no-codec --out /tmp/exp
// BENCH_PATCHES picks them (comma-separated; default all): cork, end-once, level1.
import * as rfc6455 from '../../node/dist/index.js';

const patches = new Set((process.env.BENCH_PATCHES ?? 'cork,end-once,level1').split(','));

export class WebSocketServer extends rfc6455.WebSocketServer {
  constructor(options) {
    // level1: zlib level 1 for what the server compresses (zlib's default is 6, as in ws).
    if (patches.has('level1') && options.perMessageDeflate === true)
      options = { ...options, perMessageDeflate: { level: 1 } };
    super(options);
    this.on('connection', (ws) => {
      const socket = ws._socket;
      if (patches.has('cork')) {
        // One gathered write per received chunk: every reply its messages cause leaves in one writev.
        socket.prependListener('data', () => socket.cork());
        socket.on('data', () => socket.uncork());
      }
      if (patches.has('end-once')) {
        // A second Socket.end() builds an ERR_STREAM_ALREADY_FINISHED error, stack trace and all.
        const end = socket.end;
        socket.end = function (...args) {
          return this.writableEnded ? this : end.apply(this, args);
        };
      }
    });
  }
}
