// close() and terminate() while CONNECTING, including from an 'upgrade' listener: the connection is
// abandoned (not opened), readyState is CLOSING at once, then 'error' and 'close' 1006, as in ws.
import { LIBS, listenWith, next, record, shutdown } from '../testing/differential.js';
import type { DiffSocket } from '../testing/differential.js';

describe.each(LIBS)('%s: aborting the opening handshake', (_name, lib) => {
  test.each(['close', 'terminate'] as const)("%s() from an 'upgrade' listener", async (method) => {
    const { wss, url } = await listenWith(lib);
    const serverClosed = new Promise<unknown[]>((resolve) =>
      wss.on('connection', (peer: DiffSocket) => peer.on('close', (...args: unknown[]) => resolve(args))),
    );
    const ws = new lib.WebSocket(url);
    const log = record(ws, ['upgrade', 'open', 'close']);
    ws.on('error', (err: Error) => log.push(['error', err.message]));
    const states: number[] = [];
    ws.on('upgrade', () => {
      states.push(ws.readyState);
      ws[method]();
      states.push(ws.readyState);
    });
    await next(ws, 'close');
    expect(states).toEqual([ws.CONNECTING, ws.CLOSING]);
    expect(log.map((e) => (e[0] === 'upgrade' ? ['upgrade'] : e))).toEqual([
      ['upgrade'],
      ['error', 'WebSocket was closed before the connection was established'],
      ['close', 1006, Buffer.alloc(0)],
    ]);
    expect(ws.readyState).toBe(ws.CLOSED);
    // The server had accepted; it sees the TCP connection go without a close frame.
    expect((await serverClosed)[0]).toBe(1006);
    await shutdown(wss);
  });

  test.each(['close', 'terminate'] as const)('%s() right after the constructor', async (method) => {
    const { wss, url } = await listenWith(lib);
    const ws = new lib.WebSocket(url);
    const log = record(ws, ['upgrade', 'open', 'close']);
    ws.on('error', (err: Error) => log.push(['error', err.message]));
    ws[method]();
    expect(ws.readyState).toBe(ws.CLOSING);
    // Nothing is emitted synchronously.
    expect(log).toEqual([]);
    await next(ws, 'close');
    expect(log).toEqual([
      ['error', 'WebSocket was closed before the connection was established'],
      ['close', 1006, Buffer.alloc(0)],
    ]);
    await shutdown(wss);
  });
});
