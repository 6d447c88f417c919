import zlib from 'node:zlib';
import fc from 'fast-check';
import type { PerMessageDeflateParams } from '@rfc6455/codec';
import { ZlibMessageCompressor, ZlibMessageDecompressor, createPerMessageDeflate } from './deflate.js';
import type { ZlibEngineKind } from './deflate.js';

const SEED = { seed: 42, numRuns: Number(process.env['FC_RUNS'] ?? 50) };
const engines: ZlibEngineKind[] = ['stream', 'stateless'];

function joined(pieces: Uint8Array[]): Buffer {
  return Buffer.concat(pieces);
}

function inflateAll(d: ZlibMessageDecompressor, frames: Uint8Array[], max = 1 << 30): Buffer {
  const out: Uint8Array[] = [];
  frames.forEach((f, i) => {
    const r = d.decompress(f, i === frames.length - 1, max);
    if (!r.ok) throw new Error(r.message);
    out.push(...r.data);
  });
  return joined(out);
}

describe.each(engines)('RFC 7692 7.2 compression with the %s engine', (engine) => {
  test('round trip keeps content with context takeover across messages', () => {
    const c = new ZlibMessageCompressor(15, false, { engine });
    const d = new ZlibMessageDecompressor(15, false, { engine });
    const msg = Buffer.from('the same words, the same words, the same words');
    const first = c.compress(msg);
    const second = c.compress(msg);
    // Context takeover: the second copy refers back to the first, so it is much smaller.
    expect(second.byteLength).toBeLessThan(first.byteLength);
    expect(inflateAll(d, [first]).equals(msg)).toBe(true);
    expect(inflateAll(d, [second]).equals(msg)).toBe(true);
    c.close();
    d.close();
  });

  test('no context takeover: every message decodes on a fresh inflater (RFC 7692 7.1.1)', () => {
    const c = new ZlibMessageCompressor(15, true, { engine });
    const msg = Buffer.from('repeat repeat repeat repeat');
    const a = c.compress(msg);
    const b = c.compress(msg);
    expect(Buffer.from(b).equals(Buffer.from(a))).toBe(true);
    const fresh = zlib.inflateRawSync(Buffer.concat([b, Buffer.from([0, 0, 0xff, 0xff])]), {
      finishFlush: zlib.constants.Z_SYNC_FLUSH,
    });
    expect(fresh.equals(msg)).toBe(true);
    c.close();
  });

  test('strips the 00 00 ff ff tail (RFC 7692 7.2.1) and handles an empty message', () => {
    const c = new ZlibMessageCompressor(15, false, { engine });
    const d = new ZlibMessageDecompressor(15, false, { engine });
    const out = Buffer.from(c.compress(new Uint8Array(0)));
    expect(out.subarray(-4).equals(Buffer.from([0, 0, 0xff, 0xff]))).toBe(false);
    expect(inflateAll(d, [out]).byteLength).toBe(0);
    c.close();
    d.close();
  });

  test('any message split into any frames survives, in order, with shared context', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.uint8Array({ maxLength: 3000 }), fc.integer({ min: 1, max: 5 })), {
          maxLength: 6,
        }),
        fc.boolean(),
        (messages, noTakeover) => {
          const c = new ZlibMessageCompressor(15, noTakeover, { engine });
          const d = new ZlibMessageDecompressor(15, noTakeover, { engine });
          for (const [msg, parts] of messages) {
            const z = Buffer.from(c.compress(msg));
            const frames: Uint8Array[] = [];
            const step = Math.ceil(z.byteLength / parts) || 1;
            for (let i = 0; i < z.byteLength; i += step) frames.push(z.subarray(i, i + step));
            if (frames.length === 0) frames.push(new Uint8Array(0));
            expect(inflateAll(d, frames).equals(Buffer.from(msg))).toBe(true);
          }
          c.close();
          d.close();
        },
      ),
      SEED,
    );
  });

  test('stops inflating a bomb once past the budget: too-big', () => {
    const bomb = zlib.deflateRawSync(Buffer.alloc(10 * 1024 * 1024), {
      finishFlush: zlib.constants.Z_SYNC_FLUSH,
    });
    const d = new ZlibMessageDecompressor(15, false, { engine });
    const r = d.decompress(bomb.subarray(0, bomb.byteLength - 4), true, 1024 * 1024);
    expect(r).toMatchObject({ ok: false, reason: 'too-big' });
    d.close();
  });

  test('messages ending with a final block, and two streams in one message, keep the window (RFC 7692 7.2.3.4)', () => {
    const d = new ZlibMessageDecompressor(15, false, { engine });
    let history = Buffer.alloc(0);
    // Each part is a new deflate stream whose dictionary is everything sent before (context takeover).
    const part = (data: Buffer, flush: number): Buffer => {
      const z = zlib.deflateRawSync(
        data,
        history.byteLength > 0 ? { finishFlush: flush, dictionary: history } : { finishFlush: flush },
      );
      history = Buffer.concat([history, data]).subarray(-32768);
      return flush === zlib.constants.Z_SYNC_FLUSH ? z.subarray(0, -4) : z;
    };
    const { Z_FINISH, Z_SYNC_FLUSH } = zlib.constants;
    const words = Buffer.from('one two three four five six seven eight nine ten '.repeat(4));
    const cases: [Buffer, Buffer][] = [];
    for (const flush of [Z_SYNC_FLUSH, Z_FINISH, Z_SYNC_FLUSH, Z_FINISH, Z_FINISH, Z_SYNC_FLUSH]) {
      cases.push([words, part(words, flush)]);
    }
    cases.push([
      Buffer.concat([words, words]),
      Buffer.concat([part(words, Z_FINISH), part(words, Z_SYNC_FLUSH)]),
    ]);
    cases.push([words, Buffer.concat([part(words, Z_FINISH), Buffer.from([0x00])])]);
    cases.push([words, part(words, Z_SYNC_FLUSH)]);
    for (const [msg, z] of cases) {
      expect(z.byteLength).toBeLessThan(msg.byteLength);
      expect(inflateAll(d, [z.subarray(0, 1), z.subarray(1)]).equals(msg)).toBe(true);
    }
    d.close();
  });

  test('an empty compressed payload is an empty message, and the stream goes on', () => {
    const c = new ZlibMessageCompressor(15, false, { engine });
    const d = new ZlibMessageDecompressor(15, false, { engine });
    const msg = Buffer.from('after nothing');
    expect(inflateAll(d, [new Uint8Array(0)]).byteLength).toBe(0);
    expect(inflateAll(d, [c.compress(msg)]).equals(msg)).toBe(true);
    c.close();
    d.close();
  });

  test('corrupt data: corrupt, not a throw', () => {
    const d = new ZlibMessageDecompressor(15, false, { engine });
    const r = d.decompress(new Uint8Array([0xff, 0xff, 0xff, 0x01]), true, 1 << 20);
    expect(r).toMatchObject({ ok: false, reason: 'corrupt' });
    d.close();
  });
});

describe('a message cut inside a deflate block (RFC 7692 7.2.1, 7.2.2)', () => {
  test('is refused at every cut, never handed over truncated', () => {
    const msg = Buffer.from(Array.from({ length: 400 }, (_, i) => `word${(i * 7) % 13} `).join(''));
    for (const level of [1, 6]) {
      const z = zlib.deflateRawSync(msg, { level, finishFlush: zlib.constants.Z_SYNC_FLUSH }).subarray(0, -4);
      for (let cut = 1; cut < z.byteLength; cut++) {
        const d = new ZlibMessageDecompressor(15, false, { engine: 'stream' });
        const r = d.decompress(z.subarray(0, cut), true, 1 << 20);
        expect(r).toMatchObject({ ok: false, reason: 'corrupt' });
        d.close();
      }
      const d = new ZlibMessageDecompressor(15, false, { engine: 'stream' });
      expect(inflateAll(d, [z]).equals(msg)).toBe(true);
      d.close();
    }
  });
});

describe('engines agree', () => {
  test('output of one engine inflates with the other, both ways, with context takeover', () => {
    const msgs = ['alpha beta gamma', 'alpha beta gamma delta', 'x'.repeat(40000), 'alpha beta'].map((s) =>
      Buffer.from(s),
    );
    for (const [from, to] of [
      ['stream', 'stateless'],
      ['stateless', 'stream'],
    ] as const) {
      const c = new ZlibMessageCompressor(15, false, { engine: from });
      const d = new ZlibMessageDecompressor(15, false, { engine: to });
      for (const m of msgs) expect(inflateAll(d, [c.compress(m)]).equals(m)).toBe(true);
      c.close();
      d.close();
    }
  });

  test('a 9-bit zlib window stays within an 8-bit window peer (distances <= 250)', () => {
    // Our compressor asked for 8 bits uses 9; an 8-bit inflater must decode it.
    const c = new ZlibMessageCompressor(8, false, { engine: 'stream' });
    const inflater = new ZlibMessageDecompressor(8, false, { engine: 'stream' });
    const data = Buffer.from(Array.from({ length: 5000 }, (_, i) => (i * 7919) % 251));
    const text = Buffer.concat([data, data, Buffer.from('abc'.repeat(300))]);
    expect(inflateAll(inflater, [c.compress(text)]).equals(text)).toBe(true);
    c.close();
    inflater.close();
  });
});

describe('createPerMessageDeflate', () => {
  test('the server compresses with server_* and inflates with client_* parameters', () => {
    const params: PerMessageDeflateParams = {
      serverNoContextTakeover: true,
      clientNoContextTakeover: false,
      serverMaxWindowBits: 10,
      clientMaxWindowBits: 15,
    };
    const server = createPerMessageDeflate(params, 'server', { threshold: 10 });
    const client = createPerMessageDeflate(params, 'client');
    expect(server.threshold).toBe(10);
    expect(client.threshold).toBe(1024);
    const msg = Buffer.from('hello hello hello hello');
    const r = client.decompressor.decompress(server.compressor.compress(msg), true, 1000);
    expect(r.ok && Buffer.concat(r.data).equals(msg)).toBe(true);
    const r2 = server.decompressor.decompress(client.compressor.compress(msg), true, 1000);
    expect(r2.ok && Buffer.concat(r2.data).equals(msg)).toBe(true);
    for (const p of [server, client]) {
      p.compressor.close?.();
      p.decompressor.close?.();
    }
  });
});
