// `npm run bench`: @rfc6455/node against ws and a raw TCP echo, measured in one run.
//
//   node packages/bench/dist/bench.js [--quick] [--only a,b] [--rounds N] [--duration SEC] [--verify]
//                                     [--no-pin] [--no-codec] [--no-h2] [--no-broadcast] [--out DIR]
//   node packages/bench/dist/bench.js --profile SCENARIO[,SCENARIO] [--server rfc6455|ws|raw]
//
// Servers run interleaved round by round (A B C A B C …) after a warm-up; every cell is the
// median of the rounds with its min–max spread, and ratios are taken within each round. A whole
// run (no --only) then runs h2-bench.js and broadcast-bench.js, each writing its own report.
import { mkdirSync, writeFileSync, existsSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import {
  OPCODE,
  maskedFrame,
  compressMessage,
  runEcho,
  runHandshakes,
  runLatency,
  runMemory,
} from './loadgen.js';
import type { Expect, LatencyResult, MemoryResult, OpcodeName, RateResult } from './loadgen.js';
import { ServerProcess, setUpPinning, rfc6455Available } from './servers.js';
import type { Pinning, ServerKind, UsageReply } from './servers.js';
import { heaviestFunctions, formatHeaviest } from './profile.js';
import { jsonLikeText } from './text.js';

export { jsonLikeText };

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '../../..');

const KiB = 1024;
const MiB = 1024 * 1024;

type ServerName = 'rfc6455' | 'ws' | 'raw';
const SERVERS: Record<ServerName, { label: string; kind: ServerKind }> = {
  rfc6455: { label: '@rfc6455/node', kind: 'rfc6455' },
  ws: { label: 'ws', kind: 'ws' },
  raw: { label: 'raw TCP', kind: 'raw' },
};
const isServerName = (name: string): name is ServerName => name in SERVERS;

interface ScenarioBase {
  id: string;
  title: string;
  /** The ratio of ours to ws (or raw) to reach: at least, or at most for memory and latency. */
  target: { ws?: number; raw?: number };
  /** Offer permessage-deflate (echo only). */
  deflate?: boolean;
}
interface EchoScenario extends ScenarioBase {
  type: 'echo';
  opcode: OpcodeName;
  size: number;
  /** JSON-like text instead of a repeated letter. */
  json?: boolean;
  conns: number;
  inflight: number;
}
interface HandshakeScenario extends ScenarioBase {
  type: 'handshake';
  concurrency: number;
}
interface MemoryScenario extends ScenarioBase {
  type: 'memory';
  conns: number;
}
interface LatencyScenario extends ScenarioBase {
  type: 'latency';
  opcode: OpcodeName;
  size: number;
  conns: number;
  rate: number;
}
type Scenario = EchoScenario | HandshakeScenario | MemoryScenario | LatencyScenario;
/** The scenarios measured over a window (all but memory). */
type TimedScenario = Exclude<Scenario, MemoryScenario>;

const SCENARIOS: Scenario[] = [
  {
    id: 'text-64',
    title: '64 B text echo',
    type: 'echo',
    opcode: 'text',
    size: 64,
    conns: 50,
    inflight: 16,
    target: { ws: 1.5 },
  },
  {
    id: 'binary-1k',
    title: '1 KiB binary echo',
    type: 'echo',
    opcode: 'binary',
    size: KiB,
    conns: 50,
    inflight: 16,
    target: { ws: 1.5 },
  },
  {
    id: 'binary-64k',
    title: '64 KiB binary echo',
    type: 'echo',
    opcode: 'binary',
    size: 64 * KiB,
    conns: 8,
    inflight: 4,
    target: { ws: 1.3 },
  },
  {
    id: 'binary-1m',
    title: '1 MiB binary echo',
    type: 'echo',
    opcode: 'binary',
    size: MiB,
    conns: 2,
    inflight: 2,
    target: { ws: 1.5, raw: 0.6 },
  },
  {
    id: 'handshakes',
    title: 'handshakes (open, upgrade, close)',
    type: 'handshake',
    concurrency: 32,
    target: { ws: 1.3 },
  },
  {
    id: 'deflate-16k',
    title: '16 KiB JSON-like text, permessage-deflate',
    type: 'echo',
    opcode: 'text',
    size: 16 * KiB,
    json: true,
    deflate: true,
    conns: 16,
    inflight: 4,
    target: { ws: 2 },
  },
  {
    id: 'memory',
    title: 'idle memory per connection (2,000 connections)',
    type: 'memory',
    conns: 2000,
    target: { ws: 1.0 },
  },
  {
    id: 'latency',
    title: 'round-trip latency, 1 KiB binary at 5,000 msgs/s',
    type: 'latency',
    opcode: 'binary',
    size: KiB,
    conns: 50,
    rate: 5000,
    target: { ws: 1.0 },
  },
];

interface Options {
  quick: boolean;
  only: string[] | null;
  rounds: number | null;
  duration: number | null;
  verify: boolean;
  pin: boolean;
  codec: boolean;
  h2: boolean;
  broadcast: boolean;
  out: string | null;
  profile: string[] | null;
  server: string | null;
}

function parseArgs(argv: string[]): Options {
  const options: Options = {
    quick: false,
    only: null,
    rounds: null,
    duration: null,
    verify: false,
    pin: true,
    codec: true,
    h2: true,
    broadcast: true,
    out: null,
    profile: null,
    server: null,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    const value = (): string => {
      const next = argv[++i];
      if (next === undefined) throw new Error(`${arg} needs a value`);
      return next;
    };
    if (arg === '--quick') options.quick = true;
    else if (arg === '--only') options.only = value().split(',');
    else if (arg === '--rounds') options.rounds = Number(value());
    else if (arg === '--duration') options.duration = Number(value());
    else if (arg === '--verify') options.verify = true;
    else if (arg === '--no-pin') options.pin = false;
    else if (arg === '--no-codec') options.codec = false;
    else if (arg === '--no-h2') options.h2 = false;
    else if (arg === '--no-broadcast') options.broadcast = false;
    else if (arg === '--out') options.out = value();
    else if (arg === '--profile') options.profile = value().split(',');
    else if (arg === '--server') options.server = value();
    else if (arg === '--help' || arg === '-h') {
      console.log(
        readFileSync(fileURLToPath(import.meta.url), 'utf8')
          .split('\n')
          .slice(0, 10)
          .join('\n'),
      );
      process.exit(0);
    } else throw new Error(`Unknown option ${arg}; see --help`);
  }
  const ids = SCENARIOS.map((s) => s.id);
  for (const id of [...(options.only ?? []), ...(options.profile ?? [])]) {
    if (!ids.includes(id)) throw new Error(`Unknown scenario "${id}"; scenarios: ${ids.join(', ')}`);
  }
  return options;
}

interface Timing {
  rounds: number;
  durationMs: number;
  warmupMs: number;
  memoryRounds: number;
}

function timing(options: Options): Timing {
  const quick = options.quick;
  return {
    rounds: options.rounds ?? (quick ? 3 : 5),
    durationMs: (options.duration ?? (quick ? 1 : 3)) * 1000,
    warmupMs: quick ? 500 : 1500,
    memoryRounds: options.rounds ?? (quick ? 1 : 3),
  };
}

/** The commit measured, and whether the measured packages had uncommitted changes. */
function revision(): string {
  try {
    const run = (args: string[]): string =>
      execFileSync('git', args, { cwd: repoRoot, encoding: 'utf8' }).trim();
    const commit = run(['rev-parse', '--short', 'HEAD']);
    const dirty = run(['status', '--porcelain', '--', 'packages/codec/src', 'packages/node/src']) !== '';
    return dirty ? `${commit} with uncommitted changes in packages/codec or packages/node` : commit;
  } catch {
    return 'unknown (not a git checkout)';
  }
}

interface Machine {
  cpu: string;
  cores: number;
  memoryGiB: number;
  node: string;
  os: string;
}

function machine(): Machine {
  const cpus = os.cpus();
  return {
    cpu: cpus[0]?.model.trim() ?? 'unknown',
    cores: cpus.length,
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    os: `${os.type()} ${os.release()} ${os.arch()}`,
  };
}

type MessageScenario = EchoScenario | LatencyScenario;

function payloadFor(scenario: MessageScenario): Buffer {
  if (scenario.type === 'echo' && scenario.json) return Buffer.from(jsonLikeText(scenario.size), 'utf8');
  if (scenario.opcode === 'text') return Buffer.from('x'.repeat(scenario.size), 'utf8');
  const payload = Buffer.allocUnsafe(scenario.size);
  for (let i = 0; i < payload.length; i++) payload[i] = (i * 31 + 7) & 0xff;
  return payload;
}

function frameFor(scenario: MessageScenario): { payload: Buffer; frame: Buffer; opcode: number } {
  const payload = payloadFor(scenario);
  const opcode = OPCODE[scenario.opcode];
  const frame = scenario.deflate
    ? maskedFrame(opcode, compressMessage(payload), true)
    : maskedFrame(opcode, payload);
  return { payload, frame, opcode };
}

let pinningInUse: Pinning | null = null;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** Busy seconds of each CPU so far (Linux /proc/stat, USER_HZ = 100), or null elsewhere. */
function cpuBusySeconds(): number[] | null {
  try {
    const lines = readFileSync('/proc/stat', 'latin1').split('\n');
    const busy: number[] = [];
    for (const line of lines) {
      const match = /^cpu(\d+) (.*)$/.exec(line);
      if (match === null) continue;
      // user nice system idle iowait irq softirq steal: everything but idle and iowait, steal included.
      const f = match[2]!.trim().split(/\s+/).map(Number);
      busy[Number(match[1])] = (f[0]! + f[1]! + f[2]! + f[5]! + f[6]! + (f[7] ?? 0)) / 100;
    }
    return busy;
  } catch {
    return null;
  }
}

/** What the server's and this process's counters said at one end of the window. */
interface Mark {
  usage: UsageReply;
  at: number;
  selfMicros: number;
  busy: number[] | null;
}

/** What measure() adds to a run's result: where the CPU time went. */
interface Load {
  otherLoadServerCpu: number | null;
  otherLoadClientCpu: number | null;
  serverCpuShare: number;
  serverCpuMicrosPerMessage: number | null;
}
type RateRound = RateResult & Load;
type LatencyRound = LatencyResult & Load;
type Round = RateRound | LatencyRound | MemoryResult;
const isMemoryRound = (round: Round): round is MemoryResult => 'bytesPerConn' in round;
const isLatencyRound = (round: Round): round is LatencyRound => 'p99' in round;
const isRateRound = (round: Round): round is RateRound => 'rate' in round;
const isTimedRound = (round: Round): round is RateRound | LatencyRound => !isMemoryRound(round);

/** Runs one measurement of `scenario` against a started server. */
async function measure(
  scenario: TimedScenario,
  server: ServerProcess,
  durationMs: number,
  verify: boolean,
  profileFile: string | null = null,
): Promise<RateRound | LatencyRound> {
  const marks: { start?: Mark; end?: Mark } = {};
  const around = async (when: 'start' | 'end'): Promise<void> => {
    if (profileFile !== null && when === 'end') await server.request('profile-stop', { file: profileFile });
    const usage = await server.request('usage');
    const self = process.cpuUsage();
    marks[when] = {
      usage,
      at: performance.now(),
      selfMicros: self.user + self.system,
      busy: cpuBusySeconds(),
    };
    if (profileFile !== null && when === 'start') await server.request('profile-start');
  };
  let result: RateResult | LatencyResult;
  if (scenario.type === 'handshake') {
    result = await runHandshakes({
      port: server.port,
      concurrency: scenario.concurrency,
      durationMs,
      around,
    });
  } else {
    const { payload, frame, opcode } = frameFor(scenario);
    const expect: Expect = {
      opcode,
      length: payload.length,
      payload: verify ? payload : null,
      deflate: scenario.deflate === true,
    };
    if (scenario.type === 'latency') {
      result = await runLatency({
        port: server.port,
        conns: scenario.conns,
        rate: scenario.rate,
        frame,
        expect,
        durationMs,
        around,
      });
    } else {
      result = await runEcho({
        port: server.port,
        conns: scenario.conns,
        inflight: scenario.inflight,
        frame,
        expect,
        durationMs,
        around,
      });
    }
  }
  const { start, end } = marks;
  if (start === undefined || end === undefined) throw new Error('The load generator did not call around()');
  const cpuMicros = end.usage.cpuMicros - start.usage.cpuMicros;
  const wallMs = end.at - start.at;
  // When pinned: how much of each core went to other processes (the rest of the machine's load).
  let otherLoadServerCpu: number | null = null;
  let otherLoadClientCpu: number | null = null;
  const startBusy = start.busy;
  const endBusy = end.busy;
  if (pinningInUse?.pinned && startBusy !== null && endBusy !== null) {
    const busy = (cpu: number): number => endBusy[cpu]! - startBusy[cpu]!;
    const wallSeconds = wallMs / 1000;
    otherLoadServerCpu = Math.max(0, busy(pinningInUse.serverCpu) - cpuMicros / 1e6) / wallSeconds;
    otherLoadClientCpu =
      Math.max(0, busy(pinningInUse.loadCpu) - (end.selfMicros - start.selfMicros) / 1e6) / wallSeconds;
  }
  return {
    ...result,
    otherLoadServerCpu,
    otherLoadClientCpu,
    serverCpuShare: cpuMicros / 1000 / wallMs,
    serverCpuMicrosPerMessage: result.messages > 0 ? cpuMicros / result.messages : null,
  };
}

/** Median and spread over the rounds. */
interface Stats {
  median: number;
  min: number;
  max: number;
}

function stats(values: (number | null)[]): Stats | null {
  const sorted = values.filter((v): v is number => v !== null && Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

function log(message: string): void {
  process.stderr.write(`${message}\n`);
}

/** The main metric of a round: higher is better except memory and latency. */
function metricOf(round: Round): number {
  if (isMemoryRound(round)) return round.bytesPerConn;
  if (isLatencyRound(round)) return round.p99;
  return round.rate;
}

function describeRound(round: Round): string {
  if (isMemoryRound(round))
    return `${(round.bytesPerConn / KiB).toFixed(1)} KiB/conn (heap ${(round.heapPerConn / KiB).toFixed(1)})`;
  const others =
    round.otherLoadServerCpu === null
      ? ''
      : `, others on server/client core ${(round.otherLoadServerCpu * 100).toFixed(0)}/${((round.otherLoadClientCpu ?? 0) * 100).toFixed(0)} %`;
  const tail = `client ELU ${round.clientElu.toFixed(2)}, server CPU ${(round.serverCpuShare * 100).toFixed(0)} %${others}`;
  if (isLatencyRound(round))
    return `p50 ${round.p50.toFixed(3)} ms, p99 ${round.p99.toFixed(3)} ms (${tail})`;
  return `${Math.round(round.rate).toLocaleString('en-US')}/s (${tail})`;
}

type Rounds = Partial<Record<ServerName, Round[]>>;

async function runScenario(
  scenario: Scenario,
  serverNames: ServerName[],
  context: { pinning: Pinning; time: Timing; verify: boolean },
): Promise<Rounds> {
  const { pinning, time, verify } = context;
  const rounds: Rounds = {};
  for (const name of serverNames) rounds[name] = [];
  const start = (name: ServerName): Promise<ServerProcess> =>
    ServerProcess.start({
      name,
      kind: SERVERS[name].kind,
      deflate: scenario.deflate === true && name !== 'raw',
      pinning,
    });
  if (scenario.type === 'memory') {
    // A fresh process per measurement: an allocator that has grown once never looks idle again.
    for (let r = 0; r < time.memoryRounds; r++) {
      for (const name of serverNames) {
        const server = await start(name);
        try {
          const round = await runMemory({
            port: server.port,
            conns: scenario.conns,
            gc: () => server.request('gc'),
          });
          rounds[name]?.push(round);
          log(`  [${scenario.id}] round ${r + 1}/${time.memoryRounds} ${name}: ${describeRound(round)}`);
        } finally {
          await server.stop();
        }
      }
    }
    return rounds;
  }
  const servers: ServerProcess[] = [];
  try {
    for (const name of serverNames) servers.push(await start(name));
    for (const server of servers) {
      await measure(scenario, server, time.warmupMs, verify);
      await sleep(100);
    }
    log(`  [${scenario.id}] warmed up`);
    for (let r = 0; r < time.rounds; r++) {
      for (const server of servers) {
        const round = await measure(scenario, server, time.durationMs, verify);
        rounds[server.name as ServerName]?.push(round);
        log(`  [${scenario.id}] round ${r + 1}/${time.rounds} ${server.name}: ${describeRound(round)}`);
        await sleep(100);
      }
    }
  } finally {
    for (const server of servers) await server.stop();
  }
  return rounds;
}

/** Per-round ratios of `name` to `base` (same round, adjacent in time), summarised. */
function ratioStats(rounds: Rounds, name: ServerName, base: ServerName): Stats | null {
  const a = rounds[name];
  const b = rounds[base];
  if (a === undefined || b === undefined) return null;
  const ratios: number[] = [];
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = metricOf(a[i]!);
    const y = metricOf(b[i]!);
    if (y > 0) ratios.push(x / y);
  }
  return stats(ratios);
}

const NOISY_OTHER_LOAD = 0.25;

/** One server's rounds of one scenario, summarised (fields in the order bench.json has them). */
interface Summary {
  label: string;
  rounds: Round[];
  metric?: Stats | null;
  mibPerSecond?: Stats | null;
  p50?: Stats | null;
  p99?: Stats | null;
  clientElu?: Stats | null;
  serverCpuShare?: Stats | null;
  serverCpuMicrosPerMessage?: Stats | null;
  otherLoadServerCpu?: Stats | null;
  otherLoadClientCpu?: Stats | null;
  clientSaturated?: boolean;
  heapPerConn?: Stats | null;
  externalPerConn?: Stats | null;
  heapCommittedPerConn?: Stats | null;
  vsWs?: Stats | null;
  cpuEfficiencyVsWs?: Stats | null;
  vsRaw?: Stats | null;
}

interface Result {
  id: string;
  title: string;
  scenario: Scenario;
  servers: Partial<Record<ServerName, Summary>>;
  targetMet: boolean | null;
  noisy: boolean;
}

function summarise(scenario: Scenario, rounds: Rounds): Result {
  const servers: Partial<Record<ServerName, Summary>> = {};
  for (const name of Object.keys(rounds) as ServerName[]) {
    const list = rounds[name] ?? [];
    const summary: Summary = {
      label: SERVERS[name].label + (scenario.deflate && name === 'ws' ? ' + deflate' : ''),
      rounds: list,
    };
    summary.metric = stats(list.map((round) => metricOf(round)));
    const timed = list.filter(isTimedRound);
    if (scenario.type === 'echo' || scenario.type === 'handshake') {
      const rates = list.filter(isRateRound);
      const size = scenario.type === 'echo' ? scenario.size : 0;
      summary.mibPerSecond = size ? stats(rates.map((round) => (round.rate * size) / MiB)) : null;
      summary.clientElu = stats(rates.map((round) => round.clientElu));
      summary.serverCpuShare = stats(rates.map((round) => round.serverCpuShare));
      summary.serverCpuMicrosPerMessage = stats(rates.map((round) => round.serverCpuMicrosPerMessage));
      summary.otherLoadServerCpu = stats(rates.map((round) => round.otherLoadServerCpu));
      summary.otherLoadClientCpu = stats(rates.map((round) => round.otherLoadClientCpu));
      // The load generator at (nearly) full use: the number is what it could drive, a floor for the server.
      summary.clientSaturated = summary.clientElu !== null && summary.clientElu.median >= 0.9;
    }
    if (scenario.type === 'latency') {
      const latencies = list.filter(isLatencyRound);
      summary.p50 = stats(latencies.map((round) => round.p50));
      summary.p99 = stats(latencies.map((round) => round.p99));
      summary.otherLoadServerCpu = stats(timed.map((round) => round.otherLoadServerCpu));
      summary.otherLoadClientCpu = stats(timed.map((round) => round.otherLoadClientCpu));
      summary.clientElu = stats(timed.map((round) => round.clientElu));
      summary.serverCpuShare = stats(timed.map((round) => round.serverCpuShare));
    }
    if (scenario.type === 'memory') {
      const memory = list.filter(isMemoryRound);
      summary.heapPerConn = stats(memory.map((round) => round.heapPerConn));
      summary.externalPerConn = stats(memory.map((round) => round.externalPerConn));
      summary.heapCommittedPerConn = stats(memory.map((round) => round.heapCommittedPerConn));
    }
    summary.vsWs = name === 'ws' ? null : ratioStats(rounds, name, 'ws');
    if (
      (scenario.type === 'echo' || scenario.type === 'handshake') &&
      name !== 'ws' &&
      rounds.ws !== undefined
    ) {
      // CPU per message of ws ÷ ours, round by round: how much more work per core-second we do.
      const theirRounds = rounds.ws.filter(isTimedRound);
      const ratios: number[] = [];
      for (let i = 0; i < Math.min(timed.length, theirRounds.length); i++) {
        const ours = timed[i]!.serverCpuMicrosPerMessage;
        const theirs = theirRounds[i]!.serverCpuMicrosPerMessage;
        if (ours !== null && theirs !== null && ours > 0 && theirs > 0) ratios.push(theirs / ours);
      }
      summary.cpuEfficiencyVsWs = stats(ratios);
    }
    summary.vsRaw = name === 'raw' ? null : ratioStats(rounds, name, 'raw');
    servers[name] = summary;
  }
  const ours = servers.rfc6455;
  let met: boolean | null = null;
  if (ours !== undefined) {
    met = true;
    const lowerIsBetter = scenario.type === 'memory' || scenario.type === 'latency';
    for (const [base, want] of Object.entries(scenario.target)) {
      const ratio = (base === 'ws' ? ours.vsWs : ours.vsRaw) ?? null;
      if (ratio === null) met = null;
      else if (met !== null) met = met && (lowerIsBetter ? ratio.median <= want : ratio.median >= want);
    }
  }
  // Other processes on the server's core take turns with the server: throughput and latency then
  // say more about the machine than about the server.
  const noisy = (['rfc6455', 'ws'] as const).some(
    (name) => (servers[name]?.otherLoadServerCpu?.median ?? 0) > NOISY_OTHER_LOAD,
  );
  return { id: scenario.id, title: scenario.title, scenario, servers, targetMet: met, noisy };
}

// ---- Markdown ----

const int = (n: number): string => Math.round(n).toLocaleString('en-US');
const fixed = (n: number, digits: number): string => n.toFixed(digits);
function cell(s: Stats | null | undefined, format: (n: number) => string): string {
  if (s === null || s === undefined) return '–';
  return `${format(s.median)} [${format(s.min)}–${format(s.max)}]`;
}
const ratioCell = (s: Stats | null | undefined): string => cell(s, (n) => fixed(n, 2));

function targetText(scenario: Scenario): string {
  const lower = scenario.type === 'memory' || scenario.type === 'latency';
  return Object.entries(scenario.target)
    .map(([base, want]) => `${lower ? '≤' : '≥'} ${want} × ${base === 'ws' ? 'ws' : 'raw'}`)
    .join(', ');
}

function metricCell(result: Result, name: ServerName): string {
  const s = result.servers[name];
  if (s === undefined) return 'not run';
  const type = result.scenario.type;
  if (type === 'memory') return cell(s.metric, (n) => fixed(n / KiB, 1)) + ' KiB';
  if (type === 'latency') return `${cell(s.p99, (n) => fixed(n, 2))} ms`;
  return cell(s.metric, int) + (s.clientSaturated ? ' ⚠' : '');
}

function headlineTable(results: Result[]): string {
  const lines = [
    '| scenario | unit | @rfc6455/node | ws | raw TCP | @rfc6455/node ÷ ws | ws CPU/msg ÷ ours | target | met |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const result of results) {
    const type = result.scenario.type;
    const unit =
      type === 'memory'
        ? 'RSS / conn'
        : type === 'latency'
          ? 'p99'
          : type === 'handshake'
            ? 'handshakes/s'
            : 'msgs/s';
    const ours = result.servers.rfc6455;
    const met =
      (result.targetMet === null ? '–' : result.targetMet ? 'yes' : 'no') + (result.noisy ? ' (noisy)' : '');
    lines.push(
      `| ${result.title} | ${unit} | ${metricCell(result, 'rfc6455')} | ${metricCell(result, 'ws')} | ${metricCell(result, 'raw')} | ${ours ? ratioCell(ours.vsWs) : '–'} | ${ours ? ratioCell(ours.cpuEfficiencyVsWs) : '–'} | ${targetText(result.scenario)} | ${met} |`,
    );
  }
  return lines.join('\n');
}

function percentPair(a: Stats | null | undefined, b: Stats | null | undefined): string {
  if (a === null || a === undefined || b === null || b === undefined) return '–';
  return `${fixed(a.median * 100, 0)} % / ${fixed(b.median * 100, 0)} %`;
}

function throughputTable(results: Result[]): string {
  const lines = [
    '| scenario | server | msgs/s | MiB/s (payload, each way) | ÷ ws | ÷ raw TCP | server CPU | server CPU µs/msg | ws CPU/msg ÷ this | load generator ELU | other load on server / client core |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const result of results) {
    const type = result.scenario.type;
    if (type !== 'echo' && type !== 'handshake') continue;
    for (const s of Object.values(result.servers)) {
      lines.push(
        `| ${result.title} | ${s.label} | ${cell(s.metric, int)} | ${s.mibPerSecond ? cell(s.mibPerSecond, (n) => fixed(n, 1)) : '–'} | ${ratioCell(s.vsWs)} | ${ratioCell(s.vsRaw)} | ${cell(s.serverCpuShare, (n) => `${fixed(n * 100, 0)} %`)} | ${cell(s.serverCpuMicrosPerMessage, (n) => fixed(n, 2))} | ${ratioCell(s.cpuEfficiencyVsWs)} | ${cell(s.clientElu, (n) => fixed(n, 2))}${s.clientSaturated ? ' ⚠ saturated' : ''} | ${percentPair(s.otherLoadServerCpu, s.otherLoadClientCpu)} |`,
      );
    }
  }
  return lines.join('\n');
}

function latencyTable(results: Result[]): string | null {
  const result = results.find((r) => r.scenario.type === 'latency');
  if (result === undefined) return null;
  const lines = [
    '| server | p50 (ms) | p99 (ms) | p99 ÷ ws | server CPU | load generator ELU | other load on server / client core |',
    '| --- | --- | --- | --- | --- | --- | --- |',
  ];
  for (const s of Object.values(result.servers)) {
    lines.push(
      `| ${s.label} | ${cell(s.p50, (n) => fixed(n, 3))} | ${cell(s.p99, (n) => fixed(n, 3))} | ${ratioCell(s.vsWs)} | ${cell(s.serverCpuShare, (n) => `${fixed(n * 100, 0)} %`)} | ${cell(s.clientElu, (n) => fixed(n, 2))} | ${percentPair(s.otherLoadServerCpu, s.otherLoadClientCpu)} |`,
    );
  }
  return lines.join('\n');
}

function memoryTable(results: Result[]): string | null {
  const result = results.find((r) => r.scenario.type === 'memory');
  if (result === undefined) return null;
  const lines = [
    '| server | RSS / connection (KiB) | JS heap used / connection (KiB) | JS heap committed / connection (KiB) | external (ArrayBuffers, native) / connection (KiB) | ÷ ws (RSS) |',
    '| --- | --- | --- | --- | --- | --- |',
  ];
  for (const s of Object.values(result.servers)) {
    lines.push(
      `| ${s.label} | ${cell(s.metric, (n) => fixed(n / KiB, 2))} | ${cell(s.heapPerConn, (n) => fixed(n / KiB, 2))} | ${cell(s.heapCommittedPerConn, (n) => fixed(n / KiB, 2))} | ${cell(s.externalPerConn, (n) => fixed(n / KiB, 2))} | ${ratioCell(s.vsWs)} |`,
    );
  }
  return lines.join('\n');
}

function scenarioList(): string {
  return SCENARIOS.map((s) => {
    let shape = '';
    if (s.type === 'echo') shape = `${s.conns} connections × ${s.inflight} in flight`;
    if (s.type === 'handshake')
      shape = `${s.concurrency} concurrent loops of connect → upgrade → close frame both ways → TCP closed`;
    if (s.type === 'memory')
      shape = `${s.conns} open idle connections; server RSS after two forced GCs minus RSS before, ÷ connections; a fresh server process per round`;
    if (s.type === 'latency')
      shape = `${s.conns} connections, ${int(s.rate)} msgs/s in total on a fixed schedule (1 ms timer)`;
    return `- **${s.title}** (\`${s.id}\`): ${shape}.`;
  }).join('\n');
}

interface Report {
  date: string;
  revision: string;
  quick: boolean;
  machine: Machine;
  pinning: Pinning;
  time: Timing;
  loadavg: { start: number; end: number };
  totalSeconds: number;
  results: Result[];
}

function markdown(report: Report, codecMarkdown: string | null): string {
  const { machine: m, pinning, time } = report;
  const sections = [
    '# Benchmarks',
    '',
    `Generated by \`npm run bench${report.quick ? ' -- --quick' : ''}\` on ${report.date}. Do not edit by hand.`,
    '',
    `- Code: ${report.revision}${process.env.BENCH_RFC6455_MODULE ? ` (@rfc6455/node from ${process.env.BENCH_RFC6455_MODULE})` : ''}.`,
    `- Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}; Node ${m.node}.`,
    `- Placement: ${pinning.note}.`,
    `- Method: servers interleaved round by round (A B C A B C …) after a warm-up of each; ${time.rounds} rounds of ${time.durationMs / 1000} s (memory: ${time.memoryRounds} rounds). Every cell is the **median [min–max]** over the rounds; ratios are taken within each round (servers measured back to back) and then summarised the same way.`,
    `- Load average (1 min) at start ${report.loadavg.start.toFixed(2)}, at end ${report.loadavg.end.toFixed(2)}; total run ${report.totalSeconds.toFixed(0)} s.`,
    "- ⚠ marks a cell where the load generator's event loop was ≥ 90 % busy: the number is what the client could drive, a floor for that server.",
    `- (noisy) marks a row where other processes took more than ${NOISY_OTHER_LOAD * 100} % of the server's core during the rounds (last column of the tables below, from /proc/stat): there, trust the CPU-per-message ratio more than msgs/s.`,
    '',
    '## Headline',
    '',
    headlineTable(report.results),
    '',
    '## Throughput and handshakes',
    '',
    '"server CPU" is the server process\'s CPU time (all threads) over the measured window as a share of one core; "server CPU µs/msg" is that time per echoed message (or per handshake), which holds up better than msgs/s when other work shares the machine.',
    '',
    throughputTable(report.results),
  ];
  const latency = latencyTable(report.results);
  if (latency !== null) sections.push('', '## Round-trip latency at a fixed rate', '', latency);
  const memory = memoryTable(report.results);
  if (memory !== null) sections.push('', '## Idle memory per connection', '', memory);
  sections.push(
    '',
    '## Scenarios',
    '',
    scenarioList(),
    '',
    "The load generator (packages/bench/src/loadgen.ts) speaks WebSocket over `net` sockets with frames masked once in advance, sends as many new messages as came back in one write, parses replies incrementally and checks each echo's opcode and length (`--verify` also compares the bytes). For permessage-deflate it offers `client_no_context_takeover; server_no_context_takeover`, sends one message compressed once with zlib raw deflate, and inflates every reply before checking its length. The raw TCP server answers the upgrade with a minimal 101 and then returns every byte unparsed: the ceiling for a Node server on this machine.",
    '',
    'Profiles: `npm run bench -- --profile SCENARIO [--server rfc6455|ws|raw]` writes packages/bench/profiles/SCENARIO-SERVER.cpuprofile and prints the ten functions with the most self time.',
  );
  if (codecMarkdown)
    sections.push('', codecMarkdown.replace(/^# /m, '## ').replace(/^## (?!Codec)/gm, '### '));
  return sections.join('\n') + '\n';
}

// ---- Modes ----

function serversToRun(available: boolean): ServerName[] {
  return (['rfc6455', 'ws', 'raw'] as const).filter((name) => name !== 'rfc6455' || available);
}

async function benchmark(options: Options): Promise<void> {
  const started = performance.now();
  const loadStart = os.loadavg()[0]!;
  const pinning = setUpPinning(options.pin);
  pinningInUse = pinning;
  const time = timing(options);
  const available = await rfc6455Available();
  log(`bench: ${pinning.note}`);
  if (!available)
    log('bench: @rfc6455/node has no WebSocketServer yet (is it built?): running ws and raw TCP only');
  const results: Result[] = [];
  for (const scenario of SCENARIOS) {
    if (options.only !== null && !options.only.includes(scenario.id)) continue;
    log(`bench: ${scenario.title}`);
    const names = serversToRun(available);
    const rounds = await runScenario(scenario, names, { pinning, time, verify: options.verify });
    results.push(summarise(scenario, rounds));
  }
  let codecMarkdown: string | null = null;
  if (options.codec && options.only === null) {
    try {
      const { runCodecBench } = await import('./codec-bench.js');
      log('bench: codec microbenchmarks');
      codecMarkdown = runCodecBench({ quick: options.quick, outDir: options.out }).markdown;
    } catch (error) {
      log(`bench: codec microbenchmarks skipped: ${(error as Error).message}`);
    }
  }
  const report: Report = {
    date: new Date().toISOString(),
    revision: revision(),
    quick: options.quick,
    machine: machine(),
    pinning,
    time,
    loadavg: { start: loadStart, end: os.loadavg()[0]! },
    totalSeconds: (performance.now() - started) / 1000,
    results: results.map(({ scenario, ...rest }) => ({ ...rest, scenario })),
  };
  const md = markdown(report, codecMarkdown);
  const outDir = options.out ?? path.join(repoRoot, 'reports');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(path.join(outDir, 'bench.md'), md);
  writeFileSync(path.join(outDir, 'bench.json'), JSON.stringify(report, null, 2) + '\n');
  process.stdout.write(md);
  log(
    `bench: wrote ${path.relative(process.cwd(), path.join(outDir, 'bench.md'))} and bench.json in ${report.totalSeconds.toFixed(0)} s`,
  );
  // The parts with reports of their own, in child processes: HTTP/2 beside HTTP/1.1 (bench-h2.md) and
  // broadcast (bench-broadcast.md). A whole run only (not with --only).
  const parts: [boolean, string, string[]][] = [
    [options.h2, 'h2-bench.js', options.quick ? ['--rounds', '1', '--duration', '1'] : []],
    [options.broadcast, 'broadcast-bench.js', options.quick ? ['--quick'] : []],
  ];
  for (const [wanted, file, args] of parts) {
    if (!wanted || options.only !== null) continue;
    log(`bench: ${file}`);
    try {
      execFileSync(process.execPath, [path.join(here, file), ...args, '--out', outDir], { stdio: 'inherit' });
    } catch (error) {
      log(`bench: ${file} failed: ${(error as Error).message}`);
      process.exitCode = 1;
    }
  }
}

async function profileMode(options: Options, profile: string[]): Promise<void> {
  const pinning = setUpPinning(options.pin);
  pinningInUse = pinning;
  const available = await rfc6455Available();
  const name = options.server ?? 'rfc6455';
  if (!isServerName(name)) throw new Error(`Unknown server "${name}": use rfc6455, ws or raw`);
  if (name === 'rfc6455' && !available)
    throw new Error('@rfc6455/node has no WebSocketServer yet (build it first, or pass --server ws)');
  const dir = path.join(repoRoot, 'packages/bench/profiles');
  mkdirSync(dir, { recursive: true });
  const durationMs = (options.duration ?? 5) * 1000;
  // The profile covers the measured window only (inspector Profiler, 100 µs sampling), not start-up or warm-up.
  for (const id of profile) {
    const scenario = SCENARIOS.find((s) => s.id === id);
    if (scenario === undefined) throw new Error(`Unknown scenario "${id}"`);
    const file = `${id}-${name}.cpuprofile`;
    rmSync(path.join(dir, file), { force: true });
    log(`profile: ${scenario.title} against ${name}, ${durationMs / 1000} s (${pinning.note})`);
    const server = await ServerProcess.start({
      name,
      kind: SERVERS[name].kind,
      deflate: scenario.deflate === true && name !== 'raw',
      pinning,
    });
    const profileFile = path.join(dir, file);
    try {
      if (scenario.type === 'memory') {
        await server.request('profile-start');
        const round = await runMemory({
          port: server.port,
          conns: scenario.conns,
          gc: () => server.request('gc'),
        });
        await server.request('profile-stop', { file: profileFile });
        log(`  ${describeRound(round)}`);
      } else {
        // Warm up unprofiled, then profile exactly the measured window.
        await measure(scenario, server, Math.min(2000, durationMs), options.verify);
        const round = await measure(scenario, server, durationMs, options.verify, profileFile);
        log(`  ${describeRound(round)}`);
      }
    } finally {
      await server.stop();
    }
    if (!existsSync(profileFile)) throw new Error(`No profile was written at ${profileFile}`);
    console.log(`\n${scenario.title} — ${SERVERS[name].label}: ${path.relative(process.cwd(), profileFile)}`);
    console.log(formatHeaviest(heaviestFunctions(profileFile, 10)));
  }
}

const options = parseArgs(process.argv.slice(2));
if (options.profile !== null) await profileMode(options, options.profile);
else await benchmark(options);
