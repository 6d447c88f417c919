// How long the server handshake takes on crafted 15 KiB Sec-WebSocket-Protocol and
// Sec-WebSocket-Extensions values (thousands of commas, spaces, quotes, semicolons): parsing must be
// linear, well under a millisecond each (the ReDoS class of bugs shows up here as seconds).
// The hostile tests check the answers; this measures the time. Usage (after scripts/build.sh):
//
//   node packages/bench/dist/handshake-bench.js
import { HeadParser, acceptServerHandshake } from '@rfc6455/codec';
import type { ServerHandshakeOptions } from '@rfc6455/codec';

/** [name, header, value] */
type Case = [string, string, string];

let target = 15 * 1024;
const big = (unit: string): string => unit.repeat(Math.floor(target / unit.length));
const makeCases = (): Case[] => [
  ['protocol: commas', 'Sec-WebSocket-Protocol', big(',')],
  ['protocol: commas and spaces', 'Sec-WebSocket-Protocol', big(' ,  ')],
  ['protocol: tokens', 'Sec-WebSocket-Protocol', big('a,')],
  ['protocol: quotes', 'Sec-WebSocket-Protocol', big('"')],
  ['protocol: semicolons', 'Sec-WebSocket-Protocol', big(';')],
  ['extensions: commas', 'Sec-WebSocket-Extensions', big(',')],
  ['extensions: semicolons', 'Sec-WebSocket-Extensions', `permessage-deflate${big(';')}`],
  ['extensions: parameters', 'Sec-WebSocket-Extensions', `permessage-deflate${big('; a=1')}`],
  ['extensions: escaped quotes', 'Sec-WebSocket-Extensions', `permessage-deflate; a="${big('\\"')}`],
  ['extensions: open quoted string', 'Sec-WebSocket-Extensions', `x; a="${big(' ,;')}`],
  ['extensions: many offers', 'Sec-WebSocket-Extensions', big('permessage-deflate,')],
  ['extensions: spaces', 'Sec-WebSocket-Extensions', `permessage-deflate${big(' ')}`],
];

const encoder = new TextEncoder();
const options: ServerHandshakeOptions = {
  chooseProtocol: (offered) => (offered.includes('chat') ? 'chat' : null),
  perMessageDeflate: true,
};

/** Microseconds per parse + accept of a head carrying `value`, and the answer's status. */
function measure(name: string, header: string, value: string): { bytes: number; us: number; status: number } {
  const raw = encoder.encode(
    `GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n${header}: ${value}\r\n\r\n`,
  );
  const once = () => {
    const parsed = new HeadParser('request', { maxHeadBytes: 1 << 20 }).feed(raw);
    if (!parsed.done || !parsed.ok) throw new Error(`${name}: the head did not parse`);
    return acceptServerHandshake(parsed.head, options);
  };
  const answer = once();
  for (let i = 0; i < 20; i++) once();
  const rounds = 100;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < rounds; i++) once();
  const us = Number(process.hrtime.bigint() - t0) / 1000 / rounds;
  return { bytes: raw.length, us, status: answer.ok ? 101 : answer.status };
}

// Each case at 15 KiB (what fits under the default head limit) and at 4 times that: linear parsing
// takes about 4 times as long, a quadratic one 16 times.
const small = makeCases();
target = 60 * 1024;
const large = makeCases();
for (let i = 0; i < small.length; i++) {
  const [name, header, value] = small[i]!;
  const a = measure(name, header, value);
  const b = measure(name, header, large[i]![2]);
  console.log(
    `${name.padEnd(32)} ${String(a.bytes).padStart(6)} B -> ${a.status}  ${a.us.toFixed(1).padStart(7)} us` +
      `   (x4 size: ${(b.us / a.us).toFixed(1)}x time)`,
  );
}
