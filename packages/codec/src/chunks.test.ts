import fc from 'fast-check';
import { PieceList } from './chunks.js';

const runs = Number(process.env.FC_RUNS ?? 200);

describe('PieceList', () => {
  test('take() is the concatenation of every piece pushed, whatever their sizes', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.oneof(fc.uint8Array({ maxLength: 4 }), fc.uint8Array({ minLength: 1000, maxLength: 1100 })),
          {
            maxLength: 200,
          },
        ),
        (pieces) => {
          const list = new PieceList();
          for (const p of pieces) list.push(p);
          const expected = Uint8Array.from(pieces.flatMap((p) => [...p]));
          expect(list.length).toBe(expected.length);
          expect(list.take()).toEqual(expected);
          expect(list.length).toBe(0);
        },
      ),
      { seed: 42, numRuns: runs },
    );
  });

  test('a single piece comes back as the same view, not a copy', () => {
    const list = new PieceList();
    const piece = new Uint8Array(10);
    list.push(piece);
    expect(list.take()).toBe(piece);
  });

  test('pieces pushed after the copy buffer is filled keep their order; clear() forgets everything', () => {
    const list = new PieceList();
    for (let i = 0; i < 40_000; i++) list.push(Uint8Array.of(i & 0xff));
    const out = list.take();
    expect(out.length).toBe(40_000);
    expect(out[39_999]).toBe(39_999 & 0xff);
    list.push(Uint8Array.of(1));
    list.clear();
    list.push(Uint8Array.of(2));
    expect(list.take()).toEqual(Uint8Array.of(2));
  });
});
