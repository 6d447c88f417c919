// The ws-style API in the corners programs rely on: what send/ping/pong accept, ordering around a
// Blob, pause/resume before open, binaryType, and the shape of the prototype. Same script for both.
import { LIBS, listenWith, next, shutdown } from '../testing/differential.js';
import type { DiffSocket, Lib } from '../testing/differential.js';

/** An open client and its server-side peer, which records every message and ping as text. */
async function pair(lib: Lib): Promise<{
  ws: DiffSocket;
  got: string[];
  until: (n: number) => Promise<void>;
  done: () => Promise<void>;
}> {
  const { wss, url } = await listenWith(lib);
  const got: string[] = [];
  let waiters: (() => void)[] = [];
  const note = (entry: string): void => {
    got.push(entry);
    const w = waiters;
    waiters = [];
    for (const f of w) f();
  };
  wss.on('connection', (peer: DiffSocket) => {
    peer.on('message', (data: Buffer, isBinary: boolean) =>
      note(`${isBinary ? 'binary' : 'text'}:${data.toString()}`),
    );
    peer.on('ping', (data: Buffer) => note(`ping:${data.toString()}`));
    peer.on('pong', (data: Buffer) => note(`pong:${data.toString()}`));
    peer.on('close', (code: number) => note(`close:${code}`));
  });
  const ws = new lib.WebSocket(url);
  await next(ws, 'open');
  const until = (n: number): Promise<void> =>
    new Promise((resolve) => {
      const check = (): void => {
        if (got.length >= n) resolve();
        else waiters.push(check);
      };
      check();
    });
  return {
    ws,
    got,
    until,
    done: async () => {
      ws.terminate();
      await shutdown(wss);
    },
  };
}

describe.each(LIBS)('%s: what send, ping and pong accept', (_name, lib) => {
  test('send() with no data sends an empty binary message; numbers are sent as text', async () => {
    const { ws, got, until, done } = await pair(lib);
    ws.send(undefined);
    ws.send(42);
    ws.ping(7);
    ws.pong(8);
    ws.ping();
    await until(5);
    expect(got).toEqual(['binary:', 'text:42', 'ping:7', 'pong:8', 'ping:']);
    await done();
  });

  test('a Blob is sent as binary, and what is sent after it waits for it (order kept)', async () => {
    const { ws, got, until, done } = await pair(lib);
    const callbacks: string[] = [];
    ws.send('before');
    ws.send(new Blob(['blob one']), () => callbacks.push('blob one'));
    ws.send('after', () => callbacks.push('after'));
    ws.ping('p');
    ws.send(new Blob(['blob two']), { binary: false });
    ws.send('last');
    expect(ws.bufferedAmount).toBeGreaterThanOrEqual('blob one'.length);
    const closed = next(ws, 'close');
    ws.close(1000);
    await until(7);
    expect(got).toEqual([
      'text:before',
      'binary:blob one',
      'text:after',
      'ping:p',
      'text:blob two',
      'text:last',
      'close:1000',
    ]);
    await closed;
    expect(callbacks).toEqual(['blob one', 'after']);
    await done();
  });

  test('a send after close() calls back with an error and counts in bufferedAmount (WHATWG)', async () => {
    const { ws, done } = await pair(lib);
    ws.close();
    const before = ws.bufferedAmount;
    const err = new Promise<Error | undefined>((resolve) => ws.send('12345', resolve));
    expect(ws.bufferedAmount).toBe(before + 5);
    expect(await err).toBeInstanceOf(Error);
    await done();
  });
});

describe.each(LIBS)('%s: state and attributes', (_name, lib) => {
  test('pause() and resume() before open are no-ops; send() before open throws', async () => {
    const { wss, url } = await listenWith(lib);
    const ws = new lib.WebSocket(url);
    expect(() => ws.pause()).not.toThrow();
    expect(() => ws.resume()).not.toThrow();
    expect(ws.isPaused).toBe(false);
    expect(() => ws.send('early')).toThrow(/not open|CONNECTING/);
    expect(() => ws.ping()).toThrow(/not open|CONNECTING/);
    await next(ws, 'open');
    ws.pause();
    expect(ws.isPaused).toBe(true);
    ws.resume();
    expect(ws.isPaused).toBe(false);
    ws.close();
    await next(ws, 'close');
    expect(() => ws.pause()).not.toThrow();
    await shutdown(wss);
  });

  test('an unknown binaryType is ignored', async () => {
    const { wss, url } = await listenWith(lib);
    const ws = new lib.WebSocket(url);
    ws.binaryType = 'arraybuffer';
    ws.binaryType = 'bogus';
    expect(ws.binaryType).toBe('arraybuffer');
    await next(ws, 'open');
    ws.terminate();
    await shutdown(wss);
  });

  test('ready-state constants live on the prototype and the constructor, enumerable and read-only', () => {
    for (const [i, name] of ['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED'].entries()) {
      for (const target of [lib.WebSocket.prototype, lib.WebSocket]) {
        expect(Object.getOwnPropertyDescriptor(target, name)).toMatchObject({
          value: i,
          enumerable: true,
          writable: false,
        });
      }
    }
  });

  test('attributes are enumerable accessors on the prototype', () => {
    for (const name of [
      'binaryType',
      'bufferedAmount',
      'extensions',
      'isPaused',
      'protocol',
      'readyState',
      'url',
      'onopen',
      'onerror',
      'onclose',
      'onmessage',
    ]) {
      const d = Object.getOwnPropertyDescriptor(lib.WebSocket.prototype, name);
      expect([name, typeof d?.get, d?.enumerable]).toEqual([name, 'function', true]);
    }
  });

  test('an instance has no own ready-state constants', async () => {
    const { wss, url } = await listenWith(lib);
    const ws = new lib.WebSocket(url);
    expect(Object.keys(ws)).not.toContain('OPEN');
    expect(ws.OPEN).toBe(1);
    await next(ws, 'open');
    ws.terminate();
    await shutdown(wss);
  });
});
