import fc from 'fast-check';
import {
  HEADER_INCOMPLETE,
  HEADER_LENGTH_TOP_BIT,
  HEADER_LENGTH_UNSAFE,
  Opcode,
  decodeHeader,
  encodeFrame,
  encodeHeader,
  headerSize,
  isControlOpcode,
  isKnownOpcode,
  maskInPlace,
  newFrameHeader,
  readMaskKey,
} from './frames.js';
import { propertySettings } from '@rfc6455/test-support';

const settings = propertySettings(process.env);

function bytes(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Byte-by-byte reference masking. */
function referenceMask(data: Uint8Array, key: Uint8Array, keyPos = 0): Uint8Array {
  return data.map((b, i) => b ^ key[(keyPos + i) & 3]!);
}

describe('5.2 Base Framing Protocol', () => {
  test('opcodes: known, reserved, control', () => {
    for (let op = 0; op < 16; op++) {
      expect(isKnownOpcode(op)).toBe([0, 1, 2, 8, 9, 10].includes(op));
      expect(isControlOpcode(op)).toBe(op >= 8);
    }
    expect(Opcode.Pong).toBe(0xa);
  });

  test('decodes every header bit', () => {
    const h = newFrameHeader();
    expect(decodeHeader(bytes(0xf3, 0x85, 1, 2, 3, 4), 0, 6, h)).toBe(6);
    expect(h).toEqual({
      fin: true,
      rsv1: true,
      rsv2: true,
      rsv3: true,
      opcode: 3,
      masked: true,
      maskKey: 0x01020304,
      payloadLength: 5,
      headerLength: 6,
    });
    expect(decodeHeader(bytes(0x00, 0x00), 0, 2, h)).toBe(2);
    expect(h).toMatchObject({ fin: false, rsv1: false, rsv2: false, rsv3: false, opcode: 0, masked: false });
  });

  test('reports incomplete headers without touching the output', () => {
    const full = bytes(0x82, 0xff, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 3, 4);
    const h = newFrameHeader();
    for (let n = 0; n < full.length; n++) {
      expect(decodeHeader(full, 0, n, h)).toBe(HEADER_INCOMPLETE);
      expect(h.headerLength).toBe(0);
    }
    expect(decodeHeader(full, 0, full.length, h)).toBe(14);
    expect(h.payloadLength).toBe(65536);
  });

  test('decodes at an offset, within an end bound', () => {
    const buf = bytes(9, 9, 0x81, 0x02, 0x41, 0x42, 0x81);
    const h = newFrameHeader();
    expect(decodeHeader(buf, 2, buf.length, h)).toBe(2);
    expect(h.payloadLength).toBe(2);
    expect(decodeHeader(buf, 6, buf.length, h)).toBe(HEADER_INCOMPLETE);
  });

  test('a 64-bit length with the top bit set is an error', () => {
    const h = newFrameHeader();
    expect(decodeHeader(bytes(0x82, 0x7f, 0x80, 0, 0, 0, 0, 0, 0, 0), 0, 10, h)).toBe(HEADER_LENGTH_TOP_BIT);
  });

  test('lengths above 2^53 - 1 are refused; 2^53 - 1 decodes exactly', () => {
    const h = newFrameHeader();
    // 2^63 - 1
    expect(decodeHeader(bytes(0x82, 0x7f, 0x7f, 255, 255, 255, 255, 255, 255, 255), 0, 10, h)).toBe(
      HEADER_LENGTH_UNSAFE,
    );
    expect(decodeHeader(bytes(0x82, 0x7f, 0, 0x20, 0, 0, 0, 0, 0, 0), 0, 10, h)).toBe(HEADER_LENGTH_UNSAFE);
    expect(decodeHeader(bytes(0x82, 0x7f, 0, 0x1f, 255, 255, 255, 255, 255, 255), 0, 10, h)).toBe(10);
    expect(h.payloadLength).toBe(Number.MAX_SAFE_INTEGER);
  });

  test('non-minimal length encodings are accepted consistently', () => {
    const h = newFrameHeader();
    expect(decodeHeader(bytes(0x82, 0x7e, 0, 5), 0, 4, h)).toBe(4);
    expect(h.payloadLength).toBe(5);
    expect(decodeHeader(bytes(0x82, 0x7f, 0, 0, 0, 0, 0, 0, 0, 5), 0, 10, h)).toBe(10);
    expect(h.payloadLength).toBe(5);
  });

  test('encoders pick the minimal length form', () => {
    expect(headerSize(125, false)).toBe(2);
    expect(headerSize(126, false)).toBe(4);
    expect(headerSize(65535, false)).toBe(4);
    expect(headerSize(65536, false)).toBe(10);
    expect(headerSize(65536, true)).toBe(14);
    expect(encodeHeader(Opcode.Binary, 2 ** 40 + 7)).toEqual(bytes(0x82, 0x7f, 0, 0, 1, 0, 0, 0, 0, 7));
  });
});

describe('5.7 Examples', () => {
  test('a single-frame unmasked text message', () => {
    const frame = encodeFrame(Opcode.Text, new TextEncoder().encode('Hello'));
    expect(concat(frame)).toEqual(bytes(0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f));
  });

  test('a single-frame masked text message', () => {
    const payload = new TextEncoder().encode('Hello');
    const frame = encodeFrame(Opcode.Text, payload, true, false, 0x37fa213d);
    expect(concat(frame)).toEqual(bytes(0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58));
    // The caller's buffer is left alone.
    expect(new TextDecoder().decode(payload)).toBe('Hello');
    const h = newFrameHeader();
    const wire = concat(frame);
    expect(decodeHeader(wire, 0, wire.length, h)).toBe(6);
    maskInPlace(wire, 6, wire.length, h.maskKey);
    expect(new TextDecoder().decode(wire.subarray(6))).toBe('Hello');
  });

  test('a fragmented unmasked text message', () => {
    const first = encodeFrame(Opcode.Text, new TextEncoder().encode('Hel'), false);
    const last = encodeFrame(Opcode.Continuation, new TextEncoder().encode('lo'));
    expect(concat(first)).toEqual(bytes(0x01, 0x03, 0x48, 0x65, 0x6c));
    expect(concat(last)).toEqual(bytes(0x80, 0x02, 0x6c, 0x6f));
  });

  test('unmasked ping and masked pong', () => {
    expect(concat(encodeFrame(Opcode.Ping, new TextEncoder().encode('Hello')))).toEqual(
      bytes(0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f),
    );
    expect(
      concat(encodeFrame(Opcode.Pong, new TextEncoder().encode('Hello'), true, false, 0x37fa213d)),
    ).toEqual(bytes(0x8a, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58));
  });

  test('256 bytes and 64 KiB binary messages', () => {
    const small = encodeFrame(Opcode.Binary, new Uint8Array(256));
    expect(small[0]).toEqual(bytes(0x82, 0x7e, 0x01, 0x00));
    const big = encodeFrame(Opcode.Binary, new Uint8Array(65536));
    expect(big[0]).toEqual(bytes(0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0));
  });
});

describe('5.3 Client-to-Server Masking', () => {
  test('unmasked payloads are handed through without a copy; empty payloads write only a header', () => {
    const payload = new Uint8Array(300);
    const frame = encodeFrame(Opcode.Binary, payload);
    expect(frame).toHaveLength(2);
    expect(frame[1]).toBe(payload);
    expect(encodeFrame(Opcode.Close, new Uint8Array(0), true, false, 0x01020304)).toHaveLength(1);
    expect(encodeFrame(Opcode.Close, new Uint8Array(0))).toEqual([bytes(0x88, 0x00)]);
  });

  test('masked frames from the shared slab never overlap or change later', () => {
    const frames = Array.from({ length: 200 }, (_, i) =>
      encodeFrame(Opcode.Binary, new Uint8Array(1500 + i).fill(i), true, false, 0x01020304 + i),
    );
    const big = encodeFrame(Opcode.Binary, new Uint8Array(70000).fill(7), true, false, 0x0a0b0c0d);
    frames.forEach((frame, i) => {
      const wire = concat(frame);
      const h = newFrameHeader();
      const n = decodeHeader(wire, 0, wire.length, h);
      expect(h.maskKey).toBe(0x01020304 + i);
      maskInPlace(wire, n, wire.length, h.maskKey);
      expect(wire.length - n).toBe(1500 + i);
      expect(wire.subarray(n).every((b) => b === i)).toBe(true);
    });
    expect(concat(big).length).toBe(70000 + 14);
  });

  test('matches byte-wise masking for any alignment, key position and length', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 300 }),
        fc.integer({ min: 0, max: 7 }),
        fc.integer({ min: 0, max: 3 }),
        fc.uint8Array({ minLength: 4, maxLength: 4 }),
        (data, shift, keyPos, key) => {
          // Place the data at every alignment inside a larger buffer.
          const backing = new Uint8Array(data.length + 16);
          backing.fill(0xaa);
          backing.set(data, shift);
          const view = backing.subarray(shift, shift + data.length);
          const after = maskInPlace(view, 0, view.length, readMaskKey(key, 0), keyPos);
          expect(after).toBe((keyPos + data.length) & 3);
          expect(view).toEqual(referenceMask(data, key, keyPos));
          // Bytes around the range are untouched.
          expect(backing.subarray(0, shift).every((b) => b === 0xaa)).toBe(true);
          expect(backing.subarray(shift + data.length).every((b) => b === 0xaa)).toBe(true);
        },
      ),
      settings,
    );
  });

  test('masking in slices continues the key position', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 200 }),
        fc.array(fc.nat(200), { maxLength: 5 }),
        fc.nat(0xffffffff),
        (data, cuts, key) => {
          const whole = data.slice();
          maskInPlace(whole, 0, whole.length, key);
          const sliced = data.slice();
          const points = [...new Set(cuts.map((c) => c % (data.length + 1)))].sort((a, b) => a - b);
          let pos = 0;
          let keyPos = 0;
          for (const p of [...points, data.length]) {
            keyPos = maskInPlace(sliced, pos, p, key, keyPos);
            pos = p;
          }
          expect(sliced).toEqual(whole);
        },
      ),
      settings,
    );
  });
});

describe('encode -> decode round trips', () => {
  const opcodes = [Opcode.Continuation, Opcode.Text, Opcode.Binary, Opcode.Close, Opcode.Ping, Opcode.Pong];
  const lengths = fc.oneof(
    fc.integer({ min: 0, max: 125 }),
    fc.integer({ min: 126, max: 65535 }),
    fc.integer({ min: 65536, max: 70000 }),
  );

  test('every opcode, length class and role', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...opcodes),
        lengths,
        fc.boolean(),
        fc.boolean(),
        fc.option(fc.nat(0xffffffff), { nil: null }),
        fc.nat(255),
        (opcode, length, fin, rsv1, maskKey, fillByte) => {
          const payload = new Uint8Array(length).fill(fillByte);
          payload[length >> 1] = 0x5a;
          const wire = concat(encodeFrame(opcode, payload, fin, rsv1, maskKey));
          const h = newFrameHeader();
          const n = decodeHeader(wire, 0, wire.length, h);
          expect(n).toBe(headerSize(length, maskKey !== null));
          expect(h).toMatchObject({ fin, rsv1, rsv2: false, rsv3: false, opcode, payloadLength: length });
          expect(h.masked).toBe(maskKey !== null);
          expect(h.maskKey).toBe(maskKey ?? 0);
          expect(wire.length).toBe(n + length);
          if (h.masked) maskInPlace(wire, n, wire.length, h.maskKey);
          // Buffer.equals: jest's deep equality is slow on 64 KiB arrays.
          expect(Buffer.from(wire.buffer, wire.byteOffset + n, length).equals(payload)).toBe(true);
        },
      ),
      { ...settings, numRuns: Math.max(1, Math.ceil(settings.numRuns / 2)) },
    );
  });
});
