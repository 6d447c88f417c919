import { Writable } from 'node:stream';
import { Outbox } from './outbox.js';
import { WebSocket } from './index.js';
import { closeServer, closed, listen, messages, opened } from './testing/helpers.js';

/** A Writable that records every write request: writev batches appear as one entry with several chunks. */
function recorder(): { sink: Writable; writes: Buffer[][] } {
  const writes: Buffer[][] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      writes.push([chunk]);
      callback();
    },
    writev(chunks, callback) {
      writes.push(chunks.map((c) => c.chunk as Buffer));
      callback();
    },
  });
  return { sink, writes };
}

const bytes = (...values: number[]): Uint8Array => Uint8Array.from(values);

describe('Outbox', () => {
  test('small frames leave as one write, copied when queued', () => {
    const { sink, writes } = recorder();
    const box = new Outbox(() => {});
    const payload = bytes(1, 2, 3);
    box.push([bytes(0x82, 3), payload], undefined);
    payload.fill(9); // the caller reuses its buffer at once
    box.push([bytes(0x81, 1), bytes(65)], undefined);
    expect(box.queued).toBe(8);
    box.flush(sink);
    expect(writes).toHaveLength(1);
    expect([...writes[0]![0]!]).toEqual([0x82, 3, 1, 2, 3, 0x81, 1, 65]);
  });

  test('large pieces are written as they are, in order between the copies', () => {
    const { sink, writes } = recorder();
    const box = new Outbox(() => {});
    const big = new Uint8Array(64 * 1024).fill(7);
    box.push([bytes(0x82, 127), big], undefined);
    box.push([bytes(0x8a, 0)], undefined);
    box.flush(sink);
    const chunks = writes.flat();
    expect(chunks).toHaveLength(3);
    expect([...chunks[0]!]).toEqual([0x82, 127]);
    expect(chunks[1]!.buffer).toBe(big.buffer); // not copied
    expect([...chunks[2]!]).toEqual([0x8a, 0]);
  });

  test('runs of two connections interleaved in the shared slab stay apart', () => {
    const a = recorder();
    const b = recorder();
    const boxA = new Outbox(() => {});
    const boxB = new Outbox(() => {});
    boxA.push([bytes(1)], undefined);
    boxB.push([bytes(2)], undefined);
    boxA.push([bytes(3)], undefined);
    boxA.flush(a.sink);
    boxB.flush(b.sink);
    expect(a.writes.flat().map((c) => [...c])).toEqual([[1], [3]]);
    expect(b.writes.flat().map((c) => [...c])).toEqual([[2]]);
  });

  test('callbacks run in order once written; buffered counts queued and in-flight bytes', async () => {
    let release: () => void = () => {};
    const sink = new Writable({
      write(_chunk, _encoding, callback) {
        release = callback;
      },
    });
    const box = new Outbox(() => {});
    const order: string[] = [];
    box.push([bytes(1, 2)], () => order.push('a'));
    box.push([bytes(3)], () => order.push('b'));
    expect(box.buffered).toBe(3);
    box.flush(sink);
    expect(box.queued).toBe(0);
    expect(box.buffered).toBe(3);
    expect(order).toEqual([]);
    release();
    await new Promise((resolve) => process.nextTick(resolve));
    expect(order).toEqual(['a', 'b']);
    expect(box.buffered).toBe(0);
  });

  test('discard fails every queued callback', async () => {
    const box = new Outbox(() => {});
    const errors: (Error | undefined)[] = [];
    box.push([bytes(1)], (err) => errors.push(err));
    box.push([bytes(2)], (err) => errors.push(err));
    box.discard(new Error('gone'));
    expect(box.buffered).toBe(0);
    await new Promise((resolve) => process.nextTick(resolve));
    expect(errors.map((e) => e?.message)).toEqual(['gone', 'gone']);
  });
});

describe('gathered writes on a connection', () => {
  test('the replies to one received message leave in one socket write, in order, callbacks after', async () => {
    const { wss, url } = await listen();
    const writes: number[] = [];
    const callbacks: string[] = [];
    const seen: { firstSend?: boolean; buffered?: number } = {};
    wss.on('connection', (ws, req) => {
      const socket = req.socket;
      const write = socket.write;
      socket.write = function (this: typeof socket, ...args: Parameters<typeof write>) {
        writes.push((args[0] as Uint8Array).byteLength);
        return write.apply(this, args);
      } as typeof write;
      ws.on('message', (data) => {
        seen.firstSend = ws.send(`${String(data)}-1`, () => callbacks.push('1'));
        ws.send(`${String(data)}-2`, () => callbacks.push('2'));
        ws.send(Buffer.from('three'), () => callbacks.push('3'));
        // Handed to send and not yet written: 3 frames of 2-byte headers and 4 + 4 + 5 bytes.
        seen.buffered = ws.bufferedAmount;
      });
    });
    const client = new WebSocket(url);
    await opened(client);
    const got = messages(client, 3);
    client.send('ab');
    const received = await got;
    expect(received.map(([d]) => String(d))).toEqual(['ab-1', 'ab-2', 'three']);
    expect(seen).toEqual({ firstSend: true, buffered: 19 });
    expect(writes).toEqual([19]);
    expect(callbacks).toEqual(['1', '2', '3']);
    client.close();
    await closed(client);
    await closeServer(wss);
  });

  test('data sent before close() in a handler goes out ahead of the close frame', async () => {
    const { wss, url } = await listen();
    wss.on('connection', (ws) => {
      ws.on('message', () => {
        ws.send('last words');
        ws.close(4000, 'bye');
      });
    });
    const client = new WebSocket(url);
    await opened(client);
    const got = messages(client, 1);
    const done = closed(client);
    client.send('x');
    expect(String((await got)[0]![0])).toBe('last words');
    expect(await done).toEqual([4000, 'bye']);
    await closeServer(wss);
  });
});
