// Hostile peers during the opening handshake (RFC 6455 4.2.1): oversized heads, slowloris,
// crafted header values and malformed requests. Each test attacks over a real socket, checks the
// answer, then that the server still serves and that nothing is left behind.
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from './server.js';
import { RawPeer, rejection, sleep, withServer } from './testing/raw-peer.js';
import { frame, upgradeRequest } from '@rfc6455/test-support';

describe('request heads over the limits (RFC 6455 4.2.1, RFC 6585 5: 431)', () => {
  test('a head over 16 KiB gets 431 and the socket is closed without reading further', async () => {
    await withServer({}, async ({ port }) => {
      const filler = `X-Filler: ${'a'.repeat(17 * 1024)}\r\n`;
      const peer = await RawPeer.connect(port, upgradeRequest('/', filler).replace('\r\n\r\n', '\r\n'));
      // Keep sending after the limit: the server must answer and close anyway, not wait for the end.
      const more = setInterval(() => {
        if (!peer.socket.destroyed && peer.socket.writable)
          peer.socket.write(`X-More: ${'b'.repeat(1000)}\r\n`);
      }, 5);
      try {
        await peer.closed;
      } finally {
        clearInterval(more);
      }
      expect(peer.raw.toString('latin1')).toMatch(/^HTTP\/1\.1 431 /);
    });
  });

  test('a head just under 16 KiB is accepted', async () => {
    await withServer({}, async ({ port }) => {
      const request = upgradeRequest('/', 'X-Filler: ');
      const filler = `X-Filler: ${'a'.repeat(16 * 1024 - request.length - 64)}\r\n`;
      const peer = await RawPeer.open(port, '/', filler);
      peer.socket.destroy();
      await peer.closed;
    });
  });

  test('more than 100 header fields gets 431 with a reason; the socket is closed', async () => {
    await withServer({}, async ({ port }) => {
      let extra = '';
      for (let i = 0; i < 101; i++) extra += `X-${i}: y\r\n`;
      const { status, text } = await rejection(port, upgradeRequest('/', extra));
      expect(status).toBe(431);
      expect(text).toMatch(/header/i);
      // Thousands of tiny headers inside 16 KiB: the same answer.
      let many = '';
      for (let i = 0; i < 3000; i++) many += `a:${i % 10}\r\n`;
      expect((await rejection(port, upgradeRequest('/', many))).status).toBe(431);
    });
  });

  test('a configured maxHeadBytes and maxHeaders apply', async () => {
    await withServer({ maxHeadBytes: 1024, maxHeaders: 10 }, async ({ port }) => {
      expect((await rejection(port, upgradeRequest('/', `X-F: ${'a'.repeat(1100)}\r\n`))).status).toBe(431);
      let extra = '';
      for (let i = 0; i < 6; i++) extra += `X-${i}: y\r\n`;
      expect((await rejection(port, upgradeRequest('/', extra))).status).toBe(431);
    });
  });
});

describe('slowloris: the handshake timeout counts from the connection', () => {
  test('a head sent one byte at a time is cut off after handshakeTimeout, not after the last byte', async () => {
    await withServer({ handshakeTimeout: 200 }, async ({ port }) => {
      const request = upgradeRequest('/');
      const peer = await RawPeer.connect(port);
      let sent = 0;
      // One byte every 20 ms: the whole head would take several seconds; each byte comes well
      // within the timeout, so only a deadline from the connection can stop it.
      while (!peer.socket.destroyed && sent < request.length) {
        peer.socket.write(request[sent++]!);
        await sleep(20);
      }
      await peer.closed;
      expect(sent).toBeLessThan(request.length);
      expect(peer.head).toBe('');
    });
  });

  test('a socket that says nothing is destroyed after handshakeTimeout', async () => {
    await withServer({ handshakeTimeout: 200 }, async ({ port }) => {
      const peer = await RawPeer.connect(port);
      await peer.closed;
      expect(peer.raw.length).toBe(0);
    });
  });

  test('the default timeout is 10 s', async () => {
    const { DEFAULT_HANDSHAKE_TIMEOUT } = await import('./options.js');
    expect(DEFAULT_HANDSHAKE_TIMEOUT).toBe(10_000);
  });

  test('a completed handshake is not cut off by the handshake timeout', async () => {
    await withServer({ handshakeTimeout: 200 }, async ({ port }) => {
      const peer = await RawPeer.open(port);
      await sleep(400);
      expect(peer.socket.destroyed).toBe(false);
      peer.socket.destroy();
      await peer.closed;
    });
  });
});

describe('crafted Sec-WebSocket-Protocol and Sec-WebSocket-Extensions values (linear parsing)', () => {
  const big = (unit: string): string => unit.repeat(Math.floor((15 * 1024) / unit.length));
  const protocols: [string, string, number][] = [
    ['commas', big(','), 101],
    ['commas and spaces', big(' ,  '), 101],
    ['tokens', big('a,'), 101],
    ['quotes', big('"'), 400],
    ['quoted commas', `"${big(',')}`, 400],
    ['semicolons', big(';'), 400],
  ];
  test.each(protocols)('Sec-WebSocket-Protocol of 15 KiB %s', async (_name, value, status) => {
    await withServer({ handleProtocols: (set) => (set.has('chat') ? 'chat' : false) }, async ({ port }) => {
      const request = upgradeRequest('/', `Sec-WebSocket-Protocol: ${value}\r\n`);
      if (status === 101) {
        const peer = await RawPeer.open(port, '/', `Sec-WebSocket-Protocol: ${value}\r\n`);
        expect(peer.head).not.toMatch(/Sec-WebSocket-Protocol/i);
        peer.socket.destroy();
        await peer.closed;
      } else {
        const r = await rejection(port, request);
        expect(r.status).toBe(status);
        expect(r.text).toMatch(/subprotocol/i);
      }
    });
  });

  const extensions: [string, string, number][] = [
    ['commas', big(','), 101],
    ['semicolons', `permessage-deflate${big(';')}`, 400],
    ['parameters', `permessage-deflate${big('; a=1')}`, 101],
    ['quotes', `permessage-deflate; a="${big('\\"')}`, 400],
    ['an open quoted string', `x; a="${big(' ,;')}`, 400],
    ['many offers', big('permessage-deflate,'), 101],
    ['spaces', `permessage-deflate${big(' ')}`, 101],
  ];
  test.each(extensions)('Sec-WebSocket-Extensions of 15 KiB %s', async (_name, value, status) => {
    await withServer({ perMessageDeflate: true }, async ({ port }) => {
      const line = `Sec-WebSocket-Extensions: ${value}\r\n`;
      if (status === 101) {
        const peer = await RawPeer.open(port, '/', line);
        peer.socket.destroy();
        await peer.closed;
      } else {
        const r = await rejection(port, upgradeRequest('/', line));
        expect(r.status).toBe(status);
        expect(r.text).toMatch(/extension|parameter|permessage|quoted/i);
      }
    });
  });
});

describe('malformed upgrade requests get the right 4xx with a reason (RFC 6455 4.2.1, 4.4)', () => {
  const good = upgradeRequest('/');
  const cases: [string, string, number, RegExp][] = [
    ['POST', good.replace(/^GET/, 'POST'), 405, /GET/],
    ['HTTP/1.0', good.replace('HTTP/1.1', 'HTTP/1.0'), 400, /HTTP\/1\.1/],
    ['no Host', good.replace('Host: 127.0.0.1\r\n', ''), 400, /host/i],
    ['no key', good.replace(/Sec-WebSocket-Key: .*\r\n/, ''), 400, /Sec-WebSocket-Key/i],
    [
      'two keys',
      good.replace(
        'Sec-WebSocket-Version',
        'Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==\r\nSec-WebSocket-Version',
      ),
      400,
      /Sec-WebSocket-Key/i,
    ],
    [
      'a 15-byte key',
      good.replace(/Sec-WebSocket-Key: .*\r\n/, 'Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAA\r\n'),
      400,
      /16 bytes/,
    ],
    ['Upgrade: h2c', good.replace('Upgrade: websocket', 'Upgrade: h2c'), 400, /websocket/i],
    ['version 8', good.replace('Sec-WebSocket-Version: 13', 'Sec-WebSocket-Version: 8'), 426, /13/],
  ];
  test.each(cases)('%s', async (_name, request, status, reason) => {
    await withServer({}, async ({ port }) => {
      const r = await rejection(port, request);
      expect(r.status).toBe(status);
      const body = r.text.slice(r.text.indexOf('\r\n\r\n') + 4);
      expect(body).toMatch(reason);
      if (status === 426) expect(r.text).toMatch(/Sec-WebSocket-Version: 13/i);
    });
  });

  test('garbage instead of HTTP gets 400 and the socket is closed', async () => {
    await withServer({}, async ({ port }) => {
      const r = await rejection(
        port,
        Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03, 13, 10, 13, 10]),
      );
      expect(r.status).toBe(400);
    });
  });
});

describe('request smuggling: message framing (RFC 9112 6.3) and Host (RFC 9112 3.2) get 400, never 101', () => {
  const good = upgradeRequest('/');
  const withHeaders = (headers: string, body = ''): string =>
    good.replace(/\r\n\r\n$/, `\r\n${headers}\r\n`) + body;
  // A masked text frame "hi": if content were read as frames, this would follow it.
  const textFrame = Buffer.from(frame({ opcode: 1, payload: 'hi' })).toString('latin1');
  const cases: [string, string, RegExp][] = [
    ['Content-Length: abc', withHeaders('Content-Length: abc\r\n'), /invalid Content-Length "abc"/],
    [
      'Content-Length and Transfer-Encoding',
      withHeaders('Content-Length: 5\r\nTransfer-Encoding: chunked\r\n', `0\r\n\r\n${textFrame}`),
      /both Transfer-Encoding and Content-Length/,
    ],
    [
      'two different lengths',
      withHeaders('Content-Length: 5\r\nContent-Length: 6\r\n', `hello${textFrame}`),
      /more than one Content-Length/,
    ],
    [
      'Transfer-Encoding: gzip',
      withHeaders('Transfer-Encoding: gzip\r\n', textFrame),
      /does not end in chunked/,
    ],
    [
      'a chunked body',
      withHeaders('Transfer-Encoding: chunked\r\n', `5\r\nhello\r\n0\r\n\r\n${textFrame}`),
      /must not have content/,
    ],
    [
      'a Content-Length body',
      withHeaders('Content-Length: 5\r\n', `hello${textFrame}`),
      /must not have content.*: Content-Length is "5"/,
    ],
    ['Host: a b', good.replace('Host: 127.0.0.1', 'Host: a b'), /invalid Host header.*: "a b"/],
    ['Host: a/b', good.replace('Host: 127.0.0.1', 'Host: a/b'), /invalid Host header/],
    ['an empty Host', good.replace('Host: 127.0.0.1', 'Host:'), /invalid Host header.*: ""/],
  ];
  test.each(cases)('port mode: %s', async (_name, request, reason) => {
    await withServer({}, async ({ port, wss }) => {
      let connections = 0;
      // Old behaviour (101): end the connection, so that the peer sees its end either way.
      const onConnection = (ws: { terminate(): void }): void => {
        connections++;
        ws.terminate();
      };
      wss.on('connection', onConnection);
      const r = await rejection(port, request);
      wss.off('connection', onConnection); // withServer checks afterwards that the server still serves
      expect(r.status).toBe(400);
      expect(r.text.slice(r.text.indexOf('\r\n\r\n') + 4)).toMatch(reason);
      expect(r.text).not.toMatch(/101 Switching/);
      expect(connections).toBe(0);
    });
  });

  test('server mode (node:http passes a body through as `head`): a Content-Length body gets 400', async () => {
    const server = http.createServer();
    const wss = new WebSocketServer({ server });
    let connections = 0;
    wss.on('connection', (ws) => {
      connections++;
      ws.terminate();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const r = await rejection(port, withHeaders('Content-Length: 5\r\n', `hello${textFrame}`));
      expect(r.status).toBe(400);
      expect(r.text).toMatch(/must not have content/);
      expect(connections).toBe(0);
    } finally {
      wss.close();
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
