// @rfc6455/streams against ws and @rfc6455/node over real sockets (Duplex.toWeb), both directions,
// with and without permessage-deflate: text, binary, fragments, large messages, subprotocols.
import type net from 'node:net';
import { randomBytes } from 'node:crypto';
import * as ws from 'ws';
import * as rfcNode from '@rfc6455/node';
import { connect } from './index.js';
import type { WebSocket } from './index.js';
import { streamsServer, tcpConnect, toByteStream } from './testing/helpers.js';

/** What the tests use of the ws-style API, which ws and @rfc6455/node share. */
interface PeerSocket {
  on(event: string, listener: (...args: never[]) => void): unknown;
  once(event: string, listener: (...args: never[]) => void): unknown;
  send(data: string | Buffer, options?: { binary?: boolean; fin?: boolean }): void;
  close(code?: number, reason?: string): void;
  protocol: string;
  extensions: string;
}
interface PeerServer {
  on(event: 'connection', listener: (peer: PeerSocket) => void): unknown;
  once(event: string, listener: () => void): unknown;
  address(): net.AddressInfo | string | null;
  close(cb: () => void): void;
}
interface Lib {
  WebSocket: new (url: string, protocols: string[], options: object) => PeerSocket;
  WebSocketServer: new (options: object) => PeerServer;
}
const LIBS: [string, Lib][] = [
  ['ws', ws as Lib],
  ['@rfc6455/node', rfcNode],
];

/** Collects the messages a browser-face socket receives (binary as Uint8Array). */
function collect(socket: WebSocket): {
  messages: (string | Uint8Array)[];
  next: () => Promise<string | Uint8Array>;
} {
  const messages: (string | Uint8Array)[] = [];
  const waiting: ((m: string | Uint8Array) => void)[] = [];
  socket.binaryType = 'arraybuffer';
  socket.addEventListener('message', (ev) => {
    const data = (ev as MessageEvent).data as string | ArrayBuffer;
    const m = typeof data === 'string' ? data : new Uint8Array(data);
    messages.push(m);
    waiting.shift()?.(m);
  });
  let taken = 0;
  return {
    messages,
    next: () => {
      const m = messages[taken];
      if (m !== undefined) {
        taken++;
        return Promise.resolve(m);
      }
      return new Promise((resolve) => waiting.push((x) => (taken++, resolve(x))));
    },
  };
}

const LARGE = 6 * 1024 * 1024;

describe.each(LIBS)('streams server, %s client', (_name, lib) => {
  test.each([false, true])(
    'echoes text, binary, fragments and a 6 MiB message (deflate %s)',
    async (deflate) => {
      const server = await streamsServer(
        { perMessageDeflate: deflate, handleProtocols: (p) => (p.has('b') ? 'b' : false) },
        (s) => {
          s.binaryType = 'arraybuffer';
          s.onmessage = (ev) => s.send((ev as MessageEvent).data as string | ArrayBuffer);
        },
      );
      const client = new lib.WebSocket(server.url, ['a', 'b'], { perMessageDeflate: deflate });
      const got: { data: Buffer; binary: boolean }[] = [];
      client.on('message', (data: Buffer, binary: boolean) => got.push({ data, binary }));
      await new Promise((resolve) => client.once('open', resolve));
      expect(client.protocol).toBe('b');
      expect(client.extensions.includes('permessage-deflate')).toBe(deflate);
      const large = randomBytes(LARGE);
      client.send('héllo');
      client.send(Buffer.from([1, 2, 3]));
      client.send('frag', { fin: false });
      client.send('mented', { fin: true });
      client.send(large);
      client.send('');
      const done = Date.now() + 20_000;
      while (got.length < 5 && Date.now() < done) await new Promise((r) => setTimeout(r, 20));
      expect(got.map((m) => m.binary)).toEqual([false, true, false, true, false]);
      expect(got[0]!.data.toString()).toBe('héllo');
      expect([...got[1]!.data]).toEqual([1, 2, 3]);
      expect(got[2]!.data.toString()).toBe('fragmented');
      expect(Buffer.compare(got[3]!.data, large)).toBe(0);
      expect(got[4]!.data.length).toBe(0);
      const closed = new Promise<[number, string]>((resolve) =>
        client.once('close', (c: number, r: Buffer) => resolve([c, r.toString()])),
      );
      const sClosed = new Promise<CloseEvent>((resolve) =>
        server.sockets[0]!.addEventListener('close', (ev) => resolve(ev as CloseEvent)),
      );
      client.close(4000, 'done');
      // The codec's close reply echoes the code only (RFC 6455 5.5.1 leaves the body to the replier).
      expect(await closed).toEqual([4000, '']);
      const ev = await sClosed;
      expect([ev.code, ev.reason, ev.wasClean]).toEqual([4000, 'done', true]);
      await server.close();
    },
    30_000,
  );
});

describe.each(LIBS)('streams client, %s server', (name, lib) => {
  async function libServer(deflate: boolean): Promise<{ wss: PeerServer; port: number }> {
    const wss = new lib.WebSocketServer({
      port: 0,
      host: '127.0.0.1',
      perMessageDeflate: deflate,
      handleProtocols: (p: Set<string>) => (p.has('b') ? 'b' : false),
    });
    await new Promise<void>((resolve) => wss.once('listening', resolve));
    wss.on('connection', (peer) => {
      peer.on('message', (data: Buffer, binary: boolean) => {
        if (!binary && data.toString() === 'fragments please') {
          peer.send('one ', { fin: false });
          peer.send('two', { fin: true });
          return;
        }
        peer.send(data, { binary });
      });
    });
    return { wss, port: (wss.address() as net.AddressInfo).port };
  }

  test.each([false, true])(
    'echoes text, binary, fragments and a 6 MiB message (deflate %s)',
    async (deflate) => {
      const { wss, port } = await libServer(deflate);
      const url = `ws://127.0.0.1:${port}/path?q=1`;
      const socket = await connect(toByteStream(await tcpConnect(port)), url, {
        perMessageDeflate: deflate,
        protocols: ['a', 'b'],
      });
      expect(socket.readyState).toBe(1);
      expect(socket.protocol).toBe('b');
      expect(socket.extensions.includes('permessage-deflate')).toBe(deflate);
      expect(socket.url).toBe(url);
      const inbox = collect(socket);
      const large = new Uint8Array(randomBytes(LARGE));
      socket.send('héllo');
      socket.send(new Uint8Array([1, 2, 3]));
      socket.send('fragments please');
      socket.send(large);
      socket.send(new Blob(['blob text']));
      socket.send('after the blob');
      expect(await inbox.next()).toBe('héllo');
      expect(await inbox.next()).toEqual(new Uint8Array([1, 2, 3]));
      expect(await inbox.next()).toBe('one two');
      expect(Buffer.compare(Buffer.from((await inbox.next()) as Uint8Array), large)).toBe(0);
      expect(new TextDecoder().decode((await inbox.next()) as Uint8Array)).toBe('blob text');
      expect(await inbox.next()).toBe('after the blob');
      const closed = new Promise<CloseEvent>((resolve) =>
        socket.addEventListener('close', (ev) => resolve(ev as CloseEvent)),
      );
      socket.close(1000, 'bye');
      expect(socket.readyState).toBe(2);
      const ev = await closed;
      // ws's reply echoes the reason too; @rfc6455/node's the code only.
      expect([ev.code, ev.reason, ev.wasClean]).toEqual([1000, name === 'ws' ? 'bye' : '', true]);
      expect(socket.readyState).toBe(3);
      await new Promise<void>((resolve) => wss.close(resolve));
    },
    30_000,
  );
});
