// `rfc6455-testkit fuzz ws://host:port`: fast-check scenarios sent to an echo server over TCP, each on a
// fresh connection, and the RFC's observable rules checked on what comes back: every message echoed
// intact and in order, every ping answered, a violation answered with the close code it earns, a clean
// close answered with a close, nothing after the close frame, and the connection closed.
import { createConnection } from 'node:net';
import { parseArgs } from 'node:util';

import fc from 'fast-check';

import { expectationOf, framesOf, type Scenario, scenario as scenarioArbitrary } from './arbitraries.js';
import { UsageError } from './errors.js';
import {
  encodeFrame,
  hex,
  OP_BINARY,
  OP_CLOSE,
  OP_CONTINUATION,
  OP_PING,
  OP_PONG,
  OP_TEXT,
  readFrames,
  type ServerFrame,
} from './wire.js';

export interface FuzzTarget {
  host: string;
  port: number;
  /** Path and query of the request, e.g. "/echo". */
  path: string;
}

export interface Observation {
  /** What went wrong before frames could flow (refused, no 101), if anything. */
  handshakeError?: string;
  frames: ServerFrame[];
  /** Whether the server closed the TCP connection before the time ran out. */
  closed: boolean;
}

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

/** Sends one scenario on a fresh connection and collects what the server sends back. */
export function exchange(target: FuzzTarget, s: Scenario, timeoutMs: number): Promise<Observation> {
  const frames = framesOf(s);
  const bytes = Buffer.concat(frames.map(encodeFrame));
  const sentClose = frames.some((f) => f.opcode === OP_CLOSE);
  return new Promise((done) => {
    const socket = createConnection({ host: target.host, port: target.port });
    let buffered = Buffer.alloc(0);
    let upgraded = false;
    let repliedClose = false;
    const observation: Observation = { frames: [], closed: false };
    const finish = (): void => {
      clearTimeout(timer);
      socket.destroy();
      done(observation);
    };
    const timer = setTimeout(finish, timeoutMs);
    socket.on('connect', () => {
      socket.write(
        `GET ${target.path} HTTP/1.1\r\nHost: ${target.host}:${target.port}\r\nUpgrade: websocket\r\n` +
          `Connection: Upgrade\r\nSec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      );
    });
    socket.on('data', (chunk: Buffer) => {
      buffered = Buffer.concat([buffered, chunk]);
      if (!upgraded) {
        const end = buffered.indexOf('\r\n\r\n');
        if (end === -1) return;
        const status = buffered.subarray(0, buffered.indexOf('\r\n')).toString('latin1');
        if (!/^HTTP\/1\.1 101 /.test(status)) {
          observation.handshakeError = `the server answered the upgrade with "${status}"`;
          finish();
          return;
        }
        upgraded = true;
        buffered = buffered.subarray(end + 4);
        let at = 0;
        for (const size of s.writes) {
          if (at >= bytes.length) break;
          socket.write(bytes.subarray(at, at + size));
          at += size;
        }
        if (at < bytes.length) socket.write(bytes.subarray(at));
      }
      const { frames: got, used } = readFrames(buffered);
      buffered = buffered.subarray(used);
      observation.frames.push(...got);
      // Like a real client: answer the server's close (unless ours went first), then wait for TCP to end.
      if (!sentClose && !repliedClose && got.some((f) => f.opcode === OP_CLOSE)) {
        repliedClose = true;
        socket.write(
          encodeFrame({ fin: true, rsv: 0, opcode: OP_CLOSE, payload: new Uint8Array(), mask: 1 }),
        );
      }
    });
    socket.on('error', (error) => {
      if (!upgraded) observation.handshakeError = `could not connect: ${error.message}`;
    });
    socket.on('close', () => {
      observation.closed = true;
      finish();
    });
  });
}

const same = (a: Uint8Array, b: Uint8Array): boolean =>
  a.length === b.length && a.every((x, i) => x === b[i]);

function describeBytes(bytes: Uint8Array, limit = 24): string {
  const shown = hex(bytes.subarray(0, limit)).replace(/\n/g, ' ');
  return `${bytes.length} bytes${bytes.length === 0 ? '' : ` [${shown}${bytes.length > limit ? ' …' : ''}]`}`;
}

/** Every rule the observation breaks for this scenario; empty when the server behaved. */
export function judge(s: Scenario, o: Observation): string[] {
  if (o.handshakeError !== undefined) return [o.handshakeError];
  const want = expectationOf(s);
  const problems: string[] = [];
  const messages: { opcode: number; data: Uint8Array }[] = [];
  const pongs: Uint8Array[] = [];
  let partial: { opcode: number; parts: Uint8Array[] } | undefined;
  const closeAt = o.frames.findIndex((f) => f.opcode === OP_CLOSE);
  const before = closeAt === -1 ? o.frames : o.frames.slice(0, closeAt);
  for (const f of o.frames) {
    if (f.masked) problems.push(`the server sent a masked frame (opcode ${f.opcode})`);
    if (f.rsv !== 0) problems.push(`the server set RSV bits ${f.rsv} with no extension negotiated`);
  }
  for (const f of before) {
    if (f.opcode === OP_PONG) pongs.push(f.payload);
    else if (f.opcode === OP_PING) continue;
    else if (f.opcode === OP_TEXT || f.opcode === OP_BINARY || f.opcode === OP_CONTINUATION) {
      if (f.opcode === OP_CONTINUATION) {
        if (partial === undefined)
          problems.push('the server sent a continuation frame with no message to continue');
        else partial.parts.push(f.payload);
      } else {
        if (partial !== undefined) problems.push('the server started a message inside another one');
        partial = { opcode: f.opcode, parts: [f.payload] };
      }
      if (f.fin && partial !== undefined) {
        messages.push({ opcode: partial.opcode, data: Buffer.concat(partial.parts) });
        partial = undefined;
      }
    } else problems.push(`the server sent a frame with opcode ${f.opcode}`);
  }
  const kind = (op: number): string => (op === OP_TEXT ? 'text' : 'binary');
  for (let i = 0; i < Math.max(messages.length, want.messages.length); i++) {
    const got = messages[i];
    const sent = want.messages[i];
    if (sent === undefined)
      problems.push(`message ${i + 1} was never sent, but the server sent ${describeBytes(got!.data)}`);
    else if (got === undefined)
      problems.push(`message ${i + 1} (${kind(sent.opcode)}, ${describeBytes(sent.data)}) was not echoed`);
    else if (got.opcode !== sent.opcode || !same(got.data, sent.data)) {
      problems.push(
        `message ${i + 1} came back as ${kind(got.opcode)} ${describeBytes(got.data)}, sent as ${kind(sent.opcode)} ${describeBytes(sent.data)}`,
      );
    }
  }
  for (let i = 0; i < Math.max(pongs.length, want.pongs.length); i++) {
    const got = pongs[i];
    const ping = want.pongs[i];
    if (ping === undefined) problems.push(`pong ${i + 1} answers no ping: ${describeBytes(got!)}`);
    else if (got === undefined) problems.push(`ping ${i + 1} (${describeBytes(ping)}) got no pong`);
    else if (!same(got, ping))
      problems.push(`pong ${i + 1} carries ${describeBytes(got)}, the ping ${describeBytes(ping)}`);
  }
  const allowed = want.closeCodes.map((c) => c ?? 'no code').join(' or ');
  const why = s.ending.kind === 'violation' ? `the violation ${s.ending.violation.kind}` : 'the close';
  if (closeAt === -1) {
    problems.push(`the server sent no close frame after ${why} (expected ${allowed})`);
  } else {
    const close = o.frames[closeAt]!;
    const code = close.payload.length >= 2 ? (close.payload[0]! << 8) | close.payload[1]! : null;
    if (!want.closeCodes.includes(code)) {
      problems.push(`the server closed with ${code ?? 'no code'} after ${why} (expected ${allowed})`);
    }
    if (closeAt < o.frames.length - 1) {
      problems.push(`the server sent ${o.frames.length - 1 - closeAt} frame(s) after its close frame`);
    }
  }
  if (!o.closed) problems.push('the server did not close the TCP connection');
  return problems;
}

const HEX_LIMIT = 4096;

/** The scenario as a human reads it: one line per frame, then every byte sent after the handshake. */
export function describeScenario(s: Scenario): string {
  const names: Record<number, string> = {
    0: 'continuation',
    1: 'text',
    2: 'binary',
    8: 'close',
    9: 'ping',
    10: 'pong',
  };
  const frames = framesOf(s);
  const lines = frames.map((f, i) => {
    const flags = [
      f.fin ? 'FIN' : 'no FIN',
      f.rsv !== 0 ? `RSV=${f.rsv}` : '',
      f.mask === null ? 'unmasked' : '',
    ]
      .filter(Boolean)
      .join(', ');
    return `  frame ${i + 1}: ${names[f.opcode] ?? `opcode ${f.opcode}`} (${flags}) payload ${describeBytes(f.payload, 32)}`;
  });
  const ending =
    s.ending.kind === 'close'
      ? `a clean close (${s.ending.code})`
      : `the violation ${s.ending.violation.kind} (must earn ${s.ending.violation.code})`;
  const bytes = Buffer.concat(frames.map(encodeFrame));
  const shown = Math.min(bytes.length, HEX_LIMIT);
  return [
    `${frames.length} frame(s) ending with ${ending}, written in TCP chunks of ${s.writes.join(', ') || 'one write'}:`,
    ...lines,
    `bytes sent after the handshake (${bytes.length}${shown < bytes.length ? `, the first ${shown} shown` : ''}):`,
    hex(bytes.subarray(0, shown)),
  ].join('\n');
}

export interface FuzzOptions {
  target: FuzzTarget;
  runs: number;
  seed: number;
  path?: string | undefined;
  timeoutMs: number;
}

export interface FuzzResult {
  failed: boolean;
  runs: number;
  seed: number;
  /** To replay: --seed seed --path path. */
  path?: string;
  counterexample?: Scenario;
  problems?: string[];
}

/** Runs the property; a failure is shrunk by fast-check to the smallest scenario it could find. */
export async function fuzz(options: FuzzOptions): Promise<FuzzResult> {
  let lastProblems: string[] = [];
  const property = fc.asyncProperty(scenarioArbitrary(), async (s) => {
    const problems = judge(s, await exchange(options.target, s, options.timeoutMs));
    if (problems.length > 0) {
      lastProblems = problems;
      throw new Error(problems.join('\n'));
    }
  });
  const details = await fc.check(property, {
    numRuns: options.runs,
    seed: options.seed,
    ...(options.path === undefined ? {} : { path: options.path }),
  });
  if (!details.failed || details.counterexample === null)
    return { failed: false, runs: details.numRuns, seed: options.seed };
  // Run the shrunk counterexample once more, so the problems printed are its own.
  const [s] = details.counterexample;
  lastProblems = judge(s, await exchange(options.target, s, options.timeoutMs));
  return {
    failed: true,
    runs: details.numRuns,
    seed: details.seed,
    path: details.counterexamplePath ?? '',
    counterexample: s,
    problems: lastProblems,
  };
}

export async function runFuzz(
  argv: string[],
  io: { stdout: { write(text: string): unknown } },
): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      runs: { type: 'string', default: '100' },
      seed: { type: 'string' },
      path: { type: 'string' },
      'timeout-ms': { type: 'string', default: '5000' },
    },
  });
  if (positionals.length !== 1) throw new UsageError('fuzz needs one URL: fuzz ws://127.0.0.1:PORT[/path]');
  const url = new URL(positionals[0]!);
  if (url.protocol !== 'ws:') throw new UsageError(`fuzz speaks ws:// only (got ${url.protocol})`);
  const runs = Number(values.runs);
  const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
  const timeoutMs = Number(values['timeout-ms']);
  if (!Number.isInteger(runs) || runs < 1)
    throw new UsageError(`--runs must be a positive integer (got ${values.runs})`);
  if (!Number.isInteger(seed)) throw new UsageError(`--seed must be an integer (got ${values.seed})`);
  if (!(timeoutMs > 0)) throw new UsageError(`--timeout-ms must be a positive number`);
  const target = {
    host: url.hostname.replace(/^\[|\]$/g, ''),
    port: Number(url.port || 80),
    path: `${url.pathname}${url.search}`,
  };
  const log = (line: string): void => void io.stdout.write(`[fuzz] ${line}\n`);
  log(
    `${runs} run(s) against ${url.href}, seed ${seed}${values.path === undefined ? '' : `, path ${values.path}`}`,
  );
  const result = await fuzz({ target, runs, seed, path: values.path, timeoutMs });
  if (!result.failed) {
    log(`PASS: ${result.runs} scenario(s), every rule held (seed ${seed})`);
    return 0;
  }
  log(`FAIL after ${result.runs} run(s), seed ${result.seed}, path ${result.path}`);
  log(`replay: rfc6455-testkit fuzz ${url.href} --seed ${result.seed} --path ${result.path}`);
  log('what the server did wrong:');
  for (const p of result.problems ?? []) log(`  ${p}`);
  log('shrunk counterexample:');
  for (const line of describeScenario(result.counterexample!).split('\n')) log(line);
  return 1;
}
