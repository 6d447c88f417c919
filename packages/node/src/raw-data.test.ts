// ws's echo idiom, written without annotations or casts as ws users write it: what a 'message'
// listener receives (RawData) is what send() takes, whatever the binaryType.
import { WebSocket } from './index.js';
import type { RawData, SendData } from './index.js';
import { closeServer, closed, listen, messages, opened } from './testing/helpers.js';

test('RawData is SendData (a type-level check: this file does not compile otherwise)', () => {
  const echo = (data: RawData): SendData => data;
  expect(echo(Buffer.from('x'))).toEqual(Buffer.from('x'));
});

test.each(['nodebuffer', 'arraybuffer', 'fragments'] as const)(
  'binaryType %s: a server echoes each message back whole, with its type',
  async (binaryType) => {
    const { wss, url } = await listen();
    const errors: unknown[] = [];
    wss.on('connection', (peer) => {
      peer.binaryType = binaryType;
      peer.on('message', (data, isBinary) => {
        try {
          peer.send(data, { binary: isBinary });
        } catch (err) {
          // Reported, and the peer closes, so a failure ends the test instead of hanging it.
          errors.push(err);
          peer.close(1011);
        }
      });
    });
    const ws = new WebSocket(url);
    try {
      await opened(ws);
      const got = Promise.race([messages(ws, 3), closed(ws)]);
      ws.send('text');
      ws.send(Buffer.from('bytes'));
      ws.send('frag', { fin: false });
      ws.send('ments', { fin: true });
      const result = await got;
      expect(errors).toEqual([]);
      expect((result as [RawData, boolean][]).map(([data, isBinary]) => [String(data), isBinary])).toEqual([
        ['text', false],
        ['bytes', true],
        ['fragments', false],
      ]);
      ws.close(1000);
      expect((await closed(ws))[0]).toBe(1000);
    } finally {
      ws.terminate();
      await closeServer(wss);
    }
  },
);
