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

describe.each(LIBS)('%s: the WebSocket option', (_name, lib) => {
  test("'connection' receives an instance of the given subclass, with its extra method", async () => {
    class Tagged extends lib.WebSocket {
      tag(): string {
        return `tagged ${this.readyState}`;
      }
    }
    const { wss, url } = await listenWith(lib, { WebSocket: Tagged });
    const accepted = next<[DiffSocket]>(wss, 'connection');
    const ws = new lib.WebSocket(url);
    await next(ws, 'open');
    const [peer] = await accepted;
    expect(peer).toBeInstanceOf(Tagged);
    expect(peer).toBeInstanceOf(lib.WebSocket);
    expect((peer as Tagged).tag()).toBe('tagged 1');
    // It works as any server socket: a message goes through it.
    const got = next<[Buffer]>(ws, 'message');
    peer.send('from the subclass');
    expect(String((await got)[0])).toBe('from the subclass');
    ws.close();
    await next(ws, 'close');
    await shutdown(wss);
  });
});
