// The @rfc6455/node testee for `wstest -m fuzzingserver`: asks for the number of cases, runs each one by
// echoing every message with its type, then asks the suite to write its reports and stop.
// The same file runs on Node, Bun and Deno (conformance/matrix.json).
// Usage: node-client.js ws://127.0.0.1:<port> <agent>, or with TESTKIT_URL and TESTKIT_AGENT set.
import process from 'node:process';

import { WebSocket } from '@rfc6455/node';

const MAX_PAYLOAD = 64 * 1024 * 1024;

const base = process.argv[2] ?? process.env.TESTKIT_URL;
const agent = process.argv[3] ?? process.env.TESTKIT_AGENT;
if (base === undefined || agent === undefined) {
  process.stderr.write('usage: node-client <ws://127.0.0.1:port> <agent> (or TESTKIT_URL, TESTKIT_AGENT)\n');
  process.exit(2);
}

/** Opens one connection to the suite and resolves when it closes, whatever the reason. */
function session(path: string, onMessage: (ws: WebSocket, data: unknown, isBinary: boolean) => void) {
  return new Promise<void>((resolve) => {
    const ws = new WebSocket(base + path, { perMessageDeflate: true, maxPayload: MAX_PAYLOAD });
    ws.on('message', (data: unknown, isBinary: boolean) => onMessage(ws, data, isBinary));
    // Cases that send bad frames end in errors: they are the point of the case, not ours to report.
    ws.on('error', () => {});
    ws.on('close', () => resolve());
  });
}

let count = 0;
await session('/getCaseCount', (_ws, data) => {
  count = Number(String(data));
});
if (!Number.isInteger(count) || count <= 0) {
  process.stderr.write(`the suite reported ${count} cases\n`);
  process.exit(1);
}
const name = encodeURIComponent(agent);
for (let i = 1; i <= count; i++) {
  await session(`/runCase?case=${i}&agent=${name}`, (ws, data, isBinary) => {
    ws.send(data as Buffer, { binary: isBinary });
  });
}
// shutdownOnComplete: the suite exits by itself once the reports are written.
await session(`/updateReports?agent=${name}&shutdownOnComplete=true`, () => {});
process.stdout.write(`ran ${count} cases\n`);
