// A fixed conversation between a client and a server Connection of @rfc6455/codec, reduced to a
// transcript of strings (bytes as hex). The e2e test runs it in Node and, bundled without Node, in a
// Chromium page: both transcripts must be identical, byte for byte. Only ECMAScript built-ins here.
import { Connection } from '@rfc6455/codec';
import type { Event } from '@rfc6455/codec';
import { Opcode, decodeHeader, encodeFrame, newFrameHeader } from '@rfc6455/codec/internal';

function hex(bytes: Uint8Array): string {
  let out = '';
  for (const b of bytes) out += b.toString(16).padStart(2, '0');
  return out;
}

function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** Deterministic masking keys (xorshift32), so both runs put the same bytes on the wire. */
function seededFill(seed: number): (bytes: Uint8Array) => void {
  let x = seed >>> 0 || 1;
  return (bytes) => {
    for (let i = 0; i < bytes.length; i++) {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      bytes[i] = x & 0xff;
    }
  };
}

function pattern(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let i = 0; i < length; i++) bytes[i] = (i * 7 + (i >>> 8)) & 0xff;
  return bytes;
}

function utf8(text: string): Uint8Array {
  return new TextEncoder().encode(text);
}

function describe(event: Event): string {
  switch (event.type) {
    case 'text':
      return `text ${new TextDecoder('utf-8', { fatal: true }).decode(event.data)}`;
    case 'binary':
    case 'ping':
    case 'pong':
      return `${event.type} ${event.data.length} ${hex(event.data)}`;
    case 'fragment':
      return `fragment ${event.kind} ${hex(event.data)} first=${event.first} last=${event.last}`;
    case 'close':
      return `close ${event.code} "${event.reason}" by ${event.initiator} clean=${event.wasClean}${event.error !== undefined ? ` error=${event.error}` : ''}`;
  }
}

/** Feeds `bytes` to `connection` in chunks of 1, 2, ... 97 bytes: an awkward split on purpose. */
function receiveInPieces(connection: Connection, bytes: Uint8Array): Event[] {
  const events: Event[] = [];
  for (let at = 0, size = 1; at < bytes.length; at += size, size = (size % 97) + 1) {
    events.push(...connection.receive(bytes.slice(at, at + size)));
  }
  return events;
}

export function runCodecScenario(): string[] {
  const transcript: string[] = [];
  const wire = (label: string, chunks: readonly Uint8Array[]): Uint8Array => {
    const bytes = concat(chunks);
    transcript.push(`${label}: ${bytes.length} bytes ${hex(bytes)}`);
    return bytes;
  };

  // RFC 6455 5.7: a single-frame masked text message, "Hello", with key 37 fa 21 3d.
  wire('rfc 5.7 masked Hello', encodeFrame(Opcode.Text, utf8('Hello'), true, false, 0x37fa213d));
  const header = newFrameHeader();
  const big = encodeFrame(Opcode.Binary, pattern(70000), true, false, null);
  const headerLength = decodeHeader(big[0]!, 0, big[0]!.length, header);
  transcript.push(`64-bit header: ${headerLength} ${JSON.stringify(header)}`);

  const client = new Connection({ role: 'client', randomFill: seededFill(42) });
  const server = new Connection({ role: 'server' });

  client.sendText('héllo, wörld 👋');
  client.sendBinary(pattern(300));
  client.sendText('');
  client.sendBinary(pattern(70000));
  client.sendFragment('text', utf8('frag'), false);
  client.sendPing('are you there');
  client.sendFragment('text', utf8('ment'), true);
  const toServer = wire('client -> server', client.takeOutput());
  for (const event of receiveInPieces(server, toServer)) transcript.push(`server got ${describe(event)}`);

  server.sendText('welcome'); // behind the automatic pong, already queued
  server.sendBinary(pattern(65536));
  const toClient = wire('server -> client', server.takeOutput());
  for (const event of client.receive(toClient)) transcript.push(`client got ${describe(event)}`);

  // RFC 6455 7.1.2: the closing handshake, started by the client.
  client.sendClose(4001, 'done here');
  const close = wire('client close', client.takeOutput());
  for (const event of receiveInPieces(server, close)) transcript.push(`server got ${describe(event)}`);
  const reply = wire('server close reply', server.takeOutput());
  for (const event of client.receive(reply)) transcript.push(`client got ${describe(event)}`);
  transcript.push(`states: client ${client.state}, server ${server.state}`);
  transcript.push(
    `close transport: client ${client.shouldCloseTransport}, server ${server.shouldCloseTransport}`,
  );
  return transcript;
}
