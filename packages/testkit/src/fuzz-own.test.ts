// The fuzzer against this repository's own servers: an @rfc6455/node echo server and an @rfc6455/streams
// echo server (over Duplex.toWeb sockets), both on 127.0.0.1, a fixed seed and 50 scenarios each. A
// failure prints the broken rules and the shrunk scenario, as the command does.
import net from 'node:net';
import { Duplex } from 'node:stream';

import { WebSocketServer } from '@rfc6455/node';
import { accept } from '@rfc6455/streams';

import { describeScenario, fuzz, type FuzzResult } from './fuzz.js';

const RUNS = 50;
const SEED = 6455;

interface Server {
  port: number;
  close(): Promise<void>;
}

function nodeEcho(): Promise<Server> {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  wss.on('connection', (ws) => {
    ws.on('error', () => {});
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  return new Promise((resolve) => {
    wss.on('listening', () => {
      resolve({
        port: (wss.address() as net.AddressInfo).port,
        close: () =>
          new Promise<void>((done) => {
            for (const ws of wss.clients ?? []) ws.terminate();
            wss.close(() => done());
          }),
      });
    });
  });
}

async function streamsEcho(): Promise<Server> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.setNoDelay(true);
    const { readable, writable } = Duplex.toWeb(socket);
    accept({
      readable: readable as ReadableStream<Uint8Array>,
      writable: writable as WritableStream<Uint8Array>,
    }).then(
      (ws) => {
        ws.binaryType = 'arraybuffer';
        ws.onmessage = (event: Event) => ws.send((event as MessageEvent).data as string | ArrayBuffer);
      },
      () => {},
    );
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((done) => {
        for (const s of sockets) s.destroy();
        server.close(() => done());
      }),
  };
}

function report(result: FuzzResult): string {
  if (!result.failed) return 'passed';
  return [
    `failed after ${result.runs} run(s), seed ${result.seed}, path ${result.path ?? ''}`,
    ...(result.problems ?? []),
    describeScenario(result.counterexample!),
  ].join('\n');
}

describe.each([
  ['@rfc6455/node', nodeEcho],
  ['@rfc6455/streams', streamsEcho],
])('rfc6455-testkit fuzz against the %s echo server', (_name, start) => {
  test(`${RUNS} scenarios with seed ${SEED} keep every rule`, async () => {
    const server = await start();
    try {
      const result = await fuzz({
        target: { host: '127.0.0.1', port: server.port, path: '/' },
        runs: RUNS,
        seed: SEED,
        timeoutMs: 5000,
      });
      expect(report(result)).toBe('passed');
      expect(result.runs).toBe(RUNS);
    } finally {
      await server.close();
    }
  }, 120_000);
});
