// The differential harness itself: an echo round trip behaves the same in both libraries.
import { LIBS, listenWith, next, shutdown } from '../testing/differential.js';
import type { DiffSocket } from '../testing/differential.js';

describe.each(LIBS)('%s: echo', (_name, lib) => {
  test('a text and a binary message come back with their types', async () => {
    const { wss, url } = await listenWith(lib);
    wss.on('connection', (peer: DiffSocket) =>
      peer.on('message', (data: Buffer, isBinary: boolean) => peer.send(data, { binary: isBinary })),
    );
    const ws = new lib.WebSocket(url);
    await next(ws, 'open');
    const got: [string, boolean][] = [];
    ws.on('message', (data: Buffer, isBinary: boolean) => got.push([data.toString(), isBinary]));
    ws.send('hello');
    ws.send(Buffer.from('bytes'));
    await new Promise<void>((resolve) => ws.on('message', () => got.length === 2 && resolve()));
    expect(got).toEqual([
      ['hello', false],
      ['bytes', true],
    ]);
    ws.close();
    await next(ws, 'close');
    await shutdown(wss);
  });
});
