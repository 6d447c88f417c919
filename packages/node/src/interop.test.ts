// Our client and server against each other and against `ws` (a client and a server no one here wrote).
import { WebSocket as WsClient, WebSocketServer as WsServer } from 'ws';
import type { AddressInfo } from 'node:net';
import { WebSocket } from './index.js';
import { closeServer, closed, echoServer, messages, once, opened } from './testing/helpers.js';

const SIZES = [0, 1, 125, 126, 65535, 65536, 1024 * 1024, 16 * 1024 * 1024];

function pattern(n: number, seed: number): Buffer {
  const b = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed) & 0xff;
  return b;
}

function text(n: number): string {
  // Multi-byte characters too, cut to exactly n bytes of ASCII + 'é' pairs.
  const unit = 'aé'; // 3 bytes
  return unit.repeat(Math.floor(n / 3)) + 'x'.repeat(n % 3);
}

async function wsServer(perMessageDeflate: boolean): Promise<{ server: WsServer; url: string }> {
  const server = new WsServer({
    port: 0,
    host: '127.0.0.1',
    perMessageDeflate,
    maxPayload: 64 * 1024 * 1024,
  });
  await once(server, 'listening');
  server.on('connection', (ws) => ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary })));
  return { server, url: `ws://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

function closeWsServer(server: WsServer): Promise<void> {
  for (const c of server.clients) c.terminate();
  return new Promise((resolve) => server.close(() => resolve()));
}

describe.each([false, true])('RFC 6455 5.6 data frames, permessage-deflate %s', (deflate) => {
  test('our client <-> our server: text and binary, 0 B to 16 MiB, echoed intact', async () => {
    const { wss, url } = await echoServer({ perMessageDeflate: deflate });
    const serverClose = once<[WebSocket]>(wss, 'connection').then(([peer]) => closed(peer));
    const ws = new WebSocket(url, { perMessageDeflate: deflate });
    await opened(ws);
    expect(ws.extensions.includes('permessage-deflate')).toBe(deflate);
    for (const n of SIZES) {
      const bin = pattern(n, n);
      const str = text(n);
      const got = messages(ws, 2);
      ws.send(bin);
      ws.send(str);
      const [[b, bIsBinary], [t, tIsBinary]] = (await got) as [[Buffer, boolean], [Buffer, boolean]];
      expect(bIsBinary).toBe(true);
      expect(b.equals(bin)).toBe(true);
      expect(tIsBinary).toBe(false);
      expect(t.toString('utf8')).toBe(str);
    }
    const done = closed(ws);
    ws.close(4001, 'bye now');
    // The server's reply echoes the code (RFC 6455 5.5.1), without a reason.
    expect(await done).toEqual([4001, '']);
    expect(await serverClose).toEqual([4001, 'bye now']);
    await closeServer(wss);
  }, 60_000);

  test('ws client <-> our server', async () => {
    const { wss, url } = await echoServer({ perMessageDeflate: deflate });
    const serverClose = once<[WebSocket]>(wss, 'connection').then(([ws]) => closed(ws));
    const client = new WsClient(url, { perMessageDeflate: deflate, maxPayload: 64 * 1024 * 1024 });
    await once(client, 'open');
    expect(client.extensions.includes('permessage-deflate')).toBe(deflate);
    for (const n of SIZES) {
      const bin = pattern(n, 7);
      const str = text(n);
      const got = new Promise<[Buffer, boolean][]>((resolve) => {
        const out: [Buffer, boolean][] = [];
        const on = (d: Buffer, isBinary: boolean): void => {
          out.push([d, isBinary]);
          if (out.length === 2) {
            client.off('message', on);
            resolve(out);
          }
        };
        client.on('message', on);
      });
      client.send(bin);
      client.send(str);
      const [[b, bb], [t, tb]] = (await got) as [[Buffer, boolean], [Buffer, boolean]];
      expect(bb).toBe(true);
      expect(b.equals(bin)).toBe(true);
      expect(tb).toBe(false);
      expect(t.toString()).toBe(str);
    }
    // Fragmented send from ws: one message in three frames.
    const frag = once<[Buffer, boolean]>(client, 'message');
    client.send('one ', { fin: false });
    client.send('two ', { fin: false });
    client.send('three', { fin: true });
    const [fragData, fragBinary] = await frag;
    expect(fragBinary).toBe(false);
    expect(fragData.toString()).toBe('one two three');
    const clientClose = once<[number, Buffer]>(client, 'close');
    client.close(4002, 'ws says bye');
    const [code, reason] = await clientClose;
    expect([code, reason.toString()]).toEqual([4002, '']);
    expect(await serverClose).toEqual([4002, 'ws says bye']);
    await closeServer(wss);
  }, 60_000);

  test('our client <-> ws server, close from the server side', async () => {
    const { server, url } = await wsServer(deflate);
    const ws = new WebSocket(url, { perMessageDeflate: deflate, maxPayload: 64 * 1024 * 1024 });
    await opened(ws);
    expect(ws.extensions.includes('permessage-deflate')).toBe(deflate);
    for (const n of SIZES) {
      const bin = pattern(n, 3);
      const str = text(n);
      const got = messages(ws, 2);
      ws.send(bin);
      ws.send(str);
      const [[b], [t, tb]] = (await got) as [[Buffer, boolean], [Buffer, boolean]];
      expect(b.equals(bin)).toBe(true);
      expect(tb).toBe(false);
      expect(t.toString()).toBe(str);
    }
    // Our fragmented send arrives as one message.
    const frag = messages(ws, 1);
    ws.send(Buffer.from('ab'), { fin: false });
    ws.send(Buffer.from('cd'), { fin: false });
    ws.send(Buffer.from('ef'));
    const [[fragData, fragBinary]] = (await frag) as [[Buffer, boolean]];
    expect(fragBinary).toBe(true);
    expect(fragData.toString()).toBe('abcdef');
    const done = closed(ws);
    const [serverSide] = [...server.clients];
    serverSide!.close(4003, 'server bye');
    expect(await done).toEqual([4003, 'server bye']);
    await closeWsServer(server);
  }, 60_000);
});
