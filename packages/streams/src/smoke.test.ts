import { WebSocket as WsWebSocket } from 'ws';
import { streamsServer } from './testing/helpers.js';

test('smoke', async () => {
  const server = await streamsServer({ perMessageDeflate: true }, (ws) => {
    ws.onmessage = (ev: Event) => ws.send((ev as MessageEvent).data as string);
  });
  const client = new WsWebSocket(server.url, { perMessageDeflate: true });
  await new Promise((r) => client.once('open', r));
  const got = new Promise<string>((r) => client.once('message', (d) => r(String(d))));
  client.send('hello '.repeat(1000));
  expect(await got).toBe('hello '.repeat(1000));
  expect(client.extensions).toContain('permessage-deflate');
  const closed = new Promise<number>((r) => client.once('close', (c) => r(c)));
  client.close(1000);
  expect(await closed).toBe(1000);
  await server.close();
});
