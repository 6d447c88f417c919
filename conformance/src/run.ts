// `npm run conformance`: runs Autobahn|Testsuite against the testee server and the testee client at the
// same time, writes reports/conformance/{server,client}.{md,json}, and exits non-zero unless every case
// is OK (or INFORMATIONAL where the suite itself says so) and nothing regressed against expected.json.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { chooseBackend, SUITE_VERSION, type Backend } from './backend.js';
import {
  compareCaseIds,
  renderDiff,
  renderMarkdown,
  requirementFor,
  summarise,
  type CaseResult,
  type Expected,
  type Mode,
  type Summary,
} from './results.js';
import { readSuiteOutput } from './suite.js';

const conformanceDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const repoRoot = resolve(conformanceDir, '..');
const AGENT = 'rfc6455-node';

const { values: options } = parseArgs({
  options: {
    cases: { type: 'string' },
    mode: { type: 'string', default: 'both' },
    backend: { type: 'string' },
    'testee-server': { type: 'string', default: join(conformanceDir, 'dist', 'testee-server.js') },
    'testee-client': { type: 'string', default: join(conformanceDir, 'dist', 'testee-client.js') },
    'testee-name': { type: 'string', default: '@rfc6455/node' },
    'write-expected': { type: 'boolean', default: false },
    // Another testee's requirements (e.g. the codec README's example, which declines deflate).
    expected: { type: 'string', default: join(conformanceDir, 'expected.json') },
    // Where a full run's summaries go (server.md, client.md, ...).
    reports: { type: 'string' },
  },
});

const reportsDir =
  options.reports !== undefined ? resolve(options.reports) : join(repoRoot, 'reports', 'conformance');
const htmlDir = join(reportsDir, 'html');
const casePatterns = options.cases?.split(',').map((c) => c.trim()) ?? ['*'];
const fullRun = casePatterns.length === 1 && casePatterns[0] === '*';
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
  const child = spawn(command, args, { env: env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
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
  process.kill(child.pid, 'SIGTERM');
  if (!(await exited(child, 5000))) {
    process.kill(child.pid, 'SIGKILL');
    await exited(child, 5000);
  }
}

function stopAllNow(): void {
  for (const { child, cleanup } of started) {
    if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
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
async function waitForPort(port: number, child: ChildProcess, ms: number): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null)
      throw new Error('wstest exited before listening');
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
  throw new Error(`wstest did not listen on 127.0.0.1:${port} within ${ms / 1000} s`);
}

/** Starts the testee server and reads the port it prints ("LISTENING <port>"). */
function startTesteeServer(logFile: string): Promise<{ child: ChildProcess; port: number }> {
  const child = start(process.execPath, [options['testee-server']], logFile);
  return new Promise((done, fail) => {
    let buffered = '';
    const timer = setTimeout(() => fail(new Error('the testee server did not start within 30 s')), 30_000);
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const match = /LISTENING (\d+)/.exec(buffered);
      if (match) {
        clearTimeout(timer);
        done({ child, port: Number(match[1]) });
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      fail(new Error(`the testee server exited with ${code} before listening (see ${logFile})`));
    });
  });
}

function writeSpec(file: string, outdir: string, url: string, dir: string): string {
  const spec = JSON.parse(readFileSync(join(conformanceDir, file), 'utf8')) as Record<string, unknown>;
  spec.outdir = outdir;
  spec.cases = casePatterns;
  if (Array.isArray(spec.servers)) spec.servers = [{ agent: AGENT, url }];
  else spec.url = url;
  const path = join(dir, file);
  writeFileSync(path, JSON.stringify(spec, null, 2) + '\n');
  return path;
}

interface ModeRun {
  mode: Mode;
  /** Testee crashes and the like: failures the suite's results do not show by themselves. */
  incidents: string[];
  cases: CaseResult[];
  suiteVersion: string | undefined;
  wallSeconds: number;
}

/** wstest -m fuzzingclient against our server. */
async function runServerMode(backend: Backend): Promise<ModeRun> {
  const began = Date.now();
  const outdir = freshDir(join(htmlDir, 'server'));
  const testee = await startTesteeServer(join(outdir, 'testee.log'));
  log(`server mode: testee server on 127.0.0.1:${testee.port}`);
  try {
    const spec = writeSpec('fuzzingclient.json', outdir, `ws://127.0.0.1:${testee.port}`, outdir);
    const cmd = backend.wstest(
      ['-m', 'fuzzingclient', '-s', spec],
      [outdir],
      `rfc6455-fuzzingclient-${process.pid}`,
    );
    const wstest = start(cmd.command, cmd.args, join(outdir, 'wstest.log'), cmd.env, cmd.cleanup);
    if (!(await exited(wstest, timeoutMs))) {
      await stop(wstest);
      throw new Error(`server mode: wstest did not finish within ${timeoutMs / 60_000} min`);
    }
  } finally {
    await stop(testee.child);
  }
  const incidents: string[] = [];
  const crashed = testee.child.exitCode !== null && testee.child.exitCode !== 0;
  if (crashed)
    incidents.push(`the testee server exited with ${testee.child.exitCode} during the run (testee.log)`);
  const output = readSuiteOutput(outdir);
  return { mode: 'server', incidents, ...output, wallSeconds: (Date.now() - began) / 1000 };
}

/** wstest -m fuzzingserver, driven by our client. */
async function runClientMode(backend: Backend): Promise<ModeRun> {
  const began = Date.now();
  const outdir = freshDir(join(htmlDir, 'client'));
  const port = await freePort();
  const spec = writeSpec('fuzzingserver.json', outdir, `ws://127.0.0.1:${port}`, outdir);
  // -u 0: no embedded web server (it would listen on all interfaces).
  const cmd = backend.wstest(
    ['-m', 'fuzzingserver', '-s', spec, '-u', '0'],
    [outdir],
    `rfc6455-fuzzingserver-${process.pid}`,
  );
  const wstest = start(cmd.command, cmd.args, join(outdir, 'wstest.log'), cmd.env, cmd.cleanup);
  const incidents: string[] = [];
  try {
    await waitForPort(port, wstest, 120_000);
    log(`client mode: suite listening on 127.0.0.1:${port}`);
    const client = start(
      process.execPath,
      [options['testee-client'], `ws://127.0.0.1:${port}`, AGENT],
      join(outdir, 'testee.log'),
    );
    if (!(await exited(client, timeoutMs))) {
      await stop(client);
      throw new Error(`client mode: the testee client did not finish within ${timeoutMs / 60_000} min`);
    }
    if (client.exitCode !== 0)
      incidents.push(`the testee client exited with ${client.exitCode} (testee.log)`);
    // The client asked for shutdownOnComplete; give the suite a moment to write its reports and exit.
    await exited(wstest, 30_000);
  } finally {
    await stop(wstest);
  }
  for (const incident of incidents) log(`client mode: ${incident}`);
  const output = readSuiteOutput(outdir);
  return { mode: 'client', incidents, ...output, wallSeconds: (Date.now() - began) / 1000 };
}

function freshDir(dir: string): string {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

function loadExpected(): Expected {
  const path = options.expected;
  if (!existsSync(path)) return { server: {}, client: {} };
  const data = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  if ('server' in data || 'client' in data) return data as Expected;
  // A matrix cell's file (conformance/expected/<cell>.json) holds one mode's cases, by id.
  const cases = data as Expected['server'];
  return { server: cases, client: cases };
}

function writeExpected(runs: ModeRun[]): void {
  const expected = loadExpected();
  for (const r of runs) {
    const ids = r.cases.map((c) => c.id).sort(compareCaseIds);
    expected[r.mode] = Object.fromEntries(ids.map((id) => [id, requirementFor(id)]));
  }
  writeFileSync(options.expected, JSON.stringify(expected, null, 2) + '\n');
  log(`wrote ${options.expected}`);
}

function report(summary: Summary): void {
  const markdown = renderMarkdown(summary);
  // Partial runs (--cases) are for development: they never overwrite the committed reports.
  const dir = fullRun ? reportsDir : join(htmlDir, summary.mode);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, `${summary.mode}.md`), markdown);
  writeFileSync(join(dir, `${summary.mode}.json`), JSON.stringify(summary, null, 2) + '\n');
  const b = summary.counts.behavior;
  log(
    `${summary.mode}: ${summary.passed ? 'PASS' : 'FAIL'}, ${summary.total} cases in ${Math.round(summary.wallSeconds)} s: ` +
      `${b.OK} OK, ${b['NON-STRICT']} NON-STRICT, ${b.INFORMATIONAL} INFORMATIONAL, ` +
      `${b.UNIMPLEMENTED} UNIMPLEMENTED, ${b.FAILED} FAILED (report: ${join(dir, `${summary.mode}.md`)})`,
  );
  for (const c of summary.notOk) log(`  ${c.id}: ${c.behavior} / close ${c.behaviorClose}`);
  process.stdout.write(renderDiff(summary.mode, summary.regressions) + '\n');
}

/** A mode that did not finish still leaves a report, so that a stale PASS is never left behind. */
function reportNoRun(mode: Mode, reason: unknown): void {
  const message = reason instanceof Error ? reason.message : String(reason);
  const dir = fullRun ? reportsDir : join(htmlDir, mode);
  mkdirSync(dir, { recursive: true });
  const markdown = [
    `# Autobahn|Testsuite: ${mode} mode`,
    '',
    '- Verdict: **FAIL: the run did not finish**',
    `- Date: ${new Date().toISOString()}`,
    `- Testee: ${options['testee-name']}`,
    `- Reason: ${message}`,
    '',
    `The suite's and the testee's logs are in reports/conformance/html/${mode}/ (wstest.log, testee.log).`,
  ];
  writeFileSync(join(dir, `${mode}.md`), markdown.join('\n') + '\n');
  const json = { mode, passed: false, finished: false, reason: message, date: new Date().toISOString() };
  writeFileSync(join(dir, `${mode}.json`), JSON.stringify(json, null, 2) + '\n');
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
  for (const file of [options['testee-server'], options['testee-client']]) {
    if (!existsSync(file)) throw new Error(`${file} does not exist: build first (bash scripts/build.sh)`);
  }
  const setupBegan = Date.now();
  backend.prepare(log);
  log(`backend ready in ${Math.round((Date.now() - setupBegan) / 1000)} s: ${backend.description}`);
  log(`running ${fullRun ? 'every case' : casePatterns.join(', ')}; HTML reports in ${htmlDir}`);

  const modes: Mode[] = options.mode === 'both' ? ['server', 'client'] : [options.mode as Mode];
  // Both modes at once: the suite is single-threaded Python and the machine has two cores.
  const settled = await Promise.allSettled(
    modes.map((mode) => (mode === 'server' ? runServerMode(backend) : runClientMode(backend))),
  );
  const expected = loadExpected();
  let failed = false;
  const runs: ModeRun[] = [];
  settled.forEach((outcome, i) => {
    if (outcome.status === 'rejected') {
      failed = true;
      reportNoRun(modes[i]!, outcome.reason);
      log(
        `${modes[i]} mode FAILED to run: ${String(outcome.reason instanceof Error ? outcome.reason.message : outcome.reason)}`,
      );
      return;
    }
    const r = outcome.value;
    runs.push(r);
    const summary = summarise(
      {
        mode: r.mode,
        suiteVersion: r.suiteVersion ?? `${SUITE_VERSION} (pinned; not seen in the reports)`,
        backend: backend.description,
        testee: options['testee-name'],
        date: new Date().toISOString(),
        wallSeconds: Math.round(r.wallSeconds),
        cases: casePatterns,
      },
      r.cases,
      expected[r.mode],
    );
    summary.problems.unshift(...r.incidents);
    summary.passed &&= r.incidents.length === 0;
    report(summary);
    if (!summary.passed) failed = true;
  });
  if (options['write-expected']) writeExpected(runs);
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
