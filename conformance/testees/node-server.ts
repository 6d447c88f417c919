// The @rfc6455/node testee for `wstest -m fuzzingclient`: echoes every message with its type.
// The same file runs on Node, Bun and Deno (conformance/matrix.json). Listens on 127.0.0.1:$PORT
// (an ephemeral port when PORT is unset), prints "LISTENING <port>" once bound, and stops on SIGTERM.
import process from 'node:process';

import { WebSocketServer } from '@rfc6455/node';

// Section 9 sends messages of up to 16 MiB (and 12/13 inflate to about as much): stay clear of it.
const MAX_PAYLOAD = 64 * 1024 * 1024;

const server = new WebSocketServer({
  host: '127.0.0.1',
  port: Number(process.env.PORT ?? 0),
  // Accept every permessage-deflate offer the suite makes (RFC 7692 section 7.1, sections 12 and 13).
  perMessageDeflate: true,
  maxPayload: MAX_PAYLOAD,
});

server.on('connection', (ws) => {
  // binaryType is 'nodebuffer' by default: every message, text or binary, arrives as one Buffer.
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  // The suite sends invalid frames on purpose; the transport closes those connections itself.
  ws.on('error', () => {});
});

server.on('listening', () => {
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : address;
  process.stdout.write(`LISTENING ${port}\n`);
});

process.on('SIGTERM', () => {
  for (const ws of server.clients ?? []) ws.terminate();
  server.close(() => process.exit(0));
});
