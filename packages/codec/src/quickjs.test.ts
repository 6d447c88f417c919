// The codec in a bare engine: QuickJS (compiled to WebAssembly, quickjs-emscripten) has ECMAScript and
// nothing else: no TextEncoder/TextDecoder, no crypto, no timers, no Node. The built ESM (dist/) is
// loaded there module by module as it ships, and a client and a server talk in memory: handshake,
// messages, fragments, pings, the closing handshake, and 1007 on bad UTF-8. Randomness is injected;
// UTF-8, SHA-1 and base64 are the codec's own fallbacks.
import fs from 'node:fs';
import path from 'node:path';
import variant from '@jitl/quickjs-singlefile-cjs-release-sync';
import { newQuickJSWASMModuleFromVariant } from 'quickjs-emscripten';
import type { QuickJSContext, QuickJSRuntime, QuickJSSyncVariant } from 'quickjs-emscripten';

const dist = path.join(__dirname, '..', 'dist');

/** Runs `exchange` (below) in a fresh QuickJS context; returns what it left in `globalThis.result`. */
async function runInQuickJS(source: string): Promise<unknown> {
  // The single-file CommonJS build of the engine: Jest runs CommonJS, without dynamic import().
  // Type checkers disagree on a default import of CommonJS ({ default: variant } or variant). Under
  // Jest it is the module ({ default: variant }), which is a shape the loader takes.
  const loaded: unknown = variant;
  const QuickJS = await newQuickJSWASMModuleFromVariant(
    Promise.resolve(loaded as { default: QuickJSSyncVariant }),
  );
  const runtime: QuickJSRuntime = QuickJS.newRuntime();
  runtime.setMemoryLimit(64 * 1024 * 1024);
  const deadline = Date.now() + 30_000;
  runtime.setInterruptHandler(() => Date.now() > deadline); // a broken codec fails, never hangs
  // The codec's dist files, as published: './x.js' imports resolve next to the importing file.
  runtime.setModuleLoader((name) => fs.readFileSync(path.join(dist, path.basename(name)), 'utf8'));
  const context: QuickJSContext = runtime.newContext();
  try {
    const evaluated = context.evalCode(source, 'exchange.js', { type: 'module' });
    context.unwrapResult(evaluated).dispose();
    const jobs = runtime.executePendingJobs();
    if (jobs.error) {
      const error: unknown = context.dump(jobs.error);
      jobs.error.dispose();
      throw new Error(`QuickJS: ${JSON.stringify(error)}`);
    }
    const handle = context.unwrapResult(
      context.evalCode('globalThis.result', 'result.js', { type: 'global' }),
    );
    const text: unknown = context.dump(handle);
    handle.dispose();
    if (typeof text !== 'string') throw new Error(`the exchange left no result: ${String(text)}`);
    return JSON.parse(text) as unknown;
  } finally {
    context.dispose();
    runtime.dispose();
  }
}

// Plain ES2022, run inside QuickJS as a module. Written out by hand: it is the engine's only code.
const exchange = `
import {
  Connection, HeadParser, acceptServerHandshake, checkServerResponse, createClientRequest,
  decodeUtf8, encodeUtf8,
} from './index.js';

const out = {};
out.globals = ['TextEncoder', 'TextDecoder', 'crypto', 'setTimeout', 'process', 'Buffer', 'queueMicrotask']
  .filter((name) => typeof globalThis[name] !== 'undefined');

// Without crypto the codec says what to do instead of failing later.
const refusals = [];
try { createClientRequest({ host: 'example.test', path: '/' }); } catch (e) { refusals.push(e.message); }
try { new Connection({ role: 'client' }); } catch (e) { refusals.push(e.message); }
out.refusals = refusals;

// A deterministic randomFill, injected (a linear congruential generator: tests only).
let seed = 12345;
const randomFill = (bytes) => {
  for (let i = 0; i < bytes.length; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    bytes[i] = seed >>> 24;
  }
};
const join = (parts) => {
  const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { all.set(p, at); at += p.length; }
  return all;
};
const describe = (e) => {
  if (e.type === 'text') return 'text ' + decodeUtf8(e.data);
  if (e.type === 'binary') return 'binary ' + Array.from(e.data).join(',');
  if (e.type === 'ping' || e.type === 'pong') return e.type + ' ' + decodeUtf8(e.data);
  if (e.type === 'close') return 'close ' + e.code + ' ' + e.initiator + ' clean=' + e.wasClean + (e.error ? ' ' + e.error : '');
  return e.type;
};
/** Delivers everything one side queued to the other, one byte at a time. */
const deliver = (from, to) => {
  const bytes = join(from.takeOutput());
  const events = [];
  for (let i = 0; i < bytes.length; i++) events.push(...to.receive(bytes.slice(i, i + 1)));
  return events.map(describe);
};

function handshake() {
  const request = createClientRequest({ host: 'example.test', path: '/chat', randomFill });
  const serverHead = new HeadParser('request').feed(request.request);
  const accepted = acceptServerHandshake(serverHead.head);
  const clientHead = new HeadParser('response').feed(accepted.response);
  const checked = checkServerResponse(clientHead.head, request);
  return {
    status: decodeUtf8(accepted.response).split('\\r\\n')[0],
    key: request.key,
    ok: accepted.ok && checked.ok,
    client: new Connection({ role: 'client', randomFill }),
    server: new Connection({ role: 'server' }),
  };
}

const log = [];
const a = handshake();
out.handshake = { status: a.status, ok: a.ok, keyLength: a.key.length };
const { client, server } = a;
client.sendText('héllo, wörld 👋');
client.sendBinary(new Uint8Array([0, 1, 254, 255]));
const euro = encodeUtf8('€'); // three bytes, split across two fragments
client.sendFragment('text', join([encodeUtf8('price: '), euro.subarray(0, 2)]), false);
client.sendPing('are you there');
client.sendFragment('text', euro.subarray(2), true);
log.push(...deliver(client, server).map((line) => 'server got ' + line));
server.sendText('welcome');
log.push(...deliver(server, client).map((line) => 'client got ' + line)); // the pong first, then welcome
client.sendClose(1000, 'bye');
log.push(...deliver(client, server).map((line) => 'server got ' + line));
log.push(...deliver(server, client).map((line) => 'client got ' + line));
log.push('states ' + client.state + ' ' + server.state + ', server ends TCP ' + server.shouldCloseTransport);

// Bad UTF-8 from the peer: the server fails the connection with 1007 and says so to the client.
const b = handshake();
b.client.sendText(new Uint8Array([0x68, 0x69, 0xc0, 0xaf])); // an overlong '/': never valid UTF-8
log.push(...deliver(b.client, b.server).map((line) => 'server got ' + line));
log.push(...deliver(b.server, b.client).map((line) => 'client got ' + line));
out.log = log;
out.utf8 = Array.from(encodeUtf8('aé€😀'));
globalThis.result = JSON.stringify(out);
`;

describe('the codec in QuickJS, an engine without Web APIs', () => {
  beforeAll(() => {
    if (!fs.existsSync(path.join(dist, 'index.js'))) {
      throw new Error(`${dist}/index.js is missing: build first (bash scripts/build.sh)`);
    }
  });

  test('handshake, messages, fragments, pings, close and 1007, with injected randomness', async () => {
    const result = await runInQuickJS(exchange);
    expect(result).toEqual({
      globals: [],
      refusals: [
        'this environment has no crypto.getRandomValues; pass randomFill to createClientRequest',
        'A client connection needs random masking keys (RFC 6455 5.3), and this runtime has no ' +
          'crypto.getRandomValues: pass options.randomFill.',
      ],
      handshake: { status: 'HTTP/1.1 101 Switching Protocols', ok: true, keyLength: 24 },
      log: [
        'server got text héllo, wörld 👋',
        'server got binary 0,1,254,255',
        'server got ping are you there',
        'server got text price: €',
        'client got pong are you there',
        'client got text welcome',
        'server got close 1000 peer clean=true',
        'client got close 1000 local clean=true',
        'states CLOSED CLOSED, server ends TCP true',
        'server got close 1007 local clean=false invalid-utf8',
        'client got close 1007 peer clean=true',
      ],
      utf8: [...new TextEncoder().encode('aé€😀')],
    });
  });
});
