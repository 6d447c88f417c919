// The README's example is examples/echo.ts, verbatim: this test checks that, runs it, and checks
// the bytes it puts on the wire against RFC 6455 by hand (a fixed "random" source makes them exact).
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { echoClient, echoServer, runInMemory } from '../examples/echo.js';
import type { Receive, Transport } from '../examples/echo.js';
import { PROTOCOL_ERRORS } from './close.js';
import { HANDSHAKE_ERRORS } from './handshake.js';

const root = path.join(__dirname, '..');
const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
/** The README's examples, each shown verbatim after its marker: one source, run by the tests below. */
const exampleFiles = ['examples/echo.ts', 'examples/echo-net.ts'];

/** RFC 6455 1.3: the sample nonce, so that the client key is the RFC's example key. */
const NONCE = new TextEncoder().encode('the sample nonce');
const RFC_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const RFC_ACCEPT = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=';

/** The example's client uses crypto.getRandomValues (key and masks): make it repeat the nonce. */
function fixRandom(): void {
  jest.spyOn(globalThis.crypto, 'getRandomValues').mockImplementation((array) => {
    const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
    for (let i = 0; i < bytes.length; i++) bytes[i] = NONCE[i % NONCE.length]!;
    return array;
  });
}

afterEach(() => {
  jest.restoreAllMocks();
});

const ascii = (text: string) => new Uint8Array([...text].map((c) => c.charCodeAt(0)));
const utf8 = (text: string) => new TextEncoder().encode(text);
const concat = (parts: Uint8Array[]) => new Uint8Array(Buffer.concat(parts));
/** RFC 6455 5.3, written out again: octet i XOR key octet i mod 4. */
const xor = (data: Uint8Array, key: Uint8Array) => data.map((b, i) => b ^ key[i % 4]!);

type Name = 'server' | 'client';
type Split = 'as written' | 'one byte at a time' | 'runs merged';

interface Run {
  log: string[];
  /** Every write, copied as it was handed to the transport. */
  sent: Record<Name, Uint8Array[]>;
}

/** Runs the example's two sides over a recording pipe that splits or merges the byte stream. */
function run(messages: string[], split: Split): Run {
  const log: string[] = [];
  const sent: Run['sent'] = { server: [], client: [] };
  const queue: { to: Name; bytes: Uint8Array | null }[] = [];
  const sides = {} as Record<Name, Receive>;
  const transport = (from: Name, to: Name): Transport => {
    let ended = false;
    return {
      write: (chunks) => {
        for (const chunk of chunks) {
          sent[from].push(chunk.slice());
          queue.push({ to, bytes: chunk.slice() });
        }
      },
      end: () => {
        if (ended) return;
        ended = true;
        queue.push({ to, bytes: null });
      },
    };
  };
  const say = (line: string) => void log.push(line);
  sides.server = echoServer(transport('server', 'client'), say);
  sides.client = echoClient(transport('client', 'server'), messages, say);
  for (let steps = 0; queue.length > 0; steps++) {
    expect(steps).toBeLessThan(1000);
    const { to, bytes } = queue.shift()!;
    if (bytes === null) {
      log.push(`${to === 'server' ? 'client' : 'server'}: end`);
      sides[to](null);
    } else if (split === 'one byte at a time') {
      for (let i = 0; i < bytes.length; i++) sides[to](bytes.slice(i, i + 1));
    } else if (split === 'runs merged') {
      const run = [bytes];
      while (queue[0]?.to === to && queue[0].bytes !== null) run.push(queue.shift()!.bytes!);
      sides[to](concat(run));
    } else {
      sides[to](bytes);
    }
  }
  return { log, sent };
}

describe('README', () => {
  test.each(exampleFiles)('shows %s verbatim, in a ts block after its marker', (file) => {
    const marker = `<!-- example: ${file} -->\n\n\`\`\`ts\n`;
    const start = readme.indexOf(marker);
    expect(start).toBeGreaterThanOrEqual(0);
    const body = readme.slice(start + marker.length);
    expect(body.slice(0, body.indexOf('```\n'))).toBe(fs.readFileSync(path.join(root, file), 'utf8'));
  });

  test('has a row for every kind of PROTOCOL_ERRORS, with its code and reason', () => {
    const escape = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    for (const [kind, { code, reason }] of Object.entries(PROTOCOL_ERRORS)) {
      const cells = [`\`${kind}\``, String(code), reason].map(escape).join(' *\\| *');
      expect(readme).toMatch(new RegExp(`^\\| *${cells} *\\|$`, 'm'));
    }
  });

  test('lists every kind of HANDSHAKE_ERRORS in the row of its status, and no other kind', () => {
    const rows = new Map<string, number>();
    for (const line of readme.split('\n')) {
      const m = /^\| (`[a-z-]+`(?:, `[a-z-]+`)*) \| (\d{3}) \|$/.exec(line);
      if (m) for (const kind of m[1]!.matchAll(/`([a-z-]+)`/g)) rows.set(kind[1]!, Number(m[2]));
    }
    const table = Object.fromEntries(Object.entries(HANDSHAKE_ERRORS).map(([kind, e]) => [kind, e.status]));
    expect(Object.fromEntries(rows)).toEqual(table);
  });
});

describe('the example (RFC 6455 4 and 5, in memory)', () => {
  test('runInMemory: two echoes, then the closing handshake; the server ends the stream first (7.1.1)', () => {
    expect(runInMemory(['hello', 'wörld'])).toEqual([
      'client: echo hello',
      'client: echo wörld',
      'server: close 1000 bye',
      'client: close 1000 clean=true',
      'server: end',
      'client: end',
    ]);
  });

  test.each<Split>(['as written', 'one byte at a time', 'runs merged'])(
    'the bytes on the wire, chunks %s',
    (split) => {
      fixRandom();
      const { log, sent } = run(['hello', 'wörld'], split);
      expect(log).toEqual([
        'client: echo hello',
        'client: echo wörld',
        'server: close 1000 bye',
        'client: close 1000 clean=true',
        'server: end',
        'client: end',
      ]);
      // 4.1: the request, with the RFC's sample key.
      expect(Buffer.concat(sent.client.slice(0, 1)).toString('latin1')).toBe(
        'GET /echo HTTP/1.1\r\nHost: localhost:8000\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Key: ${RFC_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
      // 4.2.2: the accept value is the RFC's, and SHA-1 computed here agrees.
      const accept = createHash('sha1')
        .update(RFC_KEY + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11')
        .digest('base64');
      expect(accept).toBe(RFC_ACCEPT);
      expect(Buffer.from(sent.server[0]!).toString('latin1')).toBe(
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          `Sec-WebSocket-Accept: ${accept}\r\n\r\n`,
      );
      // 5.1, 5.3: client frames are masked, keys drawn in turn from the random source.
      const key = (n: number) => NONCE.subarray(4 * n, 4 * n + 4);
      const closePayload = concat([new Uint8Array([0x03, 0xe8]), ascii('bye')]);
      expect(concat(sent.client.slice(1))).toEqual(
        concat([
          new Uint8Array([0x81, 0x85]),
          key(0),
          xor(ascii('hello'), key(0)),
          new Uint8Array([0x81, 0x86]),
          key(1),
          xor(utf8('wörld'), key(1)),
          new Uint8Array([0x88, 0x85]),
          key(2),
          xor(closePayload, key(2)),
        ]),
      );
      // 5.1, 5.5.1: server frames are not masked; the close reply echoes the code.
      expect(concat(sent.server.slice(1))).toEqual(
        concat([
          new Uint8Array([0x81, 0x05]),
          ascii('hello'),
          new Uint8Array([0x81, 0x06]),
          utf8('wörld'),
          new Uint8Array([0x88, 0x02, 0x03, 0xe8]),
        ]),
      );
    },
  );
});

describe('examples/echo-net.ts, run as built (127.0.0.1, PORT=0), against the example client', () => {
  test('two echoes and a clean close; the server ends TCP first', async () => {
    const script = path.join(root, 'examples', 'dist', 'echo-net.js');
    if (!fs.existsSync(script)) throw new Error(`${script} is missing: build first (bash scripts/build.sh)`);
    const child = spawn(process.execPath, [script], { env: { ...process.env, PORT: '0' }, stdio: 'pipe' });
    try {
      let printed = '';
      const port = await new Promise<number>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`no LISTENING line within 10 s: ${printed}`)),
          10_000,
        );
        child.stdout.on('data', (chunk: Buffer) => {
          printed += chunk.toString();
          const match = /LISTENING (\d+)/.exec(printed);
          if (match) {
            clearTimeout(timer);
            resolve(Number(match[1]));
          }
        });
        child.on('exit', (code) => reject(new Error(`echo-net exited with ${code}: ${printed}`)));
      });
      const log: string[] = [];
      const socket = net.connect(port, '127.0.0.1');
      socket.setTimeout(5000, () => socket.destroy()); // a broken example fails instead of hanging
      const receive = echoClient(
        { write: (chunks) => chunks.forEach((c) => socket.write(c)), end: () => socket.end() },
        ['hello', 'wörld'],
        (line) => void log.push(line),
      );
      socket.on('data', receive);
      socket.on('end', () => receive(null));
      await new Promise((resolve) => socket.on('close', resolve));
      expect(log).toEqual(['client: echo hello', 'client: echo wörld', 'client: close 1000 clean=true']);
      // The server's own log line, printed by the example's log callback.
      for (let i = 0; i < 100 && !printed.includes('server: close'); i++)
        await new Promise((r) => setTimeout(r, 20));
      expect(printed).toContain('server: close 1000 bye');
    } finally {
      child.kill('SIGTERM');
    }
  });
});

describe('the example, one side against hand-made bytes', () => {
  interface Recorder extends Transport {
    out: Uint8Array[];
    ended: boolean;
  }
  const recorder = (): Recorder => {
    const r: Recorder = {
      out: [],
      ended: false,
      write: (chunks) => r.out.push(...chunks.map((c) => c.slice())),
      end: () => {
        r.ended = true;
      },
    };
    return r;
  };
  const text = (r: Recorder) => Buffer.concat(r.out).toString('latin1');
  const request = (method = 'GET') =>
    `${method} /echo HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Key: ${RFC_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`;

  test('server: frames in the same chunk as the head are kept (binary echo, ping answered)', () => {
    const t = recorder();
    const log: string[] = [];
    const key = new Uint8Array([1, 2, 3, 4]);
    const receive = echoServer(t, (line) => log.push(line));
    receive(
      concat([
        ascii(request()),
        new Uint8Array([0x82, 0x83]),
        key,
        xor(new Uint8Array([0, 0xff, 7]), key),
        new Uint8Array([0x89, 0x82]),
        key,
        xor(ascii('hi'), key),
      ]),
    );
    expect(text(t)).toBe(
      'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
        `Sec-WebSocket-Accept: ${RFC_ACCEPT}\r\n\r\n` +
        // The pong is made inside receive(), the echo by the handler after it: one ordered output.
        '\x8a\x02hi' +
        '\x82\x03\x00\xff\x07',
    );
    expect(t.ended).toBe(false);
    expect(log).toEqual([]);
  });

  test('server: a bad request is refused with a response that says why, then the stream ends', () => {
    const t = recorder();
    echoServer(t, () => {})(ascii(request('POST')));
    expect(text(t)).toMatch(/^HTTP\/1\.1 405 Method Not Allowed\r\n/);
    expect(text(t)).toContain('Allow: GET\r\n');
    expect(text(t)).toContain('\r\n\r\nthe WebSocket handshake must be a GET request: not POST\n');
    expect(t.ended).toBe(true);

    const garbage = recorder();
    echoServer(garbage, () => {})(ascii('hello\r\n\r\n'));
    expect(text(garbage)).toMatch(/^HTTP\/1\.1 400 Bad Request\r\n[\s\S]*\r\n\r\nmalformed request line\n$/);
    expect(garbage.ended).toBe(true);
  });

  test('server: a peer violation closes with the code of the table (unmasked frame: 1002)', () => {
    const t = recorder();
    const log: string[] = [];
    const receive = echoServer(t, (line) => log.push(line));
    receive(ascii(request()));
    t.out.length = 0;
    receive(concat([new Uint8Array([0x81, 0x02]), ascii('hi')]));
    const reason = 'Client frames must be masked (RFC 6455 5.1)';
    expect(log).toEqual([`server: close 1002 ${reason}`]);
    expect(text(t)).toBe(`\x88${String.fromCharCode(2 + reason.length)}\x03\xea${reason}`);
    expect(t.ended).toBe(true);
  });

  test('server: end of stream without a close is 1006', () => {
    const log: string[] = [];
    const receive = echoServer(recorder(), (line) => log.push(line));
    receive(ascii(request()));
    receive(null);
    expect(log).toEqual(['server: close 1006 The connection ended without a closing handshake']);
  });

  test('client: a response that is not 101, or a wrong accept value, fails the handshake', () => {
    for (const [response, reason] of [
      ['HTTP/1.1 404 Not Found\r\n\r\n', 'expected 101 Switching Protocols, got 404 Not Found'],
      [
        'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
          'Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n',
        'Sec-WebSocket-Accept does not match the key we sent',
      ],
    ] as const) {
      const t = recorder();
      const log: string[] = [];
      echoClient(t, ['x'], (line) => log.push(line))(ascii(response));
      expect(log).toEqual([`client: handshake failed: ${reason}`]);
      expect(t.ended).toBe(true);
      expect(t.out).toHaveLength(1); // the request only
    }
  });

  test('client: a frame in the same chunk as the 101 is kept', () => {
    fixRandom();
    const t = recorder();
    const log: string[] = [];
    echoClient(t, ['hey'], (line) => log.push(line))(
      concat([
        ascii(
          'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
            `Sec-WebSocket-Accept: ${RFC_ACCEPT}\r\n\r\n`,
        ),
        new Uint8Array([0x81, 0x03]),
        ascii('hey'),
      ]),
    );
    expect(log).toEqual(['client: echo hey']);
    // The request, the message, then the close that followed the last echo.
    expect(t.out).toHaveLength(5);
    expect(t.out[3]).toEqual(concat([new Uint8Array([0x88, 0x85]), NONCE.subarray(4, 8)]));
    expect(t.ended).toBe(false); // 7.1.1: the client waits for the server to end TCP
  });
});
