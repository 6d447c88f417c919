import net from 'node:net';
import { spawn } from 'node:child_process';
import type { WsMessageEvent } from './index.js';
import { WebSocket, WsCloseEvent } from './index.js';
import { frame, upgradeRequest } from '@rfc6455/test-support';
import { closeServer, closed, echoServer, listen, messages, once, opened } from './testing/helpers.js';

/** A raw TCP client past the handshake: resolves once the 101 head arrived. */
async function rawClient(port: number): Promise<net.Socket> {
  const socket = net.connect(port, '127.0.0.1');
  socket.write(upgradeRequest());
  await new Promise<void>((resolve) => {
    let head = '';
    const on = (d: Buffer): void => {
      head += d.toString('latin1');
      if (head.includes('\r\n\r\n')) {
        socket.off('data', on);
        resolve();
      }
    };
    socket.on('data', on);
  });
  return socket;
}

/** A masked client frame (RFC 6455 5.2) with an all-zero key, so the payload stays readable. */
const clientFrame = (opcode: number, payload: Buffer, fin = true): Uint8Array =>
  frame({ opcode, payload, fin, mask: 0 });

describe('the browser-style face (WHATWG WebSocket)', () => {
  test('the seed snippet runs unchanged: onopen sends, onmessage gets a string', async () => {
    const { wss, url } = await echoServer();
    const got = await new Promise<WsMessageEvent>((resolve) => {
      // eslint-disable-next-line prefer-const
      let ws = new WebSocket(url);
      ws.onopen = () => {
        ws.send('sending data');
      };
      ws.onmessage = (event) => {
        resolve(event);
        ws.close();
      };
    });
    expect(got.type).toBe('message');
    expect(got.data).toBe('sending data');
    await closeServer(wss);
  });

  test('addEventListener with once, removeEventListener, onX replacement, CloseEvent fields', async () => {
    const { wss, url } = await echoServer();
    const ws = new WebSocket(url);
    const seen: string[] = [];
    const onceListener = (e: WsMessageEvent): void => void seen.push(`once:${String(e.data)}`);
    const removed = (): void => void seen.push('removed');
    ws.addEventListener('message', onceListener as never, { once: true });
    ws.addEventListener('message', removed);
    ws.removeEventListener('message', removed);
    ws.onmessage = () => seen.push('first onmessage');
    ws.onmessage = (e) => seen.push(`onmessage:${String(e.data)}`);
    ws.addEventListener('message', {
      handleEvent: (e: WsMessageEvent) => seen.push(`handleEvent:${String(e.data)}`),
    } as never);
    const closeEvent = new Promise<WsCloseEvent>((resolve) => ws.addEventListener('close', resolve as never));
    ws.addEventListener('open', () => {
      ws.send('a');
      ws.send('b');
    });
    await messages(ws, 2);
    expect(seen).toEqual(['once:a', 'onmessage:a', 'handleEvent:a', 'onmessage:b', 'handleEvent:b']);
    expect(ws.onmessage).toBeInstanceOf(Function);
    ws.close(4321, 'done');
    const ev = await closeEvent;
    expect(ev).toBeInstanceOf(WsCloseEvent);
    expect([ev.code, ev.wasClean]).toEqual([4321, true]);
    expect(typeof ev.reason).toBe('string');
    await closeServer(wss);
  });

  test('binaryType: nodebuffer, arraybuffer, fragments, blob', async () => {
    const { wss, url } = await echoServer();
    const ws = new WebSocket(url);
    await opened(ws);
    const payload = Buffer.from([1, 2, 3, 250]);
    const results: unknown[] = [];
    for (const type of ['nodebuffer', 'arraybuffer', 'fragments', 'blob'] as const) {
      ws.binaryType = type;
      const got = messages(ws, 1);
      ws.send(payload);
      results.push((await got)[0]![0]);
    }
    expect(Buffer.isBuffer(results[0])).toBe(true);
    expect(results[1]).toBeInstanceOf(ArrayBuffer);
    expect(Buffer.from(results[1] as ArrayBuffer).equals(payload)).toBe(true);
    expect(Array.isArray(results[2]) && Buffer.concat(results[2] as Buffer[]).equals(payload)).toBe(true);
    expect(Buffer.from(await (results[3] as Blob).arrayBuffer()).equals(payload)).toBe(true);
    // Another value is ignored, as in ws and browsers.
    ws.binaryType = 'bogus' as never;
    expect(ws.binaryType).toBe('blob');
    const done = closed(ws);
    ws.close();
    await done;
    await closeServer(wss);
  });
});

describe('the ws-style face', () => {
  test('readyState constants, protocol/extensions/url, ping and pong with payloads, send callbacks', async () => {
    const { wss, url } = await echoServer();
    const ws = new WebSocket(url);
    expect(ws.readyState).toBe(WebSocket.CONNECTING);
    expect([WebSocket.CONNECTING, WebSocket.OPEN, WebSocket.CLOSING, WebSocket.CLOSED]).toEqual([0, 1, 2, 3]);
    expect(ws.OPEN).toBe(1);
    expect(() => ws.send('too early')).toThrow(/wait for 'open'/);
    await opened(ws);
    expect(ws.readyState).toBe(WebSocket.OPEN);
    expect(ws.url).toBe(`${url}/`);
    expect(ws.protocol).toBe('');
    const pong = once<[Buffer]>(ws, 'pong');
    ws.ping('are you there');
    expect((await pong)[0].toString()).toBe('are you there');
    const [serverSide] = [...wss.clients!];
    const ping = once<[Buffer]>(ws, 'ping');
    const autoPong = once<[Buffer]>(serverSide!, 'pong');
    serverSide!.ping(Buffer.from('hi'));
    expect((await ping)[0].toString()).toBe('hi');
    expect((await autoPong)[0].toString()).toBe('hi');
    const written = await new Promise<Error | undefined>((resolve) => ws.send('x', resolve));
    expect(written).toBeUndefined();
    expect(() => ws.close(1005)).toThrow();
    const done = closed(ws);
    ws.close(1000, 'bye');
    expect(ws.readyState).toBe(WebSocket.CLOSING);
    const afterClose = await new Promise<Error | undefined>((resolve) => ws.send('late', resolve));
    expect(afterClose?.message).toMatch(/not open/);
    expect(await done).toEqual([1000, '']);
    expect(ws.readyState).toBe(WebSocket.CLOSED);
    await closeServer(wss);
  });

  test('terminate(): close 1006 on both sides, exactly once', async () => {
    const { wss, url } = await echoServer();
    const ws = new WebSocket(url);
    const [serverSide] = await once<[WebSocket]>(wss, 'connection');
    await opened(ws).catch(() => undefined);
    let count = 0;
    ws.on('close', () => count++);
    const both = Promise.all([closed(ws), closed(serverSide)]);
    ws.terminate();
    const [[a], [b]] = await both;
    expect([a, b]).toEqual([1006, 1006]);
    ws.terminate();
    ws.close();
    expect(count).toBe(1);
    await closeServer(wss);
  });

  test('a peer protocol violation: error names the close code 1002, close 1006; no listener, no crash', async () => {
    const { wss, port } = await listen();
    const errors: Error[] = [];
    const conns: Promise<[number, string]>[] = [];
    let n = 0;
    wss.on('connection', (ws) => {
      if (n++ === 0) ws.on('error', (e) => errors.push(e));
      conns.push(closed(ws));
    });
    for (let i = 0; i < 2; i++) {
      const socket = await rawClient(port);
      const gone = once(socket, 'close');
      socket.on('data', () => {});
      // Opcode 3 is reserved (RFC 6455 5.2).
      socket.write(clientFrame(3, Buffer.from('x')));
      await gone;
    }
    const results = await Promise.all(conns);
    // The application sees a failed connection (1006, as in ws and browsers); 1002 went to the peer.
    expect(results.map((r) => r[0])).toEqual([1006, 1006]);
    expect(errors).toHaveLength(1);
    expect(errors[0]!.message).toMatch(/1002/);
    expect(errors[0]).toMatchObject({ code: 'WS_ERR_INVALID_OPCODE', closeCode: 1002 });
    await closeServer(wss);
  });

  test('messages received before the close frame are delivered before close', async () => {
    const { wss, port } = await listen();
    const [ws, socket] = await Promise.all([
      once<[WebSocket]>(wss, 'connection').then(([w]) => w),
      rawClient(port),
    ]);
    const order: string[] = [];
    ws.on('message', (d) => order.push(String(d)));
    const done = closed(ws).then(([code]) => order.push(`close ${code}`));
    socket.on('data', () => {});
    socket.write(
      Buffer.concat([
        clientFrame(1, Buffer.from('one')),
        clientFrame(1, Buffer.from('tw'), false),
        clientFrame(0, Buffer.from('o')),
        clientFrame(8, Buffer.from([0x03, 0xe8])),
      ]),
    );
    await done;
    expect(order).toEqual(['one', 'two', 'close 1000']);
    socket.destroy();
    await closeServer(wss);
  });

  test('backpressure: send returns false, bufferedAmount grows, drain once the reader reads', async () => {
    const { wss, port } = await listen();
    const [ws, socket] = await Promise.all([
      once<[WebSocket]>(wss, 'connection').then(([w]) => w),
      rawClient(port),
    ]);
    socket.pause();
    const chunk = Buffer.alloc(64 * 1024, 1);
    let sent = 0;
    let ok = true;
    while (ok && sent < 4096) {
      ok = ws.send(chunk);
      sent++;
    }
    expect(ok).toBe(false);
    expect(ws.bufferedAmount).toBeGreaterThan(0);
    const before = ws.bufferedAmount;
    ws.send(chunk);
    expect(ws.bufferedAmount).toBeGreaterThan(before);
    const drained = once(ws, 'drain');
    socket.resume();
    socket.on('data', () => {});
    await drained;
    await new Promise((r) => setImmediate(r));
    expect(ws.bufferedAmount).toBeLessThan(before);
    socket.destroy();
    await closed(ws);
    await closeServer(wss);
  });

  test('keepalive: a peer that never pongs is terminated with 1006', async () => {
    const { wss, port } = await listen({ keepalive: { interval: 20, timeout: 40 } });
    const conn = once<[WebSocket]>(wss, 'connection');
    const socket = await rawClient(port);
    socket.on('data', () => {}); // reads pings, never answers
    const [ws] = await conn;
    expect(await closed(ws)).toEqual([1006, '']);
    socket.destroy();
    await closeServer(wss);
  });

  test('keepalive: a live peer (our client auto-pongs) stays open across several intervals', async () => {
    const { wss, url } = await echoServer({ keepalive: { interval: 15, timeout: 200 } });
    const ws = new WebSocket(url);
    const [serverSide] = await once<[WebSocket]>(wss, 'connection');
    let pings = 0;
    await new Promise<void>((resolve) =>
      ws.on('ping', () => {
        if (++pings === 4) resolve();
      }),
    );
    expect(serverSide.readyState).toBe(WebSocket.OPEN);
    const done = closed(ws);
    ws.close();
    await done;
    await closeServer(wss);
  });

  test('pause() stops delivery, resume() restarts it', async () => {
    const { wss, url } = await listen();
    const ws = new WebSocket(url);
    const [serverSide] = await once<[WebSocket]>(wss, 'connection');
    await opened(ws).catch(() => undefined);
    ws.pause();
    expect(ws.isPaused).toBe(true);
    let got = 0;
    ws.on('message', () => got++);
    serverSide.send('while paused');
    await new Promise((r) => setTimeout(r, 30));
    expect(got).toBe(0);
    const arrived = once(ws, 'message');
    ws.resume();
    await arrived;
    expect(got).toBe(1);
    const done = closed(ws);
    ws.close();
    await done;
    await closeServer(wss);
  });
});

describe('clients no one here wrote', () => {
  test("Node's own WebSocket client talks to our server", async () => {
    const { wss, url } = await echoServer({ perMessageDeflate: true });
    const script = `
      const ws = new WebSocket(${JSON.stringify(url)});
      ws.binaryType = 'arraybuffer';
      const got = [];
      ws.onopen = () => { ws.send('hello from node'); ws.send(new Uint8Array([1, 2, 3])); };
      ws.onmessage = (e) => {
        got.push(typeof e.data === 'string' ? e.data : Array.from(new Uint8Array(e.data)).join(','));
        if (got.length === 2) ws.close(4000, 'done');
      };
      ws.onclose = (e) => { console.log(JSON.stringify({ got, code: e.code, ext: ws.extensions })); };
      ws.onerror = (e) => { console.log(JSON.stringify({ error: String(e.message) })); };
    `;
    const flags =
      typeof (globalThis as { WebSocket?: unknown }).WebSocket === 'function'
        ? []
        : ['--experimental-websocket'];
    const child = spawn(process.execPath, [...flags, '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    const [code] = await once<[number]>(child, 'close');
    expect(code).toBe(0);
    const result = JSON.parse(out.trim().split('\n').pop()!);
    expect(result.got).toEqual(['hello from node', '1,2,3']);
    expect(result.code).toBe(4000);
    await closeServer(wss);
  }, 30_000);
});
