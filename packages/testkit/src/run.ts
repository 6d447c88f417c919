// One conformance run: the suite against a server (`wstest -m fuzzingclient`) or a client against the
// suite (`wstest -m fuzzingserver`), then the three reports in the output directory.
import { type ChildProcess } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

import { SUITE_VERSION, type Backend } from './backend.js';
import { exited, freePort, hasExited, start, stop, waitForPort } from './processes.js';
import {
  compareCaseIds,
  renderDiff,
  renderMarkdown,
  selectedBy,
  summarise,
  SUMMARY_SCHEMA,
  type CaseResult,
  type Expected,
  type Mode,
  type Summary,
} from './results.js';
import { readSuiteOutput } from './suite.js';
import { TESTKIT_VERSION } from './version.js';

export interface RunOptions {
  backend: Backend;
  /** The suite's case patterns; ["*"] for every case. */
  cases: string[];
  /** Case id -> required outcome; without it every case must be OK or suite-informational. */
  expected?: Expected | undefined;
  /** Receives summary.md, summary.json, html/ (the suite's report) and the logs. */
  out: string;
  agent: string;
  timeoutMs: number;
  log: (line: string) => void;
  /** Write the run's outcomes to this expected file (merged: unselected cases keep their entries). */
  writeExpected?: string | undefined;
}

export interface ServerRunOptions extends RunOptions {
  /** ws://127.0.0.1:PORT; port 0 picks a free port for --start. */
  url: string;
  /** Shell command that starts the server: env PORT, `{port}` and `{url}` substituted. */
  startCommand?: string | undefined;
}

export interface ClientRunOptions extends RunOptions {
  /** One element: a shell command; several: argv. `{url}` and `{agent}` are substituted in each. */
  command: string[];
}

export interface RunResult {
  summary: Summary;
  markdown: string;
}

function substitute(text: string, values: Record<string, string>): string {
  return text.replace(/\{(\w+)\}/g, (whole, name: string) => values[name] ?? whole);
}

function prepareOut(out: string): string {
  mkdirSync(out, { recursive: true });
  const html = join(out, 'html');
  rmSync(html, { recursive: true, force: true });
  mkdirSync(html, { recursive: true });
  for (const file of ['summary.md', 'summary.json']) rmSync(join(out, file), { force: true });
  return html;
}

function writeSpec(out: string, spec: Record<string, unknown>): string {
  const path = join(out, 'spec.json');
  writeFileSync(path, JSON.stringify(spec, null, 2) + '\n');
  return path;
}

/** `wstest -m fuzzingclient` against a running server, or one that `startCommand` starts. */
export async function runServer(options: ServerRunOptions): Promise<RunResult> {
  const began = Date.now();
  const html = prepareOut(options.out);
  const url = new URL(options.url);
  if (url.protocol !== 'ws:') throw new Error(`the server URL must be ws://host:port (got ${options.url})`);
  let port = Number(url.port || 80);
  if (port === 0) {
    if (options.startCommand === undefined) throw new Error('port 0 needs --start (it picks a free port)');
    port = await freePort();
    url.port = String(port);
  }
  const target = url.href.replace(/\/$/, '');
  const incidents: string[] = [];
  let server: ChildProcess | undefined;
  if (options.startCommand !== undefined) {
    const command = substitute(options.startCommand, { port: String(port), url: target });
    options.log(`starting the server: ${command}`);
    server = start(command, {
      shell: true,
      env: { ...process.env, PORT: String(port) },
      logFile: join(options.out, 'server.log'),
    });
  }
  try {
    await waitForPort(url.hostname, port, server, 60_000, 'the server');
    options.log(`server mode: the suite tests ${target} (agent ${options.agent})`);
    const spec = writeSpec(options.out, {
      outdir: html,
      servers: [{ agent: options.agent, url: target }],
      cases: options.cases,
      'exclude-cases': [],
      'exclude-agent-cases': {},
    });
    const cmd = options.backend.wstest(
      ['-m', 'fuzzingclient', '-s', spec],
      [options.out],
      `rfc6455-testkit-fuzzingclient-${process.pid}-${port}`,
    );
    const wstest = start(cmd.command, {
      args: cmd.args,
      env: cmd.env,
      logFile: join(options.out, 'wstest.log'),
      cleanup: cmd.cleanup,
    });
    if (!(await exited(wstest, options.timeoutMs))) {
      await stop(wstest);
      throw new Error(`the suite did not finish within ${options.timeoutMs / 60_000} min`);
    }
    if (server !== undefined && hasExited(server)) {
      incidents.push(
        `the server exited (${server.exitCode ?? server.signalCode}) during the run (server.log)`,
      );
    }
  } finally {
    if (server !== undefined) await stop(server);
  }
  return finish('server', options, html, incidents, began);
}

/** `wstest -m fuzzingserver` on a free loopback port, and the client command pointed at it. */
export async function runClient(options: ClientRunOptions): Promise<RunResult> {
  const began = Date.now();
  if (options.command.length === 0) throw new Error('client mode needs a command after --');
  const html = prepareOut(options.out);
  const port = await freePort();
  const url = `ws://127.0.0.1:${port}`;
  const spec = writeSpec(options.out, {
    url,
    outdir: html,
    cases: options.cases,
    'exclude-cases': [],
    'exclude-agent-cases': {},
  });
  // -u 0: no embedded web server (it would listen on all interfaces).
  const cmd = options.backend.wstest(
    ['-m', 'fuzzingserver', '-s', spec, '-u', '0'],
    [options.out],
    `rfc6455-testkit-fuzzingserver-${process.pid}-${port}`,
  );
  const wstest = start(cmd.command, {
    args: cmd.args,
    env: cmd.env,
    logFile: join(options.out, 'wstest.log'),
    cleanup: cmd.cleanup,
  });
  const incidents: string[] = [];
  try {
    await waitForPort('127.0.0.1', port, wstest, 120_000, 'the suite');
    const values = { url, agent: options.agent };
    const argv = options.command.map((arg) => substitute(arg, values));
    options.log(`client mode: the suite listens on ${url}; running ${argv.join(' ')}`);
    const env = { ...process.env, TESTKIT_URL: url, TESTKIT_AGENT: options.agent };
    const logFile = join(options.out, 'client.log');
    const client =
      argv.length === 1
        ? start(argv[0]!, { shell: true, env, logFile })
        : start(argv[0]!, { args: argv.slice(1), env, logFile });
    if (!(await exited(client, options.timeoutMs))) {
      await stop(client);
      throw new Error(`the client did not finish within ${options.timeoutMs / 60_000} min`);
    }
    if (client.exitCode !== 0) {
      incidents.push(`the client exited with ${client.exitCode ?? client.signalCode} (client.log)`);
    }
    // After /updateReports the suite has written index.json; with shutdownOnComplete it also exits.
    const index = join(html, 'index.json');
    const deadline = Date.now() + 30_000;
    while (!existsSync(index) && !hasExited(wstest) && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await stop(wstest);
  }
  return finish('client', options, html, incidents, began);
}

function finish(
  mode: Mode,
  options: RunOptions,
  html: string,
  incidents: string[],
  began: number,
): RunResult {
  const output = readSuiteOutput(html);
  let expected = options.expected;
  if (options.writeExpected !== undefined) {
    expected = expectedFrom(output.cases, options.cases, expected);
    writeFileSync(options.writeExpected, JSON.stringify(expected, null, 2) + '\n');
    options.log(`wrote ${options.writeExpected}`);
  }
  const summary = summarise(
    {
      schema: SUMMARY_SCHEMA,
      testkit: TESTKIT_VERSION,
      mode,
      suiteVersion: output.suiteVersion ?? `${SUITE_VERSION} (pinned; not seen in the reports)`,
      backend: options.backend.description,
      testee: options.agent,
      date: new Date().toISOString(),
      wallSeconds: Math.round((Date.now() - began) / 1000),
      cases: options.cases,
    },
    output.cases,
    expected,
  );
  summary.problems.unshift(...incidents);
  summary.passed &&= incidents.length === 0;
  const markdown = renderMarkdown(summary);
  writeFileSync(join(options.out, 'summary.md'), markdown);
  writeFileSync(join(options.out, 'summary.json'), JSON.stringify(summary, null, 2) + '\n');
  const summaryFile = process.env.GITHUB_STEP_SUMMARY;
  if (summaryFile) appendFileSync(summaryFile, markdown + '\n');
  return { summary, markdown };
}

/** The one-paragraph verdict for the log, with the regressions. */
export function verdictLines(summary: Summary): string[] {
  const b = summary.counts.behavior;
  const lines = [
    `${summary.mode} mode: ${summary.passed ? 'PASS' : 'FAIL'}, ${summary.total} cases in ${summary.wallSeconds} s: ` +
      `${b.OK} OK, ${b['NON-STRICT']} NON-STRICT, ${b.INFORMATIONAL} INFORMATIONAL, ` +
      `${b.UNIMPLEMENTED} UNIMPLEMENTED, ${b.FAILED} FAILED`,
  ];
  for (const problem of summary.problems) lines.push(`  not met: ${problem}`);
  if (summary.regressions.length > 0) lines.push(renderDiff(summary.mode, summary.regressions));
  return lines;
}

/**
 * The expected file after this run: the run's outcomes for the cases it selected, and the old file's
 * entries for every case it did not select (so a partial run updates only its part).
 */
export function expectedFrom(
  cases: readonly CaseResult[],
  patterns: readonly string[],
  previous: Expected | undefined,
): Expected {
  const merged: Expected = {};
  for (const [id, requirement] of Object.entries(previous ?? {})) {
    if (!selectedBy(patterns, id)) merged[id] = requirement;
  }
  for (const c of cases) merged[c.id] = { behavior: c.behavior, behaviorClose: c.behaviorClose };
  return Object.fromEntries(
    Object.keys(merged)
      .sort(compareCaseIds)
      .map((id) => [id, merged[id]!]),
  );
}
