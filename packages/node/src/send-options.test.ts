// send(data, { compress, fin }) as seen on the wire, and fragmented messages from ws.
import net from 'node:net';
import type { AddressInfo } from 'node:net';
import { WebSocket as WsClient, WebSocketServer as WsServer } from 'ws';
import { computeAccept } from '@rfc6455/codec';
import { WebSocket } from './index.js';
import { closeServer, closed, echoServer, listen, once, opened } from './testing/helpers.js';
import { RawPeer, assertNoHandlesLeft, snapshotHandles } from './testing/raw-peer.js';
import { closePayload, frame, FrameReader } from '@rfc6455/test-support';
import type { ParsedFrame } from '@rfc6455/test-support';

const DEFLATE_OFFER = 'Sec-WebSocket-Extensions: permessage-deflate\r\n';
const summary = (f: ParsedFrame) => ({ opcode: f.opcode, fin: f.fin, rsv1: f.rsv1 });

/**
 * A raw TCP server that accepts one upgrade with permessage-deflate and then only records frames.
 * Our client masks with all-zero keys (randomFill left alone), so payloads are readable as sent.
 */
async function rawDeflateServer() {
  const reader = new FrameReader();
  let socket: net.Socket | null = null;
  const wake: (() => void)[] = [];
  const server = net.createServer((s) => {
    socket = s;
    let pre = Buffer.alloc(0);
    let upgraded = false;
    s.on('data', (chunk: Buffer) => {
      if (upgraded) {
        reader.push(chunk);
      } else {
        pre = Buffer.concat([pre, chunk]);
        const end = pre.indexOf('\r\n\r\n');
        if (end === -1) return;
        const key = /sec-websocket-key: *(\S+)/i.exec(pre.subarray(0, end).toString('latin1'))![1]!;
        s.write(
          'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
            `Sec-WebSocket-Accept: ${computeAccept(key)}\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n`,
        );
        upgraded = true;
        if (pre.length > end + 4) reader.push(pre.subarray(end + 4));
      }
      for (const w of wake.splice(0)) w();
    });
    s.on('error', () => {});
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    reader,
    /** Resolves once `n` frames arrived. */
    frames(n: number): Promise<ParsedFrame[]> {
      return new Promise((resolve) => {
        const check = (): void =>
          reader.frames.length >= n ? resolve(reader.frames.slice(0, n)) : void wake.push(check);
        check();
      });
    },
    /** Answers the client's close and ends TCP (the server's part of RFC 6455 7.1.1). */
    finish(): Promise<void> {
      const s = socket!;
      s.end(frame({ opcode: 8, payload: closePayload(1000), mask: false }));
      return new Promise((resolve) => {
        s.once('close', () => server.close(() => resolve()));
      });
    },
  };
}

describe('send(data, { compress }) with permessage-deflate negotiated (RFC 7692 6: RSV1 marks a compressed message)', () => {
  test('server side: compress: false goes out without RSV1, as given; the default compresses', async () => {
    const before = snapshotHandles();
    const { wss, port } = await listen({ perMessageDeflate: { threshold: 0 } });
    const text = 'a fairly compressible sentence, '.repeat(8);
    const bin = Buffer.alloc(300, 9);
    wss.on('connection', (ws) => {
      ws.send(text);
      ws.send(text, { compress: false });
      ws.send(bin, { compress: false });
      ws.send(bin, { compress: true });
    });
    const peer = await RawPeer.open(port, '/', DEFLATE_OFFER);
    expect(peer.head).toMatch(/sec-websocket-extensions: permessage-deflate/i);
    await peer.until(() => peer.reader.frames.length >= 4, 'four frames');
    const [a, b, c, d] = peer.reader.frames as [ParsedFrame, ParsedFrame, ParsedFrame, ParsedFrame];
    expect([a, b, c, d].map(summary)).toEqual([
      { opcode: 1, fin: true, rsv1: true },
      { opcode: 1, fin: true, rsv1: false },
      { opcode: 2, fin: true, rsv1: false },
      { opcode: 2, fin: true, rsv1: true },
    ]);
    expect(a.payload.length).toBeLessThan(text.length);
    expect(b.payload.toString()).toBe(text);
    expect(c.payload.equals(bin)).toBe(true);
    expect(d.payload.length).toBeLessThan(bin.length);
    await peer.write(frame({ opcode: 8, payload: closePayload(1000) }));
    await peer.closed;
    await closeServer(wss);
    await assertNoHandlesLeft(before);
  });

  test('client side: compress: false and fin: false fragments go out without RSV1', async () => {
    const before = snapshotHandles();
    const raw = await rawDeflateServer();
    const ws = new WebSocket(`ws://127.0.0.1:${raw.port}`, {
      perMessageDeflate: { threshold: 0 },
      randomFill: () => {},
    });
    await opened(ws);
    expect(ws.extensions).toBe('permessage-deflate');
    const text = 'abcabcabcabcabcabcabcabcabcabcabcabc';
    ws.send(text, { compress: false });
    ws.send(text);
    ws.send('frag-1 ', { fin: false });
    ws.send('frag-2 ', { fin: false, compress: true });
    ws.send('frag-3', { fin: true });
    ws.send(Buffer.from([1, 2, 3]), { fin: false });
    ws.send(Buffer.from([4]), { fin: true });
    const frames = await raw.frames(7);
    expect(frames.map(summary)).toEqual([
      { opcode: 1, fin: true, rsv1: false },
      { opcode: 1, fin: true, rsv1: true },
      // A fragmented send is never compressed (the codec compresses whole messages only).
      { opcode: 1, fin: false, rsv1: false },
      { opcode: 0, fin: false, rsv1: false },
      { opcode: 0, fin: true, rsv1: false },
      { opcode: 2, fin: false, rsv1: false },
      { opcode: 0, fin: true, rsv1: false },
    ]);
    expect(frames[0]!.payload.toString()).toBe(text);
    expect(
      frames
        .slice(2, 5)
        .map((f) => f.payload.toString())
        .join(''),
    ).toBe('frag-1 frag-2 frag-3');
    expect(frames[6]!.payload).toEqual(Buffer.from([4]));
    // While a fragmented message is open, the next send continues it: a continuation frame that
    // keeps the first fragment's type (text here), as in ws.
    ws.send('open ', { fin: false });
    ws.send(Buffer.from('end'), { binary: true, fin: true });
    const tail = await raw.frames(9);
    expect(tail.slice(7).map(summary)).toEqual([
      { opcode: 1, fin: false, rsv1: false },
      { opcode: 0, fin: true, rsv1: false },
    ]);
    const done = closed(ws);
    ws.close(1000);
    const finished = raw.finish();
    expect((await done)[0]).toBe(1000);
    await finished;
    await assertNoHandlesLeft(before);
  });

  test('our client <-> our server: compressed, uncompressed and fragmented messages interleave and arrive intact', async () => {
    const { wss, url } = await echoServer({ perMessageDeflate: { threshold: 0 } });
    const ws = new WebSocket(url, { perMessageDeflate: { threshold: 0 } });
    await opened(ws);
    const got: string[] = [];
    const all = new Promise<void>((resolve) =>
      ws.on('message', (data) => {
        got.push(String(data));
        if (got.length === 4) resolve();
      }),
    );
    const m = 'context takeover, '.repeat(20);
    ws.send(m);
    ws.send(m, { compress: false });
    ws.send('x', { fin: false });
    ws.send('y', { fin: true });
    ws.send(m);
    await all;
    expect(got).toEqual([m, m, 'xy', m]);
    const done = closed(ws);
    ws.close();
    await done;
    await closeServer(wss);
  });
});

describe.each([false, true])('fragmented messages with ws (deflate %s)', (deflate) => {
  test('a ws client sending a binary message in fragments: our server gets one message', async () => {
    const { wss, url } = await listen({ perMessageDeflate: deflate });
    const received = new Promise<[Buffer, boolean][]>((resolve) =>
      wss.once('connection', (ws) => {
        const list: [Buffer, boolean][] = [];
        ws.on('message', (data, isBinary) => {
          list.push([data as Buffer, isBinary]);
          if (list.length === 2) resolve(list);
        });
      }),
    );
    const client = new WsClient(url, { perMessageDeflate: deflate ? { threshold: 0 } : false });
    await once(client, 'open');
    const parts = [Buffer.alloc(1000, 1), Buffer.alloc(70_000, 2), Buffer.from([3, 3, 3])];
    client.send(parts[0]!, { fin: false, binary: true });
    client.send(parts[1]!, { fin: false, binary: true });
    client.send(parts[2]!, { fin: true, binary: true });
    client.send('after', { binary: false });
    const [[data, isBinary], [after, afterBinary]] = (await received) as [
      [Buffer, boolean],
      [Buffer, boolean],
    ];
    expect(isBinary).toBe(true);
    expect(data.equals(Buffer.concat(parts))).toBe(true);
    expect([after.toString(), afterBinary]).toEqual(['after', false]);
    const done = once(client, 'close');
    client.close(1000);
    await done;
    await closeServer(wss);
  });

  test('our client sending fragments to a ws server: one message', async () => {
    const server = new WsServer({ port: 0, host: '127.0.0.1', perMessageDeflate: deflate });
    await once(server, 'listening');
    const received = new Promise<[Buffer, boolean]>((resolve) =>
      server.once('connection', (ws) =>
        ws.once('message', (data, isBinary) => resolve([data as Buffer, isBinary])),
      ),
    );
    const ws = new WebSocket(`ws://127.0.0.1:${(server.address() as AddressInfo).port}`, {
      perMessageDeflate: deflate,
    });
    await opened(ws);
    ws.send(Buffer.from('one '), { fin: false });
    ws.send(Buffer.from('two'), { fin: true });
    const [data, isBinary] = await received;
    expect([data.toString(), isBinary]).toEqual(['one two', true]);
    const done = closed(ws);
    ws.close();
    await done;
    await new Promise((r) => server.close(r));
  });
});
