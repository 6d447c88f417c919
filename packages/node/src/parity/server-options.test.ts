// WebSocketServer options and events, the same scenario against ws and against us.
import { LIBS, listenWith, next, shutdown } from '../testing/differential.js';
import type { DiffSocket } from '../testing/differential.js';

describe.each(LIBS)('%s: subprotocol selection', (_name, lib) => {
  test('without handleProtocols the first offered subprotocol is selected', async () => {
    const { wss, url } = await listenWith(lib);
    const accepted = next<[DiffSocket]>(wss, 'connection');
    const ws = new lib.WebSocket(url, ['second-choice', 'chat']);
    await next(ws, 'open');
    const [peer] = await accepted;
    expect(ws.protocol).toBe('second-choice');
    expect(peer.protocol).toBe('second-choice');
    ws.close();
    await next(ws, 'close');
    await shutdown(wss);
  });
});
