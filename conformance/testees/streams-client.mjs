// The @rfc6455/streams testee for `wstest -m fuzzingserver`, on Node or Deno: runs every case, echoing
// every message, then asks the suite to write its reports.
// Usage: streams-client.mjs [ws://127.0.0.1:<port> [agent]] (or $TESTKIT_URL, $TESTKIT_AGENT)
import { connect } from '@rfc6455/streams';
import { MAX_PAYLOAD, args, deflateOptions, dial, echo, env } from './streams-common.mjs';

const [base = env('TESTKIT_URL'), agent = env('TESTKIT_AGENT')] = args();
if (base === undefined || agent === undefined) {
  console.error('usage: streams-client.mjs <ws://127.0.0.1:port> <agent> (or TESTKIT_URL, TESTKIT_AGENT)');
  throw new Error('missing arguments');
}
const options = { perMessageDeflate: deflateOptions(), maxPayload: MAX_PAYLOAD };

/** One connection to the suite; resolves when it closes, whatever the reason. */
async function session(path, onOpen) {
  const url = base + path;
  let ws;
  try {
    ws = await connect(await dial(url), url, options);
  } catch {
    return;
  }
  const closed = new Promise((resolve) => ws.addEventListener('close', resolve));
  onOpen(ws);
  await closed;
}

let count = 0;
await session('/getCaseCount', (ws) => {
  ws.onmessage = (event) => (count = Number(event.data));
});
if (!Number.isInteger(count) || count <= 0) throw new Error(`the suite reported ${count} cases`);
const name = encodeURIComponent(agent);
for (let i = 1; i <= count; i++) await session(`/runCase?case=${i}&agent=${name}`, echo);
await session(`/updateReports?agent=${name}&shutdownOnComplete=true`, () => {});
console.log(`ran ${count} cases`);
