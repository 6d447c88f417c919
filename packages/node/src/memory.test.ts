// bufferedAmount tells the truth about memory: what a peer that does not read holds on the server
// is what its bufferedAmount reports, give or take a small constant (outbox.ts).
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { WebSocket } from './index.js';
import type { WebSocket as ServerSide } from './index.js';
import { closeServer, closed, listen, opened } from './testing/helpers.js';

// A full collection on demand, so that retained memory is measured and not garbage.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const KiB = 1024;
const MiB = 1024 * KiB;

function arrayBuffersAfterGc(): number {
  gc();
  gc();
  return process.memoryUsage().arrayBuffers;
}

test('a broadcast to 50 clients, one of which never reads: it holds about its bufferedAmount, not the shared slabs', async () => {
  const { wss, url } = await listen();
  const serverSides: ServerSide[] = [];
  wss.on('connection', (ws) => serverSides.push(ws));
  const connect = async (): Promise<[WebSocket, ServerSide]> => {
    const client = new WebSocket(url, { perMessageDeflate: false });
    await opened(client);
    while (serverSides.length === 0) await new Promise((r) => setImmediate(r));
    return [client, serverSides.pop()!];
  };
  const readers: WebSocket[] = [];
  const sides: ServerSide[] = [];
  for (let i = 0; i < 49; i++) {
    const [client, side] = await connect();
    readers.push(client);
    sides.push(side);
  }
  // The 50th client stops reading.
  const [silent, silentServerSide] = await connect();
  silent.pause();
  sides.push(silentServerSide);
  const clients = [...readers, silent];
  let received = 0;
  for (const r of readers) r.on('message', () => received++);

  const baseline = arrayBuffersAfterGc();
  const message = Buffer.alloc(2 * KiB, 0x61); // small: copied into the shared slabs
  let sent = 0;
  // Rounds of 100 messages to everyone until 1 MiB waits for the silent client past what the
  // kernel buffers took; each round waits for the readers, whose buffers thus empty.
  for (let round = 0; round < 100 && silentServerSide.bufferedAmount < MiB; round++) {
    for (let i = 0; i < 100; i++) for (const ws of sides) ws.send(message);
    sent += 100;
    while (received < sent * 49) await new Promise((r) => setImmediate(r));
  }
  const buffered = silentServerSide.bufferedAmount;
  expect(buffered).toBeGreaterThanOrEqual(MiB);
  const retained = arrayBuffersAfterGc() - baseline;
  // The constant: the shared slab of the write the silent socket is stuck in (64 KiB), two chunks
  // of its own (16 KiB each), what the paused client read before it stopped, and the test's own
  // noise. Before the fix the silent socket pinned every slab it had a frame in: 30x its share.
  expect(retained).toBeLessThan(buffered + 768 * KiB);

  silent.resume(); // a paused socket would not see its end
  for (const ws of sides) ws.terminate();
  await Promise.all(clients.map((c) => closed(c)));
  await closeServer(wss);
}, 60_000);
