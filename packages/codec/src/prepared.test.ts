// PreparedMessage + Connection.sendPrepared: one message framed (and compressed) once for many connections.
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { Connection } from './connection.js';
import type { Event } from './connection.js';
import type { PerMessageDeflate } from './permessage-deflate.js';
import { PreparedMessage } from './prepared.js';
import type { SharedDeflate } from './prepared.js';
import { concatBytes, readFrames } from '@rfc6455/test-support';

/** sendPrepared() queues the frame in the one ordered output: what the connection writes next. */
function sent(conn: Connection, message: PreparedMessage): Uint8Array[] {
  conn.sendPrepared(message);
  return conn.takeOutput();
}

const TAIL = Uint8Array.from([0x00, 0x00, 0xff, 0xff]);

function rawDeflate(data: Uint8Array, windowBits = 15): Uint8Array {
  const out = deflateRawSync(data, {
    finishFlush: 2 /* Z_SYNC_FLUSH */,
    windowBits: Math.max(9, windowBits),
  });
  return out.subarray(0, out.length - 4); // RFC 7692 7.2.1
}

/** A negotiated permessage-deflate whose compressor counts its calls (context takeover is simulated by params). */
function pmd(serverNoContextTakeover: boolean, calls: { n: number }, threshold = 0): PerMessageDeflate {
  return {
    params: {
      serverNoContextTakeover,
      clientNoContextTakeover: true,
      serverMaxWindowBits: 15,
      clientMaxWindowBits: 15,
    },
    compressor: {
      compress(data) {
        calls.n++;
        return rawDeflate(data);
      },
    },
    decompressor: {
      decompress(data, fin) {
        if (!fin) throw new Error('single-frame messages only in this test');
        return { ok: true, data: [inflateRawSync(concatBytes([data, TAIL]), { finishFlush: 2 })] };
      },
    },
    threshold,
  };
}

/** A client that can read what the server sends (inflating when RSV1 is set). */
function reader(): Connection {
  return new Connection({ role: 'client', randomFill: () => {}, perMessageDeflate: pmd(true, { n: 0 }) });
}
const textOf = (events: Event[]) => {
  const e = events[0];
  if (e?.type !== 'text') throw new Error(`not text: ${JSON.stringify(e)}`);
  return new TextDecoder().decode(e.data);
};

describe('PreparedMessage', () => {
  test('every server connection gets the same header and payload objects, built once', () => {
    const message = new PreparedMessage('hello, room');
    const conns = [0, 1, 2].map(() => new Connection({ role: 'server' }));
    const outs = conns.map((conn) => sent(conn, message));
    for (const out of outs) {
      expect(out).toHaveLength(2);
      expect(out[0]).toBe(outs[0]![0]);
      expect(out[1]).toBe(outs[0]![1]);
      expect(textOf(reader().receive(concatBytes(out)))).toBe('hello, room');
    }
    // The arrays are the connection's own (a caller may push onto them); the bytes are shared.
    expect(outs[0]).not.toBe(outs[1]);
    expect(message.compressions).toBe(0);
  });

  test('binary is the default for bytes; an empty message is one header', () => {
    const out = sent(new Connection({ role: 'server' }), new PreparedMessage(new Uint8Array(0)));
    expect(readFrames(out)).toEqual([
      expect.objectContaining({ fin: true, opcode: 2, payload: new Uint8Array(0) }),
    ]);
    expect(out).toHaveLength(1);
    const text = new PreparedMessage(Uint8Array.from([0x68, 0x69]), { binary: false });
    expect(readFrames(sent(new Connection({ role: 'server' }), text))[0]!.opcode).toBe(1);
  });

  test('server_no_context_takeover: compressed once for all, by the injected deflate', () => {
    const deflateCalls: number[] = [];
    const deflate: SharedDeflate = (data, bits) => {
      deflateCalls.push(bits);
      return rawDeflate(data, bits);
    };
    const own = { n: 0 };
    const message = new PreparedMessage('x'.repeat(4000), { deflate });
    const conns = [0, 1, 2].map(() => new Connection({ role: 'server', perMessageDeflate: pmd(true, own) }));
    const outs = conns.map((conn) => sent(conn, message));
    expect(deflateCalls).toEqual([15]);
    expect(own.n).toBe(0);
    expect(message.compressions).toBe(1);
    for (const out of outs) {
      expect(out[1]).toBe(outs[0]![1]);
      const [f] = readFrames(out);
      expect(f!.rsv1).toBe(true);
      expect(f!.payload.length).toBeLessThan(100);
      expect(textOf(reader().receive(concatBytes(out)))).toBe('x'.repeat(4000));
    }
  });

  test('a different negotiated window gets its own shared frame', () => {
    const bits: number[] = [];
    const message = new PreparedMessage('y'.repeat(3000), {
      deflate: (data, b) => (bits.push(b), rawDeflate(data, b)),
    });
    const narrow = pmd(true, { n: 0 });
    narrow.params.serverMaxWindowBits = 10;
    sent(new Connection({ role: 'server', perMessageDeflate: pmd(true, { n: 0 }) }), message);
    sent(new Connection({ role: 'server', perMessageDeflate: narrow }), message);
    sent(new Connection({ role: 'server', perMessageDeflate: narrow }), message);
    expect(bits).toEqual([15, 10]);
  });

  test('context takeover: each connection compresses with its own compressor', () => {
    const shared = jest.fn((data: Uint8Array) => rawDeflate(data));
    const own = { n: 0 };
    const message = new PreparedMessage('z'.repeat(2000), { deflate: shared });
    const outs = [0, 1].map(() =>
      sent(new Connection({ role: 'server', perMessageDeflate: pmd(false, own) }), message),
    );
    expect(shared).not.toHaveBeenCalled();
    expect(own.n).toBe(2);
    expect(message.compressions).toBe(2);
    expect(readFrames(outs[0]!)[0]!.rsv1).toBe(true);
  });

  test('no shared deflate, compress: false, or under the threshold: the plain shared frame or own compressor', () => {
    const own = { n: 0 };
    const plainConn = new Connection({ role: 'server', perMessageDeflate: pmd(true, own, 1024) });
    const small = new PreparedMessage('short');
    expect(sent(plainConn, small)[1]).toBe(small.frames()[1]);
    const off = new PreparedMessage('w'.repeat(5000), { compress: false, deflate: rawDeflate });
    const out = sent(plainConn, off);
    expect(readFrames(out)[0]!.rsv1).toBe(false);
    expect(own.n).toBe(0);
    // Negotiated without context takeover but no shared deflate given: the connection's own compressor.
    sent(plainConn, new PreparedMessage('v'.repeat(5000)));
    expect(own.n).toBe(1);
  });

  test('a client masks its own copy', () => {
    const message = new PreparedMessage('from a client');
    const a = new Connection({ role: 'client', randomFill: (b) => b.fill(7) });
    const out = sent(a, message);
    const [f] = readFrames(out);
    expect(f!.masked).toBe(true);
    expect(out[1]).not.toBe(message.frames()[1]);
    const srv = new Connection({ role: 'server' });
    expect(textOf(srv.receive(concatBytes(out)))).toBe('from a client');
  });

  test('misuse throws: after our close frame, and while a fragmented message is unfinished', () => {
    const message = new PreparedMessage('late');
    const closing = new Connection({ role: 'server' });
    closing.sendClose(1000);
    expect(() => sent(closing, message)).toThrow(/already sent its close frame/);
    const fragmenting = new Connection({ role: 'server' });
    fragmenting.sendFragment('text', new Uint8Array([0x61]), false);
    expect(() => sent(fragmenting, message)).toThrow(/fragmented message is being sent/);
  });
});
