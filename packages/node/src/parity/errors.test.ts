// A peer that breaks the protocol: the 'error' the application sees has ws's class and `code`, the
// close frame we send has the RFC's code, and 'close' follows. Run against ws and against us.
import { RawPeer } from '../testing/raw-peer.js';
import { LIBS, listenWith, next, shutdown } from '../testing/differential.js';
import type { DiffSocket } from '../testing/differential.js';
import { closePayload, frame } from '@rfc6455/test-support';
import type { FrameSpec } from '@rfc6455/test-support';

interface Case {
  name: string;
  frames: FrameSpec[];
  /** ws's error code, the error's class, and the close code sent to the peer. */
  code: string;
  range: boolean;
  sent: number;
}

const CASES: Case[] = [
  {
    name: 'reserved opcode',
    frames: [{ opcode: 3 }],
    code: 'WS_ERR_INVALID_OPCODE',
    range: true,
    sent: 1002,
  },
  {
    name: 'reserved control opcode',
    frames: [{ opcode: 0xb }],
    code: 'WS_ERR_INVALID_OPCODE',
    range: true,
    sent: 1002,
  },
  {
    name: 'RSV2',
    frames: [{ opcode: 1, rsv2: true, payload: 'a' }],
    code: 'WS_ERR_UNEXPECTED_RSV_2_3',
    range: true,
    sent: 1002,
  },
  {
    name: 'RSV1 without permessage-deflate',
    frames: [{ opcode: 1, rsv1: true, payload: 'a' }],
    code: 'WS_ERR_UNEXPECTED_RSV_1',
    range: true,
    sent: 1002,
  },
  {
    name: 'an unmasked client frame',
    frames: [{ opcode: 1, mask: false, payload: 'a' }],
    code: 'WS_ERR_EXPECTED_MASK',
    range: true,
    sent: 1002,
  },
  {
    name: 'a fragmented ping',
    frames: [{ opcode: 9, fin: false }],
    code: 'WS_ERR_EXPECTED_FIN',
    range: true,
    sent: 1002,
  },
  {
    name: 'a ping of 126 bytes',
    frames: [{ opcode: 9, payload: Buffer.alloc(126) }],
    code: 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH',
    range: true,
    sent: 1002,
  },
  {
    name: 'a close frame of 1 byte',
    frames: [{ opcode: 8, payload: Buffer.alloc(1) }],
    code: 'WS_ERR_INVALID_CONTROL_PAYLOAD_LENGTH',
    range: true,
    sent: 1002,
  },
  {
    name: 'a continuation with nothing to continue',
    frames: [{ opcode: 0, payload: 'a' }],
    code: 'WS_ERR_INVALID_OPCODE',
    range: true,
    sent: 1002,
  },
  {
    name: 'a new message inside a fragmented one',
    frames: [
      { opcode: 1, fin: false, payload: 'a' },
      { opcode: 1, payload: 'b' },
    ],
    code: 'WS_ERR_INVALID_OPCODE',
    range: true,
    sent: 1002,
  },
  {
    name: 'close code 1005 on the wire',
    frames: [{ opcode: 8, payload: closePayload(1005) }],
    code: 'WS_ERR_INVALID_CLOSE_CODE',
    range: true,
    sent: 1002,
  },
  {
    name: 'a close reason that is not UTF-8',
    frames: [{ opcode: 8, payload: Buffer.concat([closePayload(1000), Buffer.from([0xff])]) }],
    code: 'WS_ERR_INVALID_UTF8',
    range: false,
    sent: 1007,
  },
  {
    name: 'a text message that is not UTF-8',
    frames: [{ opcode: 1, payload: Buffer.from([0x61, 0xc3, 0x28]) }],
    code: 'WS_ERR_INVALID_UTF8',
    range: false,
    sent: 1007,
  },
  {
    name: 'a message over maxPayload',
    frames: [{ opcode: 2, payload: Buffer.alloc(2000) }],
    code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH',
    range: true,
    sent: 1009,
  },
  {
    name: 'fragments that add up to more than maxPayload',
    frames: [
      { opcode: 2, fin: false, payload: Buffer.alloc(600) },
      { opcode: 0, fin: false, payload: Buffer.alloc(600) },
      { opcode: 0, payload: Buffer.alloc(600) },
    ],
    code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH',
    range: true,
    sent: 1009,
  },
];

describe.each(LIBS)('%s: errors for peer violations', (_name, lib) => {
  test.each(CASES)('$name', async (c) => {
    const { wss, port } = await listenWith(lib, { maxPayload: 1024 });
    const connected = next<[DiffSocket]>(wss, 'connection');
    const peer = await RawPeer.open(port);
    const [ws] = await connected;
    const errored = next<[Error & { code?: string }]>(ws, 'error');
    const closed = next<[number, Buffer]>(ws, 'close');
    await peer.write(Buffer.concat(c.frames.map(frame)));
    const [err] = await errored;
    expect(err.code).toBe(c.code);
    expect(err instanceof RangeError).toBe(c.range);
    expect(err).toBeInstanceOf(Error);
    expect((await peer.closeFrame()).code).toBe(c.sent);
    // The peer never answers the close: the server ends TCP, and 'close' reports 1006.
    peer.socket.end();
    const [code] = await closed;
    expect(code).toBe(1006);
    peer.socket.destroy();
    await shutdown(wss);
  });
});

describe.each(LIBS)('%s: errors from permessage-deflate', (_name, lib) => {
  test("corrupt compressed data: zlib's code, close 1007", async () => {
    const { wss, port } = await listenWith(lib, { perMessageDeflate: true });
    const connected = next<[DiffSocket]>(wss, 'connection');
    const peer = await RawPeer.open(port, '/', 'Sec-WebSocket-Extensions: permessage-deflate\r\n');
    expect(peer.head).toMatch(/permessage-deflate/i);
    const [ws] = await connected;
    const errored = next<[Error & { code?: string }]>(ws, 'error');
    // BFINAL=1 with block type 3, which deflate reserves (RFC 1951 3.2.3).
    await peer.write(frame({ opcode: 2, rsv1: true, payload: Buffer.from([0xff, 0xff, 0xff]) }));
    const [err] = await errored;
    expect(err.code).toBe('Z_DATA_ERROR');
    expect(err instanceof RangeError).toBe(false);
    expect((await peer.closeFrame()).code).toBe(1007);
    peer.socket.destroy();
    await shutdown(wss);
  });
});

describe.each(LIBS)('%s: a frame length with its top bit set', (name, lib) => {
  test('the same code; the close code differs on purpose (RFC 6455 5.2: a protocol error)', async () => {
    const { wss, port } = await listenWith(lib);
    const connected = next<[DiffSocket]>(wss, 'connection');
    const peer = await RawPeer.open(port);
    const [ws] = await connected;
    const errored = next<[Error & { code?: string }]>(ws, 'error');
    await peer.write(frame({ opcode: 2, length: 2n ** 63n }));
    const [err] = await errored;
    expect(err.code).toBe('WS_ERR_UNSUPPORTED_DATA_PAYLOAD_LENGTH');
    expect(err).toBeInstanceOf(RangeError);
    expect((await peer.closeFrame()).code).toBe(name === 'ws' ? 1009 : 1002);
    peer.socket.destroy();
    await shutdown(wss);
  });
});
