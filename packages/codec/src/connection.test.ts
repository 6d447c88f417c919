import * as fs from 'node:fs';
import * as path from 'node:path';
import * as vm from 'node:vm';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import ts from 'typescript';
import { Connection, MAX_PENDING_PONGS } from './connection.js';
import type { ConnectionOptions, Event } from './connection.js';
import { Opcode } from './frames.js';
import type { MessageCompressor, MessageDecompressor, PerMessageDeflate } from './permessage-deflate.js';
import { PROTOCOL_ERRORS } from './close.js';
import type { ProtocolErrorKind } from './close.js';
import { bytesOf, closeOf, concatBytes, frame, readFrames } from '@rfc6455/test-support';
import type { FrameSpec } from '@rfc6455/test-support';

const noRandom = () => {};

/** What one send call queued: the call, then takeOutput(). */
function sent(conn: Connection, send: (conn: Connection) => void): Uint8Array[] {
  send(conn);
  return conn.takeOutput();
}

function server(options: Partial<ConnectionOptions> = {}): Connection {
  return new Connection({ role: 'server', ...options });
}
function client(options: Partial<ConnectionOptions> = {}): Connection {
  return new Connection({ role: 'client', randomFill: noRandom, ...options });
}
/** A frame as a client sends it (masked). */
const c = (spec: FrameSpec) => frame(spec);
/** A frame as a server sends it (unmasked). */
const s = (spec: FrameSpec) => frame({ ...spec, mask: false });
const text = (e: Event | undefined) => {
  if (e === undefined || (e.type !== 'text' && e.type !== 'fragment'))
    throw new Error(`not text: ${JSON.stringify(e)}`);
  return new TextDecoder().decode(e.data);
};
const hex = (str: string) => Uint8Array.from(str.split(' ').map((h) => parseInt(h, 16)));
const last = <T>(list: T[]) => list[list.length - 1];

function expectFailed(conn: Connection, events: Event[], kind: ProtocolErrorKind, sendsClose = true): void {
  const { code, reason } = PROTOCOL_ERRORS[kind];
  const { detail, ...close } = last(events) as Extract<Event, { type: 'close' }>;
  expect(close).toEqual({
    type: 'close',
    code,
    reason,
    initiator: 'local',
    wasClean: false,
    error: kind,
  });
  // Only a failed inflate says more: what the decompressor reported.
  if (kind === 'inflate-failed') expect(typeof detail?.message).toBe('string');
  else expect(detail).toBeUndefined();
  expect(events.filter((e) => e.type === 'close')).toHaveLength(1);
  expect(conn.state).toBe('CLOSED');
  expect(conn.shouldCloseTransport).toBe(true);
  const out = readFrames(conn.takeOutput()).filter((f) => f.opcode === Opcode.Close);
  if (sendsClose) {
    expect(out).toHaveLength(1);
    expect(closeOf(out[0]!.payload)).toEqual([code, reason]);
  } else {
    expect(out).toHaveLength(0);
  }
  // Nothing is parsed after a violation.
  expect(conn.receive(c({ opcode: Opcode.Text, payload: 'more' }))).toEqual([]);
  expect(conn.receiveEof()).toEqual([]);
}

describe('5.7 Examples, received', () => {
  test('a single-frame unmasked text message, at a client', () => {
    const conn = client();
    expect(conn.receive(hex('81 05 48 65 6c 6c 6f'))).toEqual([{ type: 'text', data: bytesOf('Hello') }]);
  });

  test('a single-frame masked text message, at a server', () => {
    const conn = server();
    expect(conn.receive(hex('81 85 37 fa 21 3d 7f 9f 4d 51 58'))).toEqual([
      { type: 'text', data: bytesOf('Hello') },
    ]);
  });

  test('a fragmented unmasked text message', () => {
    const conn = client();
    expect(conn.receive(hex('01 03 48 65 6c'))).toEqual([]);
    expect(conn.receive(hex('80 02 6c 6f'))).toEqual([{ type: 'text', data: bytesOf('Hello') }]);
  });

  test('an unmasked ping is answered by a masked pong with the same payload', () => {
    const conn = client({ randomFill: (b) => b.set([0x37, 0xfa, 0x21, 0x3d]) });
    expect(conn.receive(hex('89 05 48 65 6c 6c 6f'))).toEqual([{ type: 'ping', data: bytesOf('Hello') }]);
    expect(concatBytes(conn.takeOutput())).toEqual(hex('8a 85 37 fa 21 3d 7f 9f 4d 51 58'));
    // Drained: nothing more, and the empty list handed out is not the codec's own.
    const empty = conn.takeOutput();
    expect(empty).toEqual([]);
    empty.push(hex('00'));
    expect(conn.takeOutput()).toEqual([]);
  });

  test('a masked ping is answered by an unmasked pong', () => {
    const conn = server();
    conn.receive(hex('89 85 37 fa 21 3d 7f 9f 4d 51 58'));
    expect(concatBytes(conn.takeOutput())).toEqual(hex('8a 05 48 65 6c 6c 6f'));
  });

  test('256 bytes and 64 KiB binary messages in one unmasked frame', () => {
    const conn = client();
    const small = new Uint8Array(256).map((_, i) => i);
    const big = new Uint8Array(65536).map((_, i) => i * 7);
    const wire = concatBytes([hex('82 7e 01 00'), small, hex('82 7f 00 00 00 00 00 01 00 00'), big]);
    const events = conn.receive(wire);
    expect(events).toHaveLength(2);
    expect(events[0]).toEqual({ type: 'binary', data: small });
    expect(Buffer.from((events[1] as { data: Uint8Array }).data).equals(big)).toBe(true);
  });
});

describe('chunk handling', () => {
  test('a payload inside one chunk is a view of it; unmasked in place', () => {
    const conn = server();
    const chunk = concatBytes([
      c({ opcode: Opcode.Binary, payload: 'abc' }),
      c({ opcode: Opcode.Text, payload: 'de' }),
    ]);
    const [first, second] = conn.receive(chunk) as unknown as [{ data: Uint8Array }, { data: Uint8Array }];
    expect(first.data.buffer).toBe(chunk.buffer);
    expect(first.data.byteOffset).toBe(6);
    expect(second.data.buffer).toBe(chunk.buffer);
    expect(new TextDecoder().decode(chunk.subarray(6, 9))).toBe('abc');
  });

  test('a message spanning chunks and fragments is assembled into a fresh array', () => {
    const conn = server();
    const wire = concatBytes([
      c({ opcode: Opcode.Binary, payload: 'abc', fin: false }),
      c({ opcode: Opcode.Continuation, payload: 'def' }),
    ]);
    expect(conn.receive(wire.subarray(0, 8))).toEqual([]);
    const events = conn.receive(wire.subarray(8));
    expect(events).toEqual([{ type: 'binary', data: bytesOf('abcdef') }]);
    expect((events[0] as { data: Uint8Array }).data.buffer).not.toBe(wire.buffer);
  });

  test('one byte at a time gives the same events as one chunk', () => {
    const wire = concatBytes([
      c({ opcode: Opcode.Text, payload: 'κόσμε', fin: false }),
      c({ opcode: Opcode.Ping, payload: 'p' }),
      c({ opcode: Opcode.Continuation, payload: 'x'.repeat(300) }),
      c({ opcode: Opcode.Binary, payload: new Uint8Array(70000).fill(3) }),
      c({ opcode: Opcode.Close, payload: hex('03 e8 62 79 65') }),
    ]);
    const whole = server().receive(wire.slice());
    const conn = server();
    const bytewise: Event[] = [];
    const copy = wire.slice();
    for (let i = 0; i < copy.length; i++) bytewise.push(...conn.receive(copy.subarray(i, i + 1)));
    expect(bytewise).toEqual(whole);
    expect(whole.map((e) => e.type)).toEqual(['ping', 'text', 'binary', 'close']);
  });

  test('16- and 64-bit lengths, and non-minimal encodings, are read', () => {
    const conn = server();
    const events = conn.receive(
      concatBytes([
        c({ opcode: Opcode.Binary, payload: 'a', lengthBits: 16 }),
        c({ opcode: Opcode.Binary, payload: 'b', lengthBits: 64 }),
        c({ opcode: Opcode.Binary, payload: new Uint8Array(200) }),
      ]),
    );
    expect(events.map((e) => (e as { data: Uint8Array }).data.length)).toEqual([1, 1, 200]);
  });
});

describe('5.4 Fragmentation', () => {
  test('control frames may be injected in the middle of a fragmented message', () => {
    const conn = server();
    const events = conn.receive(
      concatBytes([
        c({ opcode: Opcode.Text, payload: 'Hel', fin: false }),
        c({ opcode: Opcode.Ping, payload: 'a' }),
        c({ opcode: Opcode.Pong, payload: 'b' }),
        c({ opcode: Opcode.Continuation, payload: 'l', fin: false }),
        c({ opcode: Opcode.Continuation, payload: 'o' }),
      ]),
    );
    expect(events).toEqual([
      { type: 'ping', data: bytesOf('a') },
      { type: 'pong', data: bytesOf('b') },
      { type: 'text', data: bytesOf('Hello') },
    ]);
  });

  test('empty fragments and empty messages', () => {
    const conn = server();
    const events = conn.receive(
      concatBytes([
        c({ opcode: Opcode.Text, fin: false }),
        c({ opcode: Opcode.Continuation, fin: false }),
        c({ opcode: Opcode.Continuation }),
        c({ opcode: Opcode.Binary }),
      ]),
    );
    expect(events).toEqual([
      { type: 'text', data: new Uint8Array(0) },
      { type: 'binary', data: new Uint8Array(0) },
    ]);
  });
});

describe('7.1.7 Fail the WebSocket Connection: every violation', () => {
  const pmd = fakeDeflate().pmd;
  const cases: [ProtocolErrorKind, Uint8Array, Partial<ConnectionOptions>?][] = [
    ['length-top-bit', hex('82 ff 80 00 00 00 00 00 00 00 01 02 03 04')],
    ['reserved-opcode', c({ opcode: 3 })],
    ['reserved-opcode', c({ opcode: 7 })],
    ['reserved-opcode', c({ opcode: 0xb })],
    ['reserved-opcode', c({ opcode: 0xf })],
    ['rsv1-not-negotiated', c({ opcode: Opcode.Text, rsv1: true, payload: 'a' })],
    ['reserved-bits', c({ opcode: Opcode.Text, rsv2: true })],
    ['reserved-bits', c({ opcode: Opcode.Ping, rsv3: true })],
    ['reserved-bits', c({ opcode: Opcode.Text, rsv2: true }), { perMessageDeflate: pmd }],
    ['rsv1-misplaced', c({ opcode: Opcode.Ping, rsv1: true }), { perMessageDeflate: pmd }],
    [
      'rsv1-misplaced',
      concatBytes([c({ opcode: Opcode.Text, fin: false }), c({ opcode: Opcode.Continuation, rsv1: true })]),
      { perMessageDeflate: pmd },
    ],
    ['unmasked-frame', s({ opcode: Opcode.Text, payload: 'a' })],
    ['fragmented-control', c({ opcode: Opcode.Ping, fin: false })],
    ['control-too-long', c({ opcode: Opcode.Ping, payload: new Uint8Array(126) })],
    // A close frame header announcing 126 bytes: refused from the header alone.
    ['control-too-long', hex('88 fe 00 7e 01 02 03 04')],
    ['unexpected-continuation', c({ opcode: Opcode.Continuation, payload: 'a' })],
    [
      'expected-continuation',
      concatBytes([c({ opcode: Opcode.Text, fin: false }), c({ opcode: Opcode.Binary })]),
    ],
    [
      'expected-continuation',
      concatBytes([c({ opcode: Opcode.Text, fin: false }), c({ opcode: Opcode.Text })]),
    ],
    ['close-payload-length', c({ opcode: Opcode.Close, payload: hex('03') })],
    ['invalid-close-code', c({ opcode: Opcode.Close, payload: hex('03 ed') })],
    ['invalid-close-code', c({ opcode: Opcode.Close, payload: hex('03 ee') })],
    ['invalid-close-code', c({ opcode: Opcode.Close, payload: hex('13 88') })],
    ['invalid-close-reason', c({ opcode: Opcode.Close, payload: hex('03 e8 ed a0 80') })],
    ['invalid-utf8', c({ opcode: Opcode.Text, payload: hex('ce ba c0 80') })],
    ['incomplete-utf8', c({ opcode: Opcode.Text, payload: hex('ce ba e2 82') })],
    ['frame-too-big', c({ opcode: Opcode.Binary, payload: new Uint8Array(11) }), { maxFramePayload: 10 }],
    [
      'message-too-big',
      concatBytes([
        c({ opcode: Opcode.Binary, payload: new Uint8Array(6), fin: false }),
        c({ opcode: Opcode.Continuation, payload: new Uint8Array(5) }),
      ]),
      { maxMessageSize: 10 },
    ],
  ];

  // Always three arguments: jest reads a longer callback as one that wants `done`.
  test.each(cases.map(([kind, wire, options]) => [kind, wire, options ?? {}] as const))(
    '%s at a server',
    (kind, wire, options) => {
      const conn = server(options);
      expectFailed(conn, conn.receive(wire), kind);
    },
  );

  test('masked-frame at a client', () => {
    const conn = client();
    expectFailed(conn, conn.receive(c({ opcode: Opcode.Text, payload: 'a' })), 'masked-frame');
  });

  test('every violation kind has a case', () => {
    const covered = new Set([...cases.map(([kind]) => kind), 'masked-frame', 'inflate-failed']);
    expect([...covered].sort()).toEqual(Object.keys(PROTOCOL_ERRORS).sort());
  });

  test('messages completed before the violation are delivered first', () => {
    const conn = server();
    const events = conn.receive(concatBytes([c({ opcode: Opcode.Text, payload: 'ok' }), c({ opcode: 5 })]));
    expect(events[0]).toEqual({ type: 'text', data: bytesOf('ok') });
    expectFailed(conn, events, 'reserved-opcode');
  });

  test('a violation after our close frame fails without a second close frame', () => {
    const conn = server();
    conn.sendClose(1000);
    expect(readFrames(conn.takeOutput()).map((f) => f.opcode)).toEqual([Opcode.Close]);
    expectFailed(conn, conn.receive(c({ opcode: 4 })), 'reserved-opcode', false);
  });
});

describe('10.4 Implementation-Specific Limits', () => {
  test('a header announcing 2^63 - 1 bytes closes 1009 before any payload', () => {
    const conn = server();
    expectFailed(conn, conn.receive(hex('82 ff 7f ff ff ff ff ff ff ff 01 02 03 04')), 'frame-too-big');
  });

  test('a header announcing more than maxFramePayload closes 1009 from the header alone', () => {
    const conn = server({ maxFramePayload: 1000 });
    expectFailed(conn, conn.receive(hex('82 fe 03 e9 01 02 03 04')), 'frame-too-big');
    const exact = server({ maxFramePayload: 1000 });
    expect(exact.receive(c({ opcode: Opcode.Binary, payload: new Uint8Array(1000) }))).toHaveLength(1);
  });

  test('maxMessageSize counts every fragment, decided from the header', () => {
    const conn = server({ maxMessageSize: 10 });
    expect(conn.receive(c({ opcode: Opcode.Binary, payload: new Uint8Array(10), fin: false }))).toEqual([]);
    expectFailed(conn, conn.receive(hex('80 81 00 00 00 00')), 'message-too-big');
    const exact = server({ maxMessageSize: 10 });
    exact.receive(c({ opcode: Opcode.Binary, payload: new Uint8Array(4), fin: false }));
    expect(exact.receive(c({ opcode: Opcode.Continuation, payload: new Uint8Array(6) }))).toHaveLength(1);
    // Limits are per message.
    expect(exact.receive(c({ opcode: Opcode.Binary, payload: new Uint8Array(10) }))).toHaveLength(1);
  });

  test('control frames are not counted in the message', () => {
    const conn = server({ maxMessageSize: 4 });
    const events = conn.receive(
      concatBytes([
        c({ opcode: Opcode.Binary, payload: 'ab', fin: false }),
        c({ opcode: Opcode.Ping, payload: 'pppppppp' }),
        c({ opcode: Opcode.Continuation, payload: 'cd' }),
      ]),
    );
    expect(events.map((e) => e.type)).toEqual(['ping', 'binary']);
  });

  test('bad limit values are refused', () => {
    expect(() => server({ maxFramePayload: -1 })).toThrow(/maxFramePayload must be a whole number/);
    expect(() => server({ maxMessageSize: Infinity })).toThrow(/maxMessageSize/);
  });
});

describe('8.1 Handling Errors in UTF-8-Encoded Data: fail fast', () => {
  test('an invalid byte closes 1007 before the rest of its frame arrives', () => {
    const conn = server();
    const wire = c({
      opcode: Opcode.Text,
      payload: concatBytes([bytesOf('Hello '), hex('ed a0 80'), bytesOf('world')]),
    });
    expect(conn.receive(wire.subarray(0, 6 + 6))).toEqual([]);
    expect(conn.state).toBe('OPEN');
    expectFailed(conn, conn.receive(wire.subarray(12, 14)), 'invalid-utf8');
  });

  test('a sequence split across fragments and chunks is valid', () => {
    const conn = server();
    const wire = concatBytes([
      c({ opcode: Opcode.Text, payload: hex('e2 82'), fin: false }),
      c({ opcode: Opcode.Continuation, payload: hex('ac') }),
    ]);
    const events: Event[] = [];
    for (let i = 0; i < wire.length; i++) events.push(...conn.receive(wire.subarray(i, i + 1)));
    expect(events).toEqual([{ type: 'text', data: hex('e2 82 ac') }]);
  });

  test('a fragment that ends invalid fails at once, before the message ends', () => {
    const conn = server();
    expectFailed(
      conn,
      conn.receive(c({ opcode: Opcode.Text, payload: hex('41 f5'), fin: false })),
      'invalid-utf8',
    );
  });

  test('binary messages are not validated', () => {
    expect(server().receive(c({ opcode: Opcode.Binary, payload: hex('ff fe') }))).toHaveLength(1);
  });
});

describe('5.5.2 Ping and 5.5.3 Pong', () => {
  test('every ping is answered, in order, even when several arrive before the output is taken', () => {
    const conn = server();
    conn.receive(
      concatBytes([c({ opcode: Opcode.Ping, payload: 'one' }), c({ opcode: Opcode.Ping, payload: 'two' })]),
    );
    conn.receive(c({ opcode: Opcode.Ping, payload: 'three' }));
    const frames = readFrames(conn.takeOutput());
    expect(frames.map((f) => [f.opcode, new TextDecoder().decode(f.payload)])).toEqual([
      [Opcode.Pong, 'one'],
      [Opcode.Pong, 'two'],
      [Opcode.Pong, 'three'],
    ]);
    conn.receive(c({ opcode: Opcode.Ping }));
    expect(readFrames(conn.takeOutput()).map((f) => [f.opcode, f.payload.length])).toEqual([
      [Opcode.Pong, 0],
    ]);
  });

  test('a ping flood is bounded: past MAX_PENDING_PONGS waiting, the newest ping replaces the last pong', () => {
    const conn = server();
    const ping = (i: number) => c({ opcode: Opcode.Ping, payload: `p${i}` });
    // 5000 pings, 100 to a chunk, and the output never taken: memory stays bounded.
    for (let i = 0; i < 5000; i += 100) {
      const events = conn.receive(concatBytes(Array.from({ length: 100 }, (_, k) => ping(i + k))));
      expect(events).toHaveLength(100);
      expect(conn.outputBytes).toBeLessThanOrEqual(MAX_PENDING_PONGS * (2 + 125));
    }
    const frames = readFrames(conn.takeOutput());
    expect(frames).toHaveLength(MAX_PENDING_PONGS);
    const payloads = frames.map((f) => new TextDecoder().decode(f.payload));
    // The first ones answered in order, the last slot holding the newest ping's answer (RFC 6455 5.5.3).
    expect(payloads.slice(0, -1)).toEqual(Array.from({ length: MAX_PENDING_PONGS - 1 }, (_, i) => `p${i}`));
    expect(payloads[payloads.length - 1]).toBe('p4999');
    expect(conn.outputBytes).toBe(0);
    // Taking the output starts a new allowance.
    conn.receive(ping(1));
    expect(readFrames(conn.takeOutput()).map((f) => new TextDecoder().decode(f.payload))).toEqual(['p1']);
  });

  test('pongs and sends leave in the order they were made', () => {
    const conn = server();
    conn.sendText('before');
    const events = conn.receive(
      concatBytes([c({ opcode: Opcode.Ping, payload: 'ping' }), c({ opcode: Opcode.Text, payload: 'msg' })]),
    );
    expect(events.map((e) => e.type)).toEqual(['ping', 'text']);
    conn.sendText('echo'); // the handler's answer to 'msg' goes after the pong of the ping before it
    conn.sendBinary(bytesOf('bin'));
    const frames = readFrames(conn.takeOutput());
    expect(frames.map((f) => [f.opcode, new TextDecoder().decode(f.payload)])).toEqual([
      [Opcode.Text, 'before'],
      [Opcode.Pong, 'ping'],
      [Opcode.Text, 'echo'],
      [Opcode.Binary, 'bin'],
    ]);
  });

  test('outputBytes counts what takeOutput() would hand out', () => {
    const conn = client();
    expect(conn.outputBytes).toBe(0);
    conn.sendText('abc'); // 2 + 4 (mask) + 3
    conn.sendPing(); // 2 + 4
    expect(conn.outputBytes).toBe(15);
    conn.receive(s({ opcode: Opcode.Close, payload: hex('03 e8') }));
    expect(conn.outputBytes).toBe(15 + 2 + 4 + 2);
    expect(concatBytes(conn.takeOutput())).toHaveLength(23);
    expect(conn.outputBytes).toBe(0);
  });

  test('a pending pong stays before the close reply', () => {
    const conn = server();
    conn.receive(concatBytes([c({ opcode: Opcode.Ping, payload: 'x' }), c({ opcode: Opcode.Close })]));
    expect(readFrames(conn.takeOutput()).map((f) => f.opcode)).toEqual([Opcode.Pong, Opcode.Close]);
  });

  test('autoPong: false leaves pings to the caller', () => {
    const conn = server({ autoPong: false });
    expect(conn.receive(c({ opcode: Opcode.Ping, payload: 'x' }))).toEqual([
      { type: 'ping', data: bytesOf('x') },
    ]);
    expect(conn.takeOutput()).toEqual([]);
  });

  test('no pong after our close frame', () => {
    const conn = server();
    conn.sendClose(1000);
    expect(conn.receive(c({ opcode: Opcode.Ping, payload: 'x' }))).toHaveLength(1);
    expect(readFrames(conn.takeOutput()).map((f) => f.opcode)).toEqual([Opcode.Close]);
  });

  test('pongs are delivered', () => {
    expect(client().receive(s({ opcode: Opcode.Pong, payload: 'hi' }))).toEqual([
      { type: 'pong', data: bytesOf('hi') },
    ]);
  });
});

describe('7 Closing the Connection', () => {
  test('the peer closes: we answer with its code and report a clean close', () => {
    const conn = server();
    const events = conn.receive(
      concatBytes([
        c({ opcode: Opcode.Text, payload: 'a' }),
        c({ opcode: Opcode.Close, payload: hex('03 e9 62 79 65') }),
      ]),
    );
    expect(events).toEqual([
      { type: 'text', data: bytesOf('a') },
      { type: 'close', code: 1001, reason: 'bye', initiator: 'peer', wasClean: true },
    ]);
    expect(conn.state).toBe('CLOSED');
    expect(conn.shouldCloseTransport).toBe(true);
    const out = readFrames(conn.takeOutput());
    expect(out.map((f) => [f.opcode, closeOf(f.payload)[0]])).toEqual([[Opcode.Close, 1001]]);
    // Nothing after the close frame is parsed, and no second close event comes.
    expect(conn.receive(c({ opcode: Opcode.Text, payload: 'late' }))).toEqual([]);
    expect(conn.receiveEof()).toEqual([]);
    expect(() => conn.sendText('x')).toThrow(/already sent its close frame/);
  });

  test('messages that arrived with a close or a violation can still be answered until the close frame is taken', () => {
    for (const closing of [c({ opcode: Opcode.Close, payload: hex('03 e8') }), c({ opcode: 5 })]) {
      const conn = server();
      const events = conn.receive(concatBytes([c({ opcode: Opcode.Text, payload: 'echo me' }), closing]));
      expect(events.map((e) => e.type)).toEqual(['text', 'close']);
      expect(conn.state).toBe('CLOSED');
      conn.sendText('echo me');
      expect(conn.canSend).toBe(true);
      // The answer goes ahead of the close frame, which takeOutput() hands out last.
      expect(readFrames(conn.takeOutput()).map((f) => f.opcode)).toEqual([Opcode.Text, Opcode.Close]);
      expect(conn.canSend).toBe(false);
      expect(() => conn.sendText('late')).toThrow(/already sent its close frame \(state CLOSED\)/);
      expect(() => conn.sendClose(1000)).toThrow(/already sent its close frame/);
    }
  });

  test('an empty close is reported as 1005 and answered with an empty close', () => {
    const conn = client();
    expect(conn.receive(s({ opcode: Opcode.Close }))).toEqual([
      { type: 'close', code: 1005, reason: '', initiator: 'peer', wasClean: true },
    ]);
    const out = readFrames(conn.takeOutput());
    expect(out).toHaveLength(1);
    expect(out[0]).toMatchObject({ opcode: Opcode.Close, masked: true, payload: new Uint8Array(0) });
    // A client waits for the server to end TCP (7.1.1).
    expect(conn.shouldCloseTransport).toBe(false);
  });

  test('we close first: CLOSING, data still arrives, the peer answer completes the handshake', () => {
    const conn = server();
    const frame = readFrames(sent(conn, (c) => c.sendClose(4000, 'done')));
    expect(frame.map((f) => [f.opcode, ...closeOf(f.payload)])).toEqual([[Opcode.Close, 4000, 'done']]);
    expect(conn.state).toBe('CLOSING');
    expect(conn.shouldCloseTransport).toBe(false);
    const events = conn.receive(
      concatBytes([
        c({ opcode: Opcode.Binary, payload: 'z' }),
        c({ opcode: Opcode.Close, payload: hex('0f a0') }),
      ]),
    );
    expect(events).toEqual([
      { type: 'binary', data: bytesOf('z') },
      { type: 'close', code: 4000, reason: '', initiator: 'local', wasClean: true },
    ]);
    expect(conn.state).toBe('CLOSED');
    expect(conn.shouldCloseTransport).toBe(true);
    expect(conn.takeOutput()).toEqual([]);
  });

  test('client closes first: CLOSED after the answer, waiting for the server to end TCP', () => {
    const conn = client();
    conn.sendClose();
    expect(conn.receive(s({ opcode: Opcode.Close, payload: hex('03 e8') }))).toEqual([
      { type: 'close', code: 1000, reason: '', initiator: 'local', wasClean: true },
    ]);
    expect(conn.state).toBe('CLOSED');
    expect(conn.shouldCloseTransport).toBe(false);
    expect(conn.receiveEof()).toEqual([]);
    expect(conn.shouldCloseTransport).toBe(true);
  });

  test('end of stream without a closing handshake: 1006, exactly once', () => {
    const open = server();
    expect(open.receiveEof()).toEqual([
      {
        type: 'close',
        code: 1006,
        reason: 'The connection ended without a closing handshake',
        initiator: 'peer',
        wasClean: false,
      },
    ]);
    expect(open.state).toBe('CLOSED');
    expect(open.receiveEof()).toEqual([]);
    expect(open.receive(c({ opcode: Opcode.Close }))).toEqual([]);
    const closing = client();
    closing.sendClose(1000);
    expect(closing.receiveEof()).toMatchObject([{ code: 1006, initiator: 'local', wasClean: false }]);
  });

  test('CLOSED is final: a close sent after end of stream does not make it CLOSING again', () => {
    const conn = server();
    conn.receiveEof();
    expect(conn.canSend).toBe(true);
    expect(readFrames(sent(conn, (c) => c.sendClose(1001)))).toMatchObject([
      { opcode: Opcode.Close, fin: true },
    ]);
    expect(conn.state).toBe('CLOSED');
    expect(conn.canSend).toBe(false);
    expect(conn.shouldCloseTransport).toBe(true);
  });
});

describe('API misuse throws with directions', () => {
  test('sends after our close frame', () => {
    const conn = server();
    conn.sendClose(1000);
    for (const send of [
      () => conn.sendText('a'),
      () => conn.sendBinary(new Uint8Array(1)),
      () => conn.sendPing(),
      () => conn.sendPong(),
      () => conn.sendFragment('text', new Uint8Array(0), true),
    ]) {
      expect(send).toThrow(/already sent its close frame \(state CLOSING\).*Check canSend before sending/);
    }
    expect(() => conn.sendClose(1000)).toThrow(/already sent its close frame/);
  });

  test('control payloads over 125 bytes, bad close codes and long reasons', () => {
    const conn = server();
    expect(() => conn.sendPing(new Uint8Array(126))).toThrow(/126 bytes; control frames carry at most 125/);
    expect(() => conn.sendPong('x'.repeat(126))).toThrow(/at most 125/);
    expect(sent(conn, (c) => c.sendPing(new Uint8Array(125)))).toHaveLength(2);
    for (const code of [1005, 1006, 1015, 999, 1004, 2000, 5000]) {
      expect(() => conn.sendClose(code)).toThrow(/may not be sent.*1000-1003, 1007-1014 or 3000-4999/);
    }
    expect(() => conn.sendClose(1000, 'x'.repeat(124))).toThrow(/at most 123/);
    // Refused closes leave the connection open.
    expect(conn.state).toBe('OPEN');
  });

  test('fragmented sends: no whole message or other kind in the middle', () => {
    const conn = server();
    conn.sendFragment('text', bytesOf('a'), false);
    expect(() => conn.sendText('b')).toThrow(/finish it with sendFragment/);
    expect(() => conn.sendFragment('binary', bytesOf('b'), true)).toThrow(/finish that message/);
    conn.sendPing('ok'); // control frames may come between fragments (RFC 6455 5.4)
    conn.sendFragment('text', bytesOf('c'), true);
    conn.sendText('d');
    expect(readFrames(conn.takeOutput()).map((f) => [f.opcode, f.fin])).toEqual([
      [Opcode.Text, false],
      [Opcode.Ping, true],
      [Opcode.Continuation, true],
      [Opcode.Text, true],
    ]);
  });

  test('sendingFragmentKind: the kind of the unfinished fragmented send, null when none', () => {
    const conn = client();
    expect(conn.sendingFragmentKind).toBeNull();
    conn.sendFragment('binary', bytesOf('a'), false);
    expect(conn.sendingFragmentKind).toBe('binary');
    conn.sendFragment('binary', bytesOf('b'), false);
    expect(conn.sendingFragmentKind).toBe('binary');
    // A refused send changes nothing.
    expect(() => conn.sendFragment('text', bytesOf('c'), true)).toThrow(/finish that message/);
    expect(conn.sendingFragmentKind).toBe('binary');
    conn.sendFragment('binary', bytesOf('c'), true);
    expect(conn.sendingFragmentKind).toBeNull();
    conn.sendFragment('text', bytesOf('d'), true);
    expect(conn.sendingFragmentKind).toBeNull();
  });

  test('bad role, and a client without any randomness', () => {
    expect(() => new Connection({ role: 'peer' as 'server' })).toThrow(/role must be/);
    const descriptor = Object.getOwnPropertyDescriptor(globalThis, 'crypto');
    Object.defineProperty(globalThis, 'crypto', { value: undefined, configurable: true });
    try {
      expect(() => new Connection({ role: 'client' })).toThrow(/pass options.randomFill/);
      expect(() => new Connection({ role: 'server' })).not.toThrow();
    } finally {
      Object.defineProperty(globalThis, 'crypto', descriptor!);
    }
    expect(() => new Connection({ role: 'client' })).not.toThrow();
  });
});

describe('5.3 Client-to-Server Masking, sending', () => {
  test('server frames are unmasked and reuse the caller payload', () => {
    const payload = bytesOf('data');
    const out = sent(server(), (c) => c.sendBinary(payload));
    expect(out[1]).toBe(payload);
    expect(readFrames(out)).toEqual([
      { opcode: Opcode.Binary, fin: true, rsv1: false, masked: false, payload },
    ]);
  });

  test('client keys come from randomFill, 4 bytes each from a pooled fill', () => {
    const fills: number[] = [];
    let counter = 0;
    const conn = client({
      randomFill: (b) => {
        fills.push(b.length);
        for (let i = 0; i < b.length; i++) b[i] = counter++ & 0xff;
      },
    });
    const payload = bytesOf('hello');
    const first = concatBytes(sent(conn, (c) => c.sendText(payload)));
    expect(first.subarray(2, 6)).toEqual(hex('00 01 02 03'));
    const second = concatBytes(sent(conn, (c) => c.sendText(payload)));
    expect(second.subarray(2, 6)).toEqual(hex('04 05 06 07'));
    expect(readFrames([second])[0]!.payload).toEqual(payload);
    expect(payload).toEqual(bytesOf('hello'));
    for (let i = 0; i < 70; i++) conn.sendPing();
    expect(fills).toEqual([256, 256]);
  });

  test('a no-op randomFill gives deterministic (zero) keys', () => {
    const a = concatBytes(sent(client(), (c) => c.sendText('same')));
    const b = concatBytes(sent(client(), (c) => c.sendText('same')));
    expect(a).toEqual(b);
    expect(a.subarray(0, 6)).toEqual(hex('81 84 00 00 00 00'));
  });

  test('the default randomFill is crypto.getRandomValues', () => {
    const conn = new Connection({ role: 'client' });
    const keys = new Set<string>();
    for (let i = 0; i < 10; i++)
      keys.add(Buffer.from(concatBytes(sent(conn, (c) => c.sendPing())).subarray(2, 6)).toString('hex'));
    expect(keys.size).toBeGreaterThan(1);
  });
});

describe('streaming mode', () => {
  test('one fragment event per data frame', () => {
    const conn = server({ streaming: true });
    const events = conn.receive(
      concatBytes([
        c({ opcode: Opcode.Text, payload: 'He', fin: false }),
        c({ opcode: Opcode.Ping }),
        c({ opcode: Opcode.Continuation, payload: 'llo' }),
        c({ opcode: Opcode.Binary, payload: 'b' }),
      ]),
    );
    expect(events).toEqual([
      { type: 'fragment', kind: 'text', data: bytesOf('He'), first: true, last: false },
      { type: 'ping', data: new Uint8Array(0) },
      { type: 'fragment', kind: 'text', data: bytesOf('llo'), first: false, last: true },
      { type: 'fragment', kind: 'binary', data: bytesOf('b'), first: true, last: true },
    ]);
  });

  test('text fragments may split a character; the last fails 1007 if incomplete', () => {
    const conn = server({ streaming: true });
    expect(conn.receive(c({ opcode: Opcode.Text, payload: hex('e2 82'), fin: false }))).toHaveLength(1);
    expect(conn.receive(c({ opcode: Opcode.Continuation, payload: hex('ac e2'), fin: false }))).toHaveLength(
      1,
    );
    const events = conn.receive(c({ opcode: Opcode.Continuation, payload: hex('82') }));
    expect(events.filter((e) => e.type === 'fragment')).toHaveLength(0);
    expectFailed(conn, events, 'incomplete-utf8');
  });

  test('invalid text fails fast in streaming mode too', () => {
    const conn = server({ streaming: true });
    expectFailed(
      conn,
      conn.receive(c({ opcode: Opcode.Text, payload: hex('c0'), fin: false })),
      'invalid-utf8',
    );
  });
});

/** A fake compressor/decompressor pair: "compression" reverses the bytes; records every call. */
function fakeDeflate(threshold?: number) {
  const calls: { data: number[]; fin: boolean; maxOutput: number }[] = [];
  let mode: 'ok' | 'too-big' | 'corrupt' = 'ok';
  const compressor: MessageCompressor = { compress: (data) => data.slice().reverse() };
  const decompressor: MessageDecompressor = {
    decompress(data, fin, maxOutput) {
      calls.push({ data: [...data], fin, maxOutput });
      if (mode !== 'ok') return { ok: false, reason: mode, message: mode };
      return { ok: true, data: [data.slice().reverse()] };
    },
  };
  const pmd: PerMessageDeflate = {
    params: {
      serverNoContextTakeover: false,
      clientNoContextTakeover: false,
      serverMaxWindowBits: 15,
      clientMaxWindowBits: 15,
    },
    compressor,
    decompressor,
    ...(threshold === undefined ? {} : { threshold }),
  };
  return { pmd, calls, setMode: (m: typeof mode) => (mode = m) };
}

/** permessage-deflate on node:zlib without context takeover: inflate once the message is whole. */
function zlibDeflate(): PerMessageDeflate {
  let pending: Uint8Array[] = [];
  return {
    params: {
      serverNoContextTakeover: true,
      clientNoContextTakeover: true,
      serverMaxWindowBits: 15,
      clientMaxWindowBits: 15,
    },
    compressor: {
      compress(data) {
        const out = deflateRawSync(data, { finishFlush: 2 /* Z_SYNC_FLUSH */ });
        return out.subarray(0, out.length - 4); // RFC 7692 7.2.1: drop 00 00 ff ff
      },
    },
    decompressor: {
      decompress(data, fin, maxOutput) {
        pending.push(data.slice());
        if (!fin) return { ok: true, data: [] };
        const input = concatBytes([...pending, hex('00 00 ff ff')]);
        pending = [];
        try {
          return {
            ok: true,
            data: [inflateRawSync(input, { finishFlush: 2, maxOutputLength: Math.max(1, maxOutput) })],
          };
        } catch (error) {
          const message = (error as Error).message;
          // (instanceof RangeError fails across Jest's realms: test the code.)
          const tooBig = (error as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE';
          return { ok: false, reason: tooBig ? 'too-big' : 'corrupt', message };
        }
      },
    },
  };
}

describe('RFC 7692 permessage-deflate', () => {
  test('RSV1 on the first frame: each frame goes to the decompressor with the remaining budget', () => {
    const { pmd, calls } = fakeDeflate();
    const conn = server({ perMessageDeflate: pmd, maxMessageSize: 100 });
    const events = conn.receive(
      concatBytes([
        c({ opcode: Opcode.Text, rsv1: true, payload: 'cba', fin: false }),
        c({ opcode: Opcode.Ping }),
        c({ opcode: Opcode.Continuation, payload: 'ed' }),
        c({ opcode: Opcode.Binary, payload: 'plain' }),
      ]),
    );
    expect(events).toEqual([
      { type: 'ping', data: new Uint8Array(0) },
      { type: 'text', data: bytesOf('abcde') },
      { type: 'binary', data: bytesOf('plain') },
    ]);
    expect(calls).toEqual([
      { data: [...bytesOf('cba')], fin: false, maxOutput: 100 },
      { data: [...bytesOf('ed')], fin: true, maxOutput: 97 },
    ]);
  });

  test("'too-big' closes 1009, 'corrupt' 1007, invalid inflated text 1007", () => {
    const big = fakeDeflate();
    big.setMode('too-big');
    let conn = server({ perMessageDeflate: big.pmd });
    expectFailed(
      conn,
      conn.receive(c({ opcode: Opcode.Binary, rsv1: true, payload: 'x' })),
      'message-too-big',
    );
    const corrupt = fakeDeflate();
    corrupt.setMode('corrupt');
    conn = server({ perMessageDeflate: corrupt.pmd });
    expectFailed(
      conn,
      conn.receive(c({ opcode: Opcode.Binary, rsv1: true, payload: 'x' })),
      'inflate-failed',
    );
    conn = server({ perMessageDeflate: fakeDeflate().pmd });
    expectFailed(
      conn,
      conn.receive(c({ opcode: Opcode.Text, rsv1: true, payload: hex('80 41') })),
      'invalid-utf8',
    );
  });

  test('a decompressor that overshoots the budget is still caught', () => {
    const { pmd } = fakeDeflate();
    const conn = server({ perMessageDeflate: pmd, maxMessageSize: 3 });
    expectFailed(
      conn,
      conn.receive(c({ opcode: Opcode.Binary, rsv1: true, payload: 'abcd' })),
      'message-too-big',
    );
  });

  test('sending: messages at or over the threshold are compressed with RSV1, fragments never', () => {
    const { pmd } = fakeDeflate(3);
    const conn = server({ perMessageDeflate: pmd });
    expect(readFrames(sent(conn, (c) => c.sendText('abc')))).toMatchObject([
      { opcode: Opcode.Text, rsv1: true, payload: bytesOf('cba') },
    ]);
    expect(readFrames(sent(conn, (c) => c.sendBinary(bytesOf('ab'))))).toMatchObject([
      { rsv1: false, payload: bytesOf('ab') },
    ]);
    expect(readFrames(sent(conn, (c) => c.sendFragment('binary', bytesOf('abcdef'), true)))).toMatchObject([
      { rsv1: false, payload: bytesOf('abcdef') },
    ]);
    expect(readFrames(sent(conn, (c) => c.sendPing('abcd')))).toMatchObject([{ rsv1: false }]);
  });

  test('sending with { compress: false }: no RSV1 and the payload as given; the default still compresses', () => {
    const { pmd } = fakeDeflate(3);
    const conn = server({ perMessageDeflate: pmd });
    expect(readFrames(sent(conn, (c) => c.sendText('abcdef', { compress: false })))).toMatchObject([
      { opcode: Opcode.Text, rsv1: false, payload: bytesOf('abcdef') },
    ]);
    expect(readFrames(sent(conn, (c) => c.sendBinary(bytesOf('abcd'), { compress: false })))).toMatchObject([
      { opcode: Opcode.Binary, rsv1: false, payload: bytesOf('abcd') },
    ]);
    // compress: true is the default: the threshold still decides.
    expect(readFrames(sent(conn, (c) => c.sendBinary(bytesOf('abcd'), { compress: true })))).toMatchObject([
      { rsv1: true, payload: bytesOf('dcba') },
    ]);
    expect(readFrames(sent(conn, (c) => c.sendBinary(bytesOf('ab'), { compress: true })))).toMatchObject([
      { rsv1: false, payload: bytesOf('ab') },
    ]);
    expect(readFrames(sent(conn, (c) => c.sendText('abc', {})))).toMatchObject([
      { rsv1: true, payload: bytesOf('cba') },
    ]);
    // Without permessage-deflate the option changes nothing.
    expect(readFrames(sent(server(), (c) => c.sendText('abc', { compress: true })))).toMatchObject([
      { rsv1: false, payload: bytesOf('abc') },
    ]);
  });

  test('with node:zlib: uncompressed and compressed messages interleave and all decode', () => {
    const a = client({ perMessageDeflate: zlibDeflate() });
    const b = server({ perMessageDeflate: zlibDeflate() });
    const message = 'interleaved '.repeat(50);
    const plain = concatBytes(sent(a, (c) => c.sendText(message, { compress: false })));
    const packed = concatBytes(sent(a, (c) => c.sendText(message)));
    expect(readFrames([plain]).map((f) => f.rsv1)).toEqual([false]);
    expect(readFrames([packed]).map((f) => f.rsv1)).toEqual([true]);
    expect(packed.length).toBeLessThan(plain.length);
    const events = b.receive(concatBytes([plain, packed, plain]));
    expect(events.map(text)).toEqual([message, message, message]);
  });

  test('with node:zlib: a client and a server exchange compressed messages', () => {
    const a = client({ perMessageDeflate: zlibDeflate() });
    const b = server({ perMessageDeflate: zlibDeflate() });
    const message = 'Hello, compressed world! '.repeat(40);
    const wire = concatBytes(sent(a, (c) => c.sendText(message)));
    expect(wire.length).toBeLessThan(200);
    expect(text(b.receive(wire)[0])).toBe(message);
    const back = sent(b, (c) => c.sendBinary(new Uint8Array(5000).fill(7)));
    const events = a.receive(concatBytes(back));
    expect(events).toEqual([{ type: 'binary', data: new Uint8Array(5000).fill(7) }]);
  });

  test('with node:zlib: a compressed message split over frames, and a deflate bomb stopped at the limit', () => {
    const sender = zlibDeflate();
    const compressed = sender.compressor.compress(new Uint8Array(100000));
    const cut = compressed.length >> 1;
    const conn = server({ perMessageDeflate: zlibDeflate() });
    const events = conn.receive(
      concatBytes([
        c({ opcode: Opcode.Binary, rsv1: true, payload: compressed.subarray(0, cut), fin: false }),
        c({ opcode: Opcode.Continuation, payload: compressed.subarray(cut) }),
      ]),
    );
    expect(events).toEqual([{ type: 'binary', data: new Uint8Array(100000) }]);
    const limited = server({ perMessageDeflate: zlibDeflate(), maxMessageSize: 50000 });
    expectFailed(
      limited,
      limited.receive(c({ opcode: Opcode.Binary, rsv1: true, payload: compressed })),
      'message-too-big',
    );
    const garbage = server({ perMessageDeflate: zlibDeflate() });
    expectFailed(
      garbage,
      garbage.receive(c({ opcode: Opcode.Binary, rsv1: true, payload: hex('ff ff ff ff') })),
      'inflate-failed',
    );
  });
});

describe('a bare ECMAScript context (no TextEncoder, no crypto, no Node globals)', () => {
  test('client and server connections talk inside node:vm', () => {
    const context = vm.createContext({});
    expect(vm.runInContext('typeof TextEncoder + typeof crypto + typeof process', context)).toBe(
      'undefinedundefinedundefined',
    );
    const cache = new Map<string, { exports: Record<string, unknown> }>();
    const load = (file: string): Record<string, unknown> => {
      const cached = cache.get(file);
      if (cached) return cached.exports;
      const source = fs.readFileSync(path.join(__dirname, file.replace(/\.js$/, '.ts')), 'utf8');
      const { outputText } = ts.transpileModule(source, {
        compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022 },
      });
      const module = { exports: {} as Record<string, unknown> };
      cache.set(file, module);
      const fn = vm.runInContext(`(function (exports, require, module) {${outputText}\n})`, context) as (
        e: unknown,
        r: unknown,
        m: unknown,
      ) => void;
      fn(module.exports, (spec: string) => load(spec.replace(/^\.\//, '')), module);
      return module.exports;
    };
    load('connection.js');
    context.load = load;
    const result = vm.runInContext(
      `(() => {
        const { Connection } = load('connection.js');
        let n = 1;
        const client = new Connection({ role: 'client', randomFill: (b) => { for (let i = 0; i < b.length; i++) b[i] = n++ & 255; } });
        const server = new Connection({ role: 'server' });
        const join = (parts) => { const out = new Uint8Array(parts.reduce((s, p) => s + p.length, 0)); let o = 0; for (const p of parts) { out.set(p, o); o += p.length; } return out; };
        client.sendText('héllo wörld');
        client.sendPing('p');
        client.sendClose(1000, 'bye');
        const events = server.receive(join(client.takeOutput()));
        const back = client.receive(join(server.takeOutput()));
        return JSON.stringify({ events: events.map((e) => e.type), back: back.map((e) => e.type + ':' + (e.code ?? '')), text: Array.from(events[0].data) });
      })()`,
      context,
    ) as string;
    expect(JSON.parse(result)).toEqual({
      events: ['text', 'ping', 'close'],
      back: ['pong:', 'close:1000'],
      text: [...new TextEncoder().encode('héllo wörld')],
    });
    // Without randomFill a client cannot be made there, and says why.
    expect(() => {
      vm.runInContext(`new (load('connection.js').Connection)({ role: 'client' })`, context);
    }).toThrow(/pass options.randomFill/);
  });
});
