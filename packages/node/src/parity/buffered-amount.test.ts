// bufferedAmount and send callbacks, against ws: 0 when idle, growing by every byte the peer has
// not taken, back to 0 once it read everything; callbacks once each, in order, with an Error only
// for data the socket never wrote.
import { LIBS, listenWith, next, shutdown } from '../testing/differential.js';
import type { DiffServer, DiffSocket, Lib } from '../testing/differential.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

async function pair(lib: Lib): Promise<{ wss: DiffServer; client: DiffSocket; side: DiffSocket }> {
  const { wss, url } = await listenWith(lib, { perMessageDeflate: false });
  const connection = next<[DiffSocket]>(wss, 'connection');
  const client = new lib.WebSocket(url, { perMessageDeflate: false });
  await next(client, 'open');
  const [side] = await connection;
  return { wss, client, side };
}

/** Sends 64 KiB messages to a peer that does not read until 1 MiB waits after the kernel took its fill. */
async function fill(side: DiffSocket, cb?: (i: number) => (err?: Error) => void): Promise<number> {
  const chunk = Buffer.alloc(64 * KiB, 0x61);
  let sent = 0;
  for (let i = 0; i < 1000 && side.bufferedAmount < MiB; i++) {
    side.send(chunk, cb?.(sent));
    sent++;
    await tick();
  }
  return sent;
}

describe.each(LIBS)('%s: bufferedAmount and send callbacks', (_name, lib) => {
  test('0 when idle; grows by every byte sent to a peer that does not read; 0 once it read everything', async () => {
    const { wss, client, side } = await pair(lib);
    expect(side.bufferedAmount).toBe(0);
    expect(client.bufferedAmount).toBe(0);
    client.pause();
    let received = 0;
    client.on('message', (data: Buffer) => (received += data.length));
    const calls: number[] = [];
    const sent = await fill(side, (i) => () => calls.push(i));
    // The kernel buffers of both ends are full: everything sent from now on is unsent, and counted.
    await new Promise((r) => setTimeout(r, 50));
    const before = side.bufferedAmount;
    expect(before).toBeGreaterThanOrEqual(MiB);
    const more = Buffer.alloc(256 * KiB, 0x62);
    side.send(more, () => calls.push(sent));
    expect(side.bufferedAmount).toBeGreaterThanOrEqual(before + more.length);
    // The peer reads: everything arrives, every callback runs, and nothing is left buffered.
    client.resume();
    const total = sent * 64 * KiB + more.length;
    for (let i = 0; i < 10_000 && (received < total || calls.length < sent + 1); i++) await tick();
    expect(received).toBe(total);
    await tick();
    expect(side.bufferedAmount).toBe(0);
    expect(calls).toEqual(Array.from({ length: sent + 1 }, (_, i) => i));
    client.close();
    await next(client, 'close');
    await shutdown(wss);
  });

  test('callbacks run once each, in order, without an error when written and with one when the socket closed first', async () => {
    const { wss, client, side } = await pair(lib);
    client.pause();
    const results: [number, Error | undefined][] = [];
    const sent = await fill(side, (i) => (err) => results.push([i, err]));
    // Sent after the kernel buffers filled up: never written.
    const late = Array.from({ length: 8 }, (_, i) => sent + i);
    for (const i of late) side.send('late', (err?: Error) => results.push([i, err]));
    const closed = next(side, 'close');
    side.terminate();
    await closed;
    for (let i = 0; i < 1000 && results.length < sent + late.length; i++) await tick();
    expect(results.map(([i]) => i).sort((a, b) => a - b)).toEqual(
      Array.from({ length: sent + late.length }, (_, i) => i),
    );
    // The written ones come first and in order, without an error (ws passes null, we undefined);
    // after the first error, only errors.
    const firstError = results.findIndex(([, err]) => err);
    expect(firstError).toBeGreaterThanOrEqual(0);
    for (const [, err] of results.slice(0, firstError)) expect(err ?? undefined).toBeUndefined();
    expect(results.slice(0, firstError).map(([i]) => i)).toEqual(
      Array.from({ length: firstError }, (_, i) => i),
    );
    // (Node's own errors come from another realm than the test's Error.)
    for (const [, err] of results.slice(firstError)) {
      expect(Object.prototype.toString.call(err)).toBe('[object Error]');
    }
    client.resume();
    await next(client, 'close');
    await shutdown(wss);
  });
});
