// Frames that arrive in the same read as the handshake must reach the application, after 'open'
// (client) or after 'connection' (server), in all three server modes: nothing lost, nothing early.
import { createHash } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { LIBS, next, shutdown } from '../testing/differential.js';
import type { DiffServer, DiffSocket, Lib } from '../testing/differential.js';
import { frame, upgradeRequest } from '@rfc6455/test-support';

const GREETINGS = ['hello', 'second', 'third'];

function accept(key: string): string {
  return createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
}

/** A server that answers the upgrade and greets with three text frames, all in one write. */
async function greetingServer(): Promise<{ url: string; server: net.Server }> {
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    let head = '';
    socket.on('data', (chunk: Buffer) => {
      head += chunk.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      const key = /sec-websocket-key: *(\S+)/i.exec(head)?.[1] ?? '';
      const frames = GREETINGS.map((text) => frame({ opcode: 1, payload: text, mask: false }));
      socket.write(
        Buffer.concat([
          Buffer.from(
            'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
              `Sec-WebSocket-Accept: ${accept(key)}\r\n\r\n`,
            'latin1',
          ),
          ...frames,
        ]),
      );
      socket.removeAllListeners('data');
      socket.on('data', () => {});
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

describe.each(LIBS)('%s: a client whose 101 arrives with the first frames', (_name, lib) => {
  test('ws-style: open comes first, then every greeting in order', async () => {
    const { url, server } = await greetingServer();
    const ws = new lib.WebSocket(url, { perMessageDeflate: false });
    const order: string[] = [];
    ws.on('open', () => order.push('open'));
    ws.on('message', (data: Buffer) => order.push(data.toString()));
    await new Promise<void>((resolve) => ws.on('message', () => order.length === 4 && resolve()));
    expect(order).toEqual(['open', ...GREETINGS]);
    ws.terminate();
    server.close();
  });

  test('browser-style: onmessage set inside onopen sees every greeting', async () => {
    const { url, server } = await greetingServer();
    const ws = new lib.WebSocket(url, { perMessageDeflate: false });
    const got: string[] = [];
    await new Promise<void>((resolve) => {
      ws.onopen = () => {
        ws.onmessage = (event) => {
          got.push(String(event.data));
          if (got.length === GREETINGS.length) resolve();
        };
      };
    });
    expect(got).toEqual(GREETINGS);
    ws.terminate();
    server.close();
  });
});

type Mode = 'port' | 'server' | 'noServer';

/** A server of `lib` in `mode`; its 'connection' listener is attached by the caller. */
async function serverIn(
  lib: Lib,
  mode: Mode,
): Promise<{ wss: DiffServer; port: number; done: () => Promise<void> }> {
  if (mode === 'port') {
    const wss = new lib.WebSocketServer({ port: 0, host: '127.0.0.1' });
    await next(wss, 'listening');
    return { wss, port: (wss.address() as AddressInfo).port, done: () => shutdown(wss) };
  }
  const httpServer = http.createServer();
  const wss = new lib.WebSocketServer(mode === 'server' ? { server: httpServer } : { noServer: true });
  if (mode === 'noServer') {
    httpServer.on('upgrade', (req, socket, head: Buffer) =>
      wss.handleUpgrade(req, socket, head, (ws: DiffSocket) => wss.emit('connection', ws, req)),
    );
  }
  await new Promise<void>((resolve) => httpServer.listen(0, '127.0.0.1', resolve));
  return {
    wss,
    port: (httpServer.address() as AddressInfo).port,
    done: async () => {
      await shutdown(wss);
      await new Promise<void>((resolve) => httpServer.close(() => resolve()));
    },
  };
}

describe.each(LIBS)('%s: frames sent in the same write as the upgrade request', (_name, lib) => {
  test.each<Mode>(['port', 'server', 'noServer'])(
    '%s mode: every one reaches the message listener',
    async (mode) => {
      const { wss, port, done } = await serverIn(lib, mode);
      const got: string[] = [];
      const all = new Promise<void>((resolve) => {
        wss.on('connection', (ws: DiffSocket) => {
          ws.on('message', (data: Buffer) => {
            got.push(data.toString());
            if (got.length === GREETINGS.length) resolve();
          });
        });
      });
      const client = net.connect(port, '127.0.0.1');
      client.on('error', () => {});
      client.on('data', () => {});
      client.write(
        Buffer.concat([
          Buffer.from(upgradeRequest('/'), 'latin1'),
          ...GREETINGS.map((text) => frame({ opcode: 1, payload: text })),
        ]),
      );
      await all;
      expect(got).toEqual(GREETINGS);
      client.destroy();
      await done();
    },
  );
});
