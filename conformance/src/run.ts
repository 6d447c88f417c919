// `npm run conformance`: runs Autobahn|Testsuite against every cell of conformance/matrix.json (a testee
// on a runtime, in server or client mode), two cells at a time, writes reports/conformance/<id>.{md,json},
// and exits non-zero unless every case is OK (or INFORMATIONAL where the suite itself says so) and nothing
// regressed against expected.json. `--cell id[,id]` runs some cells only.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { chooseBackend, SUITE_VERSION, type Backend } from './backend.js';
import { updateReadme, type Cell } from './matrix.js';
import {
  compareCaseIds,
  renderDiff,
  renderMarkdown,
  requirementFor,
  summarise,
  type CaseResult,
  type Expected,
  type Summary,
} from './results.js';
import { readSuiteOutput } from './suite.js';

// dist/src/run.js -> conformance/
const conformanceDir = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const repoRoot = resolve(conformanceDir, '..');
const reportsDir = join(repoRoot, 'reports', 'conformance');
const htmlDir = join(reportsDir, 'html');

const { values: options } = parseArgs({
  options: {
    cell: { type: 'string' },
    cases: { type: 'string' },
    backend: { type: 'string' },
    'write-expected': { type: 'boolean', default: false },
    'update-readme': { type: 'boolean', default: false },
  },
});

const matrix = JSON.parse(readFileSync(join(conformanceDir, 'matrix.json'), 'utf8')) as Cell[];
const wanted = options.cell?.split(',').map((c) => c.trim());
const cells = wanted === undefined ? matrix : matrix.filter((c) => wanted.includes(c.id));
for (const id of wanted ?? []) {
  if (!matrix.some((c) => c.id === id))
    throw new Error(
      `no cell ${id} in conformance/matrix.json (cells: ${matrix.map((c) => c.id).join(', ')})`,
    );
}
const caseOverride = options.cases?.split(',').map((c) => c.trim());
/** A run with --cases is for development: it never overwrites the committed reports. */
const fullRun = caseOverride === undefined;
const casesOf = (cell: Cell): string[] => caseOverride ?? cell.cases;
const timeoutMs = Number(process.env.CONFORMANCE_TIMEOUT_MINUTES ?? 60) * 60_000;

function log(line: string): void {
  process.stdout.write(`[conformance] ${line}\n`);
}

// Every process started here, so that each one can be stopped by its PID whatever happens.
const started = new Set<{ child: ChildProcess; cleanup?: (() => void) | undefined }>();

function start(
  command: string,
  args: string[],
  logFile: string,
  env?: NodeJS.ProcessEnv,
  cleanup?: () => void,
): ChildProcess {
  const out = createWriteStream(logFile);
  // Its own process group, so that a shell command's children (bun, deno) stop with it.
  const child = spawn(command, args, {
    cwd: repoRoot,
    env: env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
  child.stdout.pipe(out, { end: false });
  child.stderr.pipe(out, { end: false });
  const entry = { child, cleanup };
  started.add(entry);
  child.on('exit', () => {
    started.delete(entry);
    cleanup?.();
  });
  return child;
}

function exited(child: ChildProcess, ms: number): Promise<boolean> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve(true);
  return new Promise((done) => {
    const timer = setTimeout(() => done(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      done(true);
    });
  });
}

/** SIGTERM by PID, then SIGKILL if it has not gone after a grace period. */
async function stop(child: ChildProcess): Promise<void> {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  signalGroup(child.pid, 'SIGTERM');
  if (!(await exited(child, 5000))) {
    signalGroup(child.pid, 'SIGKILL');
    await exited(child, 5000);
  }
}

/** The process group that `start` made for the child (its PID is the group's id). */
function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

function stopAllNow(): void {
  for (const { child, cleanup } of started) {
    if (child.pid !== undefined && child.exitCode === null) signalGroup(child.pid, 'SIGKILL');
    cleanup?.();
  }
}
process.on('SIGINT', () => {
  stopAllNow();
  process.exit(130);
});
process.on('SIGTERM', () => {
  stopAllNow();
  process.exit(143);
});

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.on('error', fail);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => done(port));
    });
  });
}

/** Resolves once something accepts connections on the port; rejects if `child` exits first. */
async function waitForPort(port: number, child: ChildProcess, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error(`${what} exited with ${child.exitCode ?? child.signalCode} before listening`);
    const open = await new Promise<boolean>((done) => {
      const socket = createConnection({ host: '127.0.0.1', port }, () => {
        socket.destroy();
        done(true);
      });
      socket.on('error', () => done(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`${what} did not listen on 127.0.0.1:${port} within ${ms / 1000} s`);
}

/** Starts the cell's server command with PORT set and waits until the port accepts connections. */
async function startTesteeServer(
  cell: Cell,
  logFile: string,
): Promise<{ child: ChildProcess; port: number }> {
  const port = await freePort();
  const env = { ...process.env, PORT: String(port) };
  const command = cell.command
    .replaceAll('{port}', String(port))
    .replaceAll('{url}', `ws://127.0.0.1:${port}`);
  const child = start('sh', ['-c', command], logFile, env);
  try {
    await waitForPort(port, child, 60_000, `the testee server (${logFile})`);
  } catch (error) {
    await stop(child);
    throw error;
  }
  return { child, port };
}

function writeSpec(file: string, cell: Cell, outdir: string, url: string): string {
  const spec = JSON.parse(readFileSync(join(conformanceDir, file), 'utf8')) as Record<string, unknown>;
  spec.outdir = outdir;
  spec.cases = casesOf(cell);
  if (Array.isArray(spec.servers)) spec.servers = [{ agent: cell.id, url }];
  else spec.url = url;
  const path = join(outdir, file);
  writeFileSync(path, JSON.stringify(spec, null, 2) + '\n');
  return path;
}

interface ModeRun {
  cell: Cell;
  /** Testee crashes and the like: failures the suite's results do not show by themselves. */
  incidents: string[];
  cases: CaseResult[];
  suiteVersion: string | undefined;
  wallSeconds: number;
}

/** wstest -m fuzzingclient against the cell's server. */
async function runServerCell(backend: Backend, cell: Cell): Promise<ModeRun> {
  const began = Date.now();
  const outdir = freshDir(join(htmlDir, cell.id));
  const testee = await startTesteeServer(cell, join(outdir, 'testee.log'));
  let diedDuringRun: number | string | null = null;
  log(`${cell.id}: testee server on 127.0.0.1:${testee.port}`);
  try {
    const spec = writeSpec('fuzzingclient.json', cell, outdir, `ws://127.0.0.1:${testee.port}`);
    const cmd = backend.wstest(
      ['-m', 'fuzzingclient', '-s', spec],
      [outdir],
      `rfc6455-${cell.id}-${process.pid}`,
    );
    const wstest = start(cmd.command, cmd.args, join(outdir, 'wstest.log'), cmd.env, cmd.cleanup);
    if (!(await exited(wstest, timeoutMs))) {
      await stop(wstest);
      throw new Error(`${cell.id}: wstest did not finish within ${timeoutMs / 60_000} min`);
    }
  } finally {
    // A testee that died during the run has exited already; the one we stop here has not.
    diedDuringRun = testee.child.exitCode ?? testee.child.signalCode;
    await stop(testee.child);
  }
  const incidents: string[] = [];
  if (diedDuringRun !== null)
    incidents.push(`the testee server exited with ${diedDuringRun} during the run (testee.log)`);
  const output = readSuiteOutput(outdir);
  return { cell, incidents, ...output, wallSeconds: (Date.now() - began) / 1000 };
}

/** wstest -m fuzzingserver, driven by the cell's client. */
async function runClientCell(backend: Backend, cell: Cell): Promise<ModeRun> {
  const began = Date.now();
  const outdir = freshDir(join(htmlDir, cell.id));
  const port = await freePort();
  const url = `ws://127.0.0.1:${port}`;
  const spec = writeSpec('fuzzingserver.json', cell, outdir, url);
  // -u 0: no embedded web server (it would listen on all interfaces).
  const cmd = backend.wstest(
    ['-m', 'fuzzingserver', '-s', spec, '-u', '0'],
    [outdir],
    `rfc6455-${cell.id}-${process.pid}`,
  );
  const wstest = start(cmd.command, cmd.args, join(outdir, 'wstest.log'), cmd.env, cmd.cleanup);
  const incidents: string[] = [];
  try {
    await waitForPort(port, wstest, 120_000, 'wstest');
    log(`${cell.id}: suite listening on ${url}`);
    const command = cell.command.replaceAll('{url}', url).replaceAll('{agent}', cell.id);
    const env = { ...process.env, TESTKIT_URL: url, TESTKIT_AGENT: cell.id };
    const client = start('sh', ['-c', command], join(outdir, 'testee.log'), env);
    if (!(await exited(client, timeoutMs))) {
      await stop(client);
      throw new Error(`${cell.id}: the testee client did not finish within ${timeoutMs / 60_000} min`);
    }
    if (client.exitCode !== 0)
      incidents.push(`the testee client exited with ${client.exitCode ?? client.signalCode} (testee.log)`);
    // The client asked for shutdownOnComplete; give the suite a moment to write its reports and exit.
    await exited(wstest, 30_000);
  } finally {
    await stop(wstest);
  }
  for (const incident of incidents) log(`${cell.id}: ${incident}`);
  const output = readSuiteOutput(outdir);
  return { cell, incidents, ...output, wallSeconds: (Date.now() - began) / 1000 };
}

function freshDir(dir: string): string {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

function loadExpected(): Expected {
  const path = join(conformanceDir, 'expected.json');
  if (!existsSync(path)) return { server: {}, client: {} };
  return JSON.parse(readFileSync(path, 'utf8')) as Expected;
}

function writeExpected(runs: ModeRun[]): void {
  const expected = loadExpected();
  for (const r of runs) {
    const ids = r.cases.map((c) => c.id).sort(compareCaseIds);
    expected[r.cell.mode] = Object.fromEntries(ids.map((id) => [id, requirementFor(id)]));
  }
  writeFileSync(join(conformanceDir, 'expected.json'), JSON.stringify(expected, null, 2) + '\n');
  log('wrote conformance/expected.json');
}

/** reports/conformance/ for a cell's own run, its HTML directory for a run with --cases. */
function reportDir(cell: Cell): string {
  return fullRun ? reportsDir : join(htmlDir, cell.id);
}

function report(cell: Cell, summary: Summary): void {
  const dir = reportDir(cell);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${cell.id}.md`), renderMarkdown(summary));
  writeFileSync(join(dir, `${cell.id}.json`), JSON.stringify(summary, null, 2) + '\n');
  const b = summary.counts.behavior;
  log(
    `${cell.id}: ${summary.passed ? 'PASS' : 'FAIL'}, ${summary.total} cases in ${Math.round(summary.wallSeconds)} s: ` +
      `${b.OK} OK, ${b['NON-STRICT']} NON-STRICT, ${b.INFORMATIONAL} INFORMATIONAL, ` +
      `${b.UNIMPLEMENTED} UNIMPLEMENTED, ${b.FAILED} FAILED (report: ${join(dir, `${cell.id}.md`)})`,
  );
  for (const c of summary.notOk) log(`  ${cell.id} ${c.id}: ${c.behavior} / close ${c.behaviorClose}`);
  process.stdout.write(renderDiff(summary.mode, summary.regressions) + '\n');
}

/** A cell that did not finish still leaves a report, so that a stale PASS is never left behind. */
function reportNoRun(cell: Cell, reason: unknown): void {
  const message = reason instanceof Error ? reason.message : String(reason);
  const dir = reportDir(cell);
  mkdirSync(dir, { recursive: true });
  const markdown = [
    `# Autobahn|Testsuite: ${cell.id}`,
    '',
    '- Verdict: **FAIL: the run did not finish**',
    `- Date: ${new Date().toISOString()}`,
    `- Testee: ${testeeName(cell)}`,
    `- Reason: ${message}`,
    '',
    `The suite's and the testee's logs are in reports/conformance/html/${cell.id}/ (wstest.log, testee.log).`,
  ];
  writeFileSync(join(dir, `${cell.id}.md`), markdown.join('\n') + '\n');
  const json = {
    mode: cell.mode,
    passed: false,
    finished: false,
    reason: message,
    date: new Date().toISOString(),
  };
  writeFileSync(join(dir, `${cell.id}.json`), JSON.stringify(json, null, 2) + '\n');
}

function testeeName(cell: Cell): string {
  return `${cell.transport} on ${cell.runtime} (${cell.mode} mode: \`${cell.command}\`)`;
}

/** Puts the directory that scripts/runtimes.sh prints (bun, deno, workerd) at the front of PATH. */
function addRuntimesToPath(): void {
  const began = Date.now();
  const result = spawnSync('bash', [join(repoRoot, 'scripts', 'runtimes.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const dir = result.stdout.trim();
  if (result.status !== 0 || dir === '')
    throw new Error(
      `scripts/runtimes.sh failed (exit ${result.status}): the cells need bun, deno and workerd`,
    );
  process.env.PATH = `${dir}:${process.env.PATH ?? ''}`;
  log(`runtimes ready in ${Math.round((Date.now() - began) / 1000)} s: ${dir}`);
}

/** Runs every item, at most `width` at once, and settles each. */
async function inPool<T, R>(items: T[], width: number, run: (item: T) => Promise<R>) {
  const results: PromiseSettledResult<R>[] = [];
  let next = 0;
  async function worker(): Promise<void> {
    while (next < items.length) {
      const i = next++;
      try {
        results[i] = { status: 'fulfilled', value: await run(items[i]!) };
      } catch (reason) {
        results[i] = { status: 'rejected', reason };
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(width, items.length) }, () => worker()));
  return results;
}

function skipOrFail(reasons: string[]): never {
  const required = process.env.CI === 'true' || process.env.CONFORMANCE === 'required';
  const how = [
    'To get a backend: start a Docker engine (`docker info` must succeed; the image is pulled on first use),',
    'or install Python 2.7 (e.g. `pyenv install 2.7.18`, or set PYTHON2=/path/to/python2.7).',
  ];
  if (required) {
    log(
      'ERROR: no backend for Autobahn|Testsuite, and the run is required (CI=true or CONFORMANCE=required).',
    );
    for (const r of reasons) log(`  ${r}`);
    for (const h of how) log(h);
    process.exit(1);
  }
  const bar = '!'.repeat(100);
  process.stdout.write(
    `\n${bar}\n!!! CONFORMANCE SKIPPED: Autobahn|Testsuite did NOT run; nothing about conformance was checked.\n`,
  );
  for (const r of reasons) process.stdout.write(`!!!   ${r}\n`);
  for (const h of how) process.stdout.write(`!!! ${h}\n`);
  process.stdout.write(
    `!!! CONFORMANCE=required turns this skip into a failure (CI sets CI=true).\n${bar}\n\n`,
  );
  process.exit(0);
}

async function main(): Promise<number> {
  if (process.env.CONFORMANCE === 'skip') skipOrFail(['CONFORMANCE=skip was set']);
  const { backend, reasons } = chooseBackend(
    conformanceDir,
    options.backend ?? process.env.CONFORMANCE_BACKEND,
  );
  if (backend === undefined) skipOrFail(reasons);
  log(`backend: ${backend.name} (${reasons[reasons.length - 1] ?? ''})`);
  for (const file of ['node-server.js', 'node-client.js']) {
    const path = join(conformanceDir, 'dist', 'testees', file);
    if (!existsSync(path)) throw new Error(`${path} does not exist: build first (bash scripts/build.sh)`);
  }
  if (cells.some((c) => c.runtime !== 'node')) addRuntimesToPath();
  const setupBegan = Date.now();
  backend.prepare(log);
  log(`backend ready in ${Math.round((Date.now() - setupBegan) / 1000)} s: ${backend.description}`);
  log(
    `cells: ${cells.map((c) => `${c.id} (${casesOf(c).join(',')})`).join(', ')}; HTML reports in ${htmlDir}`,
  );

  // Two cells at a time: the suite is single-threaded Python and the machine has two cores.
  const settled = await inPool(cells, 2, (cell) =>
    cell.mode === 'server' ? runServerCell(backend, cell) : runClientCell(backend, cell),
  );
  const expected = loadExpected();
  let failed = false;
  const runs: ModeRun[] = [];
  settled.forEach((outcome, i) => {
    const cell = cells[i]!;
    if (outcome.status === 'rejected') {
      failed = true;
      reportNoRun(cell, outcome.reason);
      log(
        `${cell.id} FAILED to run: ${String(outcome.reason instanceof Error ? outcome.reason.message : outcome.reason)}`,
      );
      return;
    }
    const r = outcome.value;
    runs.push(r);
    const summary = summarise(
      {
        mode: cell.mode,
        suiteVersion: r.suiteVersion ?? `${SUITE_VERSION} (pinned; not seen in the reports)`,
        backend: backend.description,
        testee: testeeName(cell),
        date: new Date().toISOString(),
        wallSeconds: Math.round(r.wallSeconds),
        cases: casesOf(cell),
      },
      r.cases,
      expected[cell.mode],
    );
    summary.problems.unshift(...r.incidents);
    summary.passed &&= r.incidents.length === 0;
    report(cell, summary);
    if (!summary.passed) failed = true;
  });
  if (options['write-expected']) writeExpected(runs);
  if (options['update-readme']) {
    updateReadme(repoRoot, matrix);
    log('rewrote the conformance matrix in README.md');
  }
  log(failed ? 'conformance FAILED' : 'conformance passed');
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    stopAllNow();
    log(`ERROR: ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  },
);
