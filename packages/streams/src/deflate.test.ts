// The pako engine against node:zlib's (@rfc6455/node's): what one compresses the other inflates, for
// every window size and both context-takeover modes; inflation stops at the budget.
import { randomBytes } from 'node:crypto';
import { createPerMessageDeflate } from '@rfc6455/node';
import type { PerMessageDeflateParams } from '@rfc6455/codec';
import { createPakoPerMessageDeflate, resolveDeflateEngine } from './deflate.js';

function params(bits: number, noContextTakeover: boolean): PerMessageDeflateParams {
  return {
    serverNoContextTakeover: noContextTakeover,
    clientNoContextTakeover: noContextTakeover,
    serverMaxWindowBits: bits,
    clientMaxWindowBits: bits,
  };
}

function join(pieces: Uint8Array[]): Buffer {
  return Buffer.concat(pieces);
}

/** Messages that compress well and badly, empty and large, repeating so that takeover matters. */
function messages(): Uint8Array[] {
  const text = Buffer.from('{"id":1,"name":"alpha","tags":["x","y"]},'.repeat(400));
  return [
    text,
    new Uint8Array(0),
    text,
    randomBytes(70_000),
    Buffer.from('a'),
    Buffer.alloc(200_000, 7),
    text.subarray(0, 1000),
  ];
}

describe('RFC 7692 7.2: pako and node:zlib read each other', () => {
  for (const bits of [8, 9, 12, 15]) {
    for (const noTakeover of [false, true]) {
      test(`window bits ${bits}, no context takeover ${noTakeover}`, () => {
        const p = params(bits, noTakeover);
        const pairs = [
          [createPakoPerMessageDeflate(p, 'server'), createPerMessageDeflate(p, 'client')],
          [createPerMessageDeflate(p, 'server'), createPakoPerMessageDeflate(p, 'client')],
          [createPakoPerMessageDeflate(p, 'server'), createPakoPerMessageDeflate(p, 'client')],
        ] as const;
        for (const [sender, receiver] of pairs) {
          for (const m of messages()) {
            const compressed = sender.compressor.compress(m);
            // Split in two frames: the decompressor gets each frame's payload (RFC 7692 7.2.2).
            const cut = compressed.byteLength >> 1;
            const a = receiver.decompressor.decompress(compressed.slice(0, cut), false, 1 << 30);
            const b = receiver.decompressor.decompress(compressed.slice(cut), true, 1 << 30);
            if (!a.ok || !b.ok) throw new Error('inflate failed');
            expect(Buffer.compare(join([...a.data, ...b.data]), Buffer.from(m))).toBe(0);
          }
          sender.compressor.close?.();
          receiver.decompressor.close?.();
        }
      });
    }
  }
});

describe('inflation is bounded by maxPayload (RFC 7692 8.1)', () => {
  test('a 10 MiB bomb stops one output chunk past the budget', () => {
    const p = params(15, false);
    const sender = createPerMessageDeflate(p, 'client');
    const bomb = sender.compressor.compress(new Uint8Array(10 * 1024 * 1024));
    expect(bomb.byteLength).toBeLessThan(100_000);
    const receiver = createPakoPerMessageDeflate(p, 'server');
    const result = receiver.decompressor.decompress(bomb, true, 100_000);
    expect(result).toMatchObject({ ok: false, reason: 'too-big' });
  });

  test('corrupt data is reported as corrupt, not thrown', () => {
    const receiver = createPakoPerMessageDeflate(params(15, false), 'server');
    const result = receiver.decompressor.decompress(new Uint8Array([0xff, 0xff, 0xff, 0xff]), true, 1000);
    expect(result).toMatchObject({ ok: false, reason: 'corrupt' });
  });
});

describe('engine choice', () => {
  test("'auto' is node:zlib where @rfc6455/node loads; 'pako' is pako; a bad name throws", async () => {
    expect(await resolveDeflateEngine('auto')).toBe(createPerMessageDeflate);
    expect(await resolveDeflateEngine('pako')).toBe(createPakoPerMessageDeflate);
    await expect(resolveDeflateEngine('brotli' as 'pako')).rejects.toThrow(/deflateEngine must be/);
  });
});
