// maxBufferedAmount: a peer that does not read is closed with 1008 once what waits for it would
// pass the limit; a peer that reads under the same load is not.
import { WebSocket, WebSocketServer } from './index.js';
import type { WebSocket as ServerSide } from './index.js';
import { closeServer, closed, listen, once, opened } from './testing/helpers.js';

const KiB = 1024;

async function connect(url: string, wss: WebSocketServer, options = {}): Promise<[WebSocket, ServerSide]> {
  const side = once<[ServerSide]>(wss, 'connection');
  const client = new WebSocket(url, options);
  await opened(client);
  return [client, (await side)[0]];
}

describe('maxBufferedAmount', () => {
  test('server: a client that does not read is closed with 1008; one that reads the same load is not', async () => {
    const { wss, url } = await listen({ maxBufferedAmount: 256 * KiB });
    const [reader, readerSide] = await connect(url, wss);
    const [silent, silentSide] = await connect(url, wss);
    silent.pause();
    const silentSideClosed = new Promise<[number, string, boolean]>((resolve) =>
      silentSide.addEventListener('close', (e) => resolve([e.code, e.reason, e.wasClean])),
    );
    const results: boolean[] = [];
    const errors: (Error | undefined)[] = [];
    const message = Buffer.alloc(64 * KiB, 0x62);
    // Bounded: 400 x 64 KiB is far more than the kernel buffers of both ends hold.
    for (let sent = 0; silentSide.readyState === WebSocket.OPEN && sent < 400; sent++) {
      const got = once(reader, 'message');
      readerSide.send(message);
      results.push(silentSide.send(message, (err) => errors.push(err)));
      await got;
    }
    expect(silentSide.readyState).toBe(WebSocket.CLOSING);
    // The send that found too much waiting failed, as sends to a closing socket do; so does any later one.
    expect(results[results.length - 1]).toBe(false);
    const late = await new Promise<Error | undefined>((resolve) => {
      expect(silentSide.send('late', resolve)).toBe(false);
    });
    expect(late).toMatchObject({ code: 'WS_ERR_NOT_OPEN' });
    // What waited stayed under the limit plus one message.
    expect(silentSide.bufferedAmount).toBeLessThanOrEqual(256 * KiB + message.length + 2 * KiB);
    // The reader took the same load and is still open.
    expect(readerSide.readyState).toBe(WebSocket.OPEN);
    // Once the client reads, it gets what was accepted, then the close frame; both sides report 1008.
    const silentGot = new Promise<number>((resolve) => {
      let n = 0;
      silent.on('message', () => n++);
      silent.once('close', () => resolve(n));
    });
    const silentClosed = closed(silent);
    silent.resume();
    expect(await silentClosed).toEqual([1008, 'too slow: send buffer over the limit']);
    expect(await silentGot).toBe(results.length - 1);
    expect(await silentSideClosed).toEqual([1008, 'too slow: send buffer over the limit', true]);
    await new Promise((r) => setImmediate(r));
    // Each send's callback ran once: the accepted ones without an error, the refused one with one.
    expect(errors).toHaveLength(results.length);
    expect(errors.filter((e) => e !== undefined)).toEqual([expect.any(Error)]);
    reader.close();
    await closed(reader);
    await closeServer(wss);
  }, 30_000);

  test('client: a server that never reads is closed with 1008 once closeTimeout ends the wait for its reply', async () => {
    const { wss, url } = await listen();
    const [client, side] = await connect(url, wss, { maxBufferedAmount: 128 * KiB, closeTimeout: 100 });
    side.pause();
    const done = new Promise<[number, string, boolean]>((resolve) =>
      client.addEventListener('close', (e) => resolve([e.code, e.reason, e.wasClean])),
    );
    const message = Buffer.alloc(64 * KiB, 0x63);
    for (let i = 0; client.readyState === WebSocket.OPEN && i < 400; i++) {
      client.send(message);
      await new Promise((r) => setImmediate(r));
    }
    expect(await done).toEqual([1008, 'too slow: send buffer over the limit', false]);
    side.resume();
    await closed(side);
    await closeServer(wss);
  }, 30_000);

  test('the option is checked: a whole number of bytes', () => {
    expect(() => new WebSocketServer({ noServer: true, maxBufferedAmount: -1 })).toThrow(
      /maxBufferedAmount must be a whole number of bytes/,
    );
    expect(() => new WebSocket('ws://127.0.0.1:1', { maxBufferedAmount: 1.5 })).toThrow(
      /maxBufferedAmount must be a whole number of bytes/,
    );
  });
});
