// Hostile peers after the handshake: lying lengths, fragment floods, deflate bombs, ping floods,
// peers that never read, and invalid UTF-8 that must be caught on arrival (RFC 6455 5, 8.1; RFC 7692).
import zlib from 'node:zlib';
import { RawPeer, gc, nextConnection, withServer } from './testing/raw-peer.js';
import { closePayload, frame } from '@rfc6455/test-support';
import { zlibHandle } from './node-internals.js';

const MiB = 1024 * 1024;

/** Writes `data` in slices of `size`, each after the previous one was handed to the kernel. */
async function writeInSlices(
  peer: RawPeer,
  data: Uint8Array,
  size: number,
  after?: () => void,
): Promise<number> {
  let off = 0;
  while (off < data.length && !peer.socket.destroyed && peer.reader.frames.length === 0) {
    const end = Math.min(data.length, off + size);
    await peer.write(data.subarray(off, end));
    off = end;
    // Let the server read this slice on its own turn (a separate TCP chunk).
    await new Promise((r) => setImmediate(r));
    after?.();
  }
  return off;
}

describe('lengths announced in frame headers (RFC 6455 5.2, 10.4)', () => {
  test('a header announcing 2^63-1 bytes: 1009 before any payload', async () => {
    await withServer({}, async ({ port, wss }) => {
      const conn = nextConnection(wss);
      const peer = await RawPeer.open(port);
      const { seen } = await conn;
      await peer.write(frame({ opcode: 2, length: 2n ** 63n - 1n }));
      expect((await peer.closeFrame()).code).toBe(1009);
      await seen.closed;
      // The application sees a failed connection (1006, as in ws); the code sent is on the error.
      expect(seen.closes[0]).toMatchObject({ code: 1006, wasClean: false });
      expect(seen.errors[0]).toMatchObject({ closeCode: 1009 });
      peer.socket.destroy();
      await peer.closed;
    });
  });

  test('a header announcing one byte more than maxPayload: 1009 before any payload', async () => {
    await withServer({ maxPayload: MiB }, async ({ port, wss }) => {
      const conn = nextConnection(wss);
      const peer = await RawPeer.open(port);
      const { seen } = await conn;
      await peer.write(frame({ opcode: 1, length: BigInt(MiB + 1) }));
      expect((await peer.closeFrame()).code).toBe(1009);
      await seen.closed;
      // The application sees a failed connection (1006, as in ws); the code sent is on the error.
      expect(seen.closes[0]).toMatchObject({ code: 1006, wasClean: false });
      expect(seen.errors[0]).toMatchObject({ closeCode: 1009 });
      expect(seen.messages).toEqual([]);
      await peer.closed;
    });
  });
});

/** One binary message cut into `count` masked 1-byte frames (zero mask key: the wire shows the payload). */
function oneByteFragments(count: number): Buffer {
  const buf = Buffer.alloc(count * 7);
  for (let i = 0; i < count; i++) {
    const o = i * 7;
    buf[o] = (i === 0 ? 0x02 : 0x00) | (i === count - 1 ? 0x80 : 0);
    buf[o + 1] = 0x81;
    buf[o + 6] = i & 0xff;
  }
  return buf;
}

describe('one million 1-byte fragments of one message (RFC 6455 5.4)', () => {
  const wire = oneByteFragments(1_000_000);

  async function flood(options: {
    maxPayload?: number;
  }): Promise<{ peakHeap: number; code?: number; message?: Buffer }> {
    let peakHeap = 0;
    let result: { code?: number; message?: Buffer } = {};
    await withServer(options, async ({ port, wss }) => {
      const conn = nextConnection(wss);
      const peer = await RawPeer.open(port);
      const { seen } = await conn;
      gc();
      const base = process.memoryUsage().heapUsed;
      await writeInSlices(peer, wire, MiB, () => {
        gc();
        peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed - base);
      });
      if (options.maxPayload !== undefined) {
        result.code = (await peer.closeFrame()).code;
      } else {
        await peer.until(() => seen.messages.length > 0, 'the message');
        result = { message: seen.messages[0] as Buffer };
        peer.socket.destroy();
      }
      await seen.closed;
      peer.socket.destroy();
      await peer.closed;
    });
    return { peakHeap, ...result };
  }

  test('under the message limit: delivered whole, and the heap holds about the message, not a million views', async () => {
    const { peakHeap, message } = await flood({});
    expect(message!.length).toBe(1_000_000);
    expect(message![999_999]).toBe(999_999 & 0xff);
    // A million fragments as a million small objects would take tens of MiB of heap.
    expect(peakHeap).toBeLessThan(16 * MiB);
  });

  test('past the message limit: 1009, with the heap bounded by the limit', async () => {
    const { peakHeap, code } = await flood({ maxPayload: 512 * 1024 });
    expect(code).toBe(1009);
    expect(peakHeap).toBeLessThan(16 * MiB);
  });
});

describe('a deflate bomb (RFC 7692 8: inflated size is bounded)', () => {
  const zeros = Buffer.alloc(10 * 1000 * 1000);
  const bomb = zlib.deflateRawSync(zeros, { finishFlush: zlib.constants.Z_SYNC_FLUSH }).subarray(0, -4);

  /**
   * Counts every byte the native zlib handles produce while `run` runs (node:zlib's exports are
   * read-only, so the shared native prototype is instrumented). In these tests the server deflates
   * nothing (close frames and short echoes are never compressed): all of it is inflated output.
   */
  async function countInflated(run: () => Promise<void>): Promise<number> {
    const probe = zlib.createInflateRaw();
    const proto = Object.getPrototypeOf(zlibHandle(probe)!.handle) as {
      init: (...a: unknown[]) => unknown;
      writeSync: (...a: unknown[]) => unknown;
    };
    probe.close();
    const { init, writeSync } = proto;
    const states = new WeakMap<object, Uint32Array>();
    let inflated = 0;
    proto.init = function (this: object, ...args: unknown[]) {
      // init(windowBits, level, memLevel, strategy, writeState, ...): the state holds availOut after each write.
      states.set(this, args[4] as Uint32Array);
      return init.apply(this, args);
    };
    proto.writeSync = function (this: object, ...args: unknown[]) {
      const result = writeSync.apply(this, args);
      const state = states.get(this);
      if (state) inflated += (args[6] as number) - state[0]!;
      return result;
    };
    try {
      await run();
    } finally {
      proto.init = init;
      proto.writeSync = writeSync;
    }
    return inflated;
  }

  test.each([
    ['one frame', [bomb]],
    ['many frames', [bomb.subarray(0, 100), bomb.subarray(100, 2000), bomb.subarray(2000)]],
  ])(
    '10 MB of zeros in %s: 1009, and at most the limit plus one zlib chunk inflated',
    async (_name, pieces) => {
      expect(bomb.length).toBeLessThan(20 * 1024);
      const limit = MiB;
      const inflated = await countInflated(() =>
        withServer({ perMessageDeflate: true, maxPayload: limit }, async ({ port, wss }) => {
          const conn = nextConnection(wss);
          const peer = await RawPeer.open(port, '/', 'Sec-WebSocket-Extensions: permessage-deflate\r\n');
          expect(peer.head).toMatch(/permessage-deflate/);
          const { seen } = await conn;
          const frames = pieces.map((p, i) =>
            frame({ opcode: i === 0 ? 2 : 0, rsv1: i === 0, fin: i === pieces.length - 1, payload: p }),
          );
          await peer.write(Buffer.concat(frames));
          expect((await peer.closeFrame()).code).toBe(1009);
          await seen.closed;
          // The application sees a failed connection (1006, as in ws); the code sent is on the error.
          expect(seen.closes[0]).toMatchObject({ code: 1006, wasClean: false });
          expect(seen.errors[0]).toMatchObject({ closeCode: 1009 });
          await peer.closed;
        }),
      );
      expect(inflated).toBeGreaterThan(limit);
      expect(inflated).toBeLessThanOrEqual(limit + 16 * 1024);
    },
  );
});

describe('peers that do not read', () => {
  test('a ping flood from a peer that never reads: pending pongs stay bounded (RFC 6455 5.5.3)', async () => {
    await withServer({}, async ({ port, wss }) => {
      const conn = nextConnection(wss);
      const peer = await RawPeer.open(port);
      const { ws, seen } = await conn;
      peer.socket.pause();
      let pings = 0;
      ws.on('ping', () => pings++);
      const one = frame({ opcode: 9, payload: Buffer.alloc(125, 0x70), mask: 0 });
      const batch = Buffer.concat(Array.from({ length: 8000 }, () => one));
      let maxBuffered = 0;
      // 64 MB of pings: far more than the kernel buffers on both ends can hold as pongs.
      for (let i = 0; i < 64; i++) {
        await peer.write(batch);
        await new Promise((r) => setImmediate(r));
        maxBuffered = Math.max(maxBuffered, ws.bufferedAmount);
      }
      // The peer is paused, so nothing arrives to wake peer.until(): poll the server's count (bounded).
      for (let i = 0; pings < 64 * 8000 && i < 2000; i++) await new Promise((r) => setTimeout(r, 10));
      expect(pings).toBe(64 * 8000);
      // Backpressure was reached (pongs waited), and what waits is one pong, not one per ping.
      expect(maxBuffered).toBeGreaterThan(0);
      expect(maxBuffered).toBeLessThan(64 * 1024);
      peer.socket.destroy();
      await seen.closed;
      expect(seen.closes[0]).toMatchObject({ code: 1006, wasClean: false });
      await peer.closed;
    });
  }, 30_000);

  test('an application sending to a peer that never reads: send returns false and bufferedAmount grows', async () => {
    await withServer({}, async ({ port, wss }) => {
      const conn = nextConnection(wss);
      const peer = await RawPeer.open(port);
      const { ws } = await conn;
      peer.socket.pause();
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      // Fill the kernel buffers of both ends: send until what was sent stays buffered here.
      for (let i = 0; i < 1000 && ws.bufferedAmount < MiB; i++) {
        ws.send(chunk);
        await new Promise((r) => setImmediate(r));
      }
      // Still buffered after a pause: the peer really is not reading.
      await new Promise((r) => setTimeout(r, 50));
      const before = ws.bufferedAmount;
      expect(before).toBeGreaterThanOrEqual(MiB);
      const results: boolean[] = [];
      for (let i = 0; i < 32; i++) results.push(ws.send(chunk));
      expect(results.every((r) => r === false)).toBe(true);
      expect(ws.bufferedAmount).toBeGreaterThanOrEqual(before + 32 * chunk.length);
      // Once the peer reads, everything drains.
      const drained = new Promise<void>((resolve) => ws.once('drain', () => resolve()));
      peer.socket.resume();
      await drained;
      await peer.until(() => ws.bufferedAmount === 0 || undefined, 'bufferedAmount back to 0');
      peer.socket.destroy();
      await peer.closed;
    });
  });
});

describe('invalid UTF-8 in a 1 MiB text frame is caught when the bad byte arrives (RFC 6455 8.1)', () => {
  const size = MiB;
  const cases: [string, number, number][] = [
    ['first byte', 0, 0xff],
    ['middle byte', size / 2, 0xff],
    ['last byte', size - 1, 0xff],
    ['last byte (a truncated sequence)', size - 1, 0xc3],
  ];
  test.each(cases)('bad %s: 1007 before the rest is sent', async (_name, at, bad) => {
    await withServer({}, async ({ port, wss }) => {
      const payload = Buffer.alloc(size, 0x61);
      payload[at] = bad;
      const wire = frame({ opcode: 1, payload, mask: 0x01020304 });
      const headerLength = wire.length - size;
      const conn = nextConnection(wss);
      const peer = await RawPeer.open(port);
      const { seen } = await conn;
      // Everything up to and including the bad byte, in 16 KiB TCP chunks; the rest is held back.
      const prefix = wire.subarray(0, headerLength + at + 1);
      const sent = await writeInSlices(peer, prefix, 16 * 1024);
      expect(sent).toBeLessThanOrEqual(prefix.length);
      const close = await peer.closeFrame();
      expect(close.code).toBe(1007);
      await seen.closed;
      // The application sees a failed connection (1006, as in ws); the code sent is on the error.
      expect(seen.closes[0]).toMatchObject({ code: 1006, wasClean: false });
      expect(seen.errors[0]).toMatchObject({ closeCode: 1007 });
      expect(seen.messages).toEqual([]);
      peer.socket.destroy();
      await peer.closed;
    });
  });

  test('the same frame without the bad byte is echoed whole', async () => {
    await withServer({}, async ({ port }) => {
      const payload = Buffer.alloc(size, 0x61);
      const peer = await RawPeer.open(port);
      await writeInSlices(peer, frame({ opcode: 1, payload }), 16 * 1024);
      const echo = await peer.frameOf(1);
      expect(echo.payload.equals(payload)).toBe(true);
      await peer.write(frame({ opcode: 8, payload: closePayload(1000) }));
      expect((await peer.closeFrame()).code).toBe(1000);
      await peer.closed;
    });
  });
});
