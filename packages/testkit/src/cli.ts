// The `rfc6455-testkit` command line: parses arguments, picks the backend, runs, reports, exit status.
import { existsSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

import { chooseBackend, noBackendMessage, type Backend } from './backend.js';
import { UsageError } from './errors.js';
import { runFuzz } from './fuzz.js';
import { type Expected } from './results.js';
import { runClient, runServer, verdictLines, type RunResult } from './run.js';
import { TESTKIT_VERSION } from './version.js';

/** Exit status: every case met the expectation / some did not (or the run broke) / usage or setup. */
export const EXIT_PASS = 0;
export const EXIT_FAIL = 1;
export const EXIT_USAGE = 2;

export const USAGE = `rfc6455-testkit ${TESTKIT_VERSION}: Autobahn|Testsuite runs and protocol fuzzing for any WebSocket implementation

  rfc6455-testkit server ws://127.0.0.1:PORT [--start "CMD"] [options]
      The suite's fuzzing client against a server. --start runs CMD through the shell with env PORT
      and {port}/{url} substituted, waits for the port, and stops it (its process group) at the end;
      port 0 picks a free port.
  rfc6455-testkit client [options] -- CMD ARGS...
      The suite's fuzzing server on a free loopback port; CMD gets {url} and {agent} substituted and
      env TESTKIT_URL, TESTKIT_AGENT, runs every case (/getCaseCount, /runCase?case=i&agent=A,
      /updateReports?agent=A) and exits. One argument is run through the shell.
  rfc6455-testkit fuzz ws://127.0.0.1:PORT[/path] [--runs N] [--seed S] [--path P] [--timeout-ms T]
      Property-based traffic (fast-check) against an echo server, one connection per scenario; a
      failure prints the seed, the path and the shrunk counterexample as bytes (replay with both).
  rfc6455-testkit install [--backend pip|docker]
      Installs (pip) or pulls (docker) the suite, so that later runs start at once.

Options (server, client):
  --cases 1.*,2.*        case patterns (default: every case)
  --expected FILE        outcomes each case must have (JSON: case id -> {behavior, behaviorClose})
  --write-expected       write this run's outcomes to the --expected file (other cases are kept)
  --out DIR              summary.md, summary.json and html/ (default: a new directory under the temp dir)
  --agent NAME           the name the suite gives the implementation (default: testee)
  --backend pip|docker   default: docker when an engine answers, else pip (Python 2.7)
  --timeout MINUTES      per run (default 60)

Exit status: 0 every case met the expectation; 1 some did not, or the run did not finish; 2 usage or setup.
`;

export interface Io {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env: NodeJS.ProcessEnv;
}

const packageRoot = fileURLToPath(new URL('..', import.meta.url));

function pickBackend(forced: string | undefined, log: (line: string) => void): Backend {
  if (forced !== undefined && forced !== 'pip' && forced !== 'docker') {
    throw new UsageError(`--backend must be pip or docker (got ${forced})`);
  }
  const { backend, reasons } = chooseBackend(packageRoot, forced);
  if (backend === undefined) throw new UsageError(noBackendMessage(reasons));
  log(`backend: ${backend.name} (${reasons[reasons.length - 1] ?? ''})`);
  const began = Date.now();
  backend.prepare(log);
  log(`backend ready in ${Math.round((Date.now() - began) / 1000)} s: ${backend.description}`);
  return backend;
}

function readExpected(path: string | undefined, writing: boolean): Expected | undefined {
  if (path === undefined) {
    if (writing) throw new UsageError('--write-expected needs --expected FILE (the file to write)');
    return undefined;
  }
  if (!existsSync(path)) {
    if (writing) return undefined;
    throw new UsageError(`${path} does not exist (create it with --write-expected)`);
  }
  return JSON.parse(readFileSync(path, 'utf8')) as Expected;
}

const RUN_OPTIONS = {
  cases: { type: 'string' },
  expected: { type: 'string' },
  'write-expected': { type: 'boolean', default: false },
  out: { type: 'string' },
  agent: { type: 'string', default: 'testee' },
  backend: { type: 'string' },
  timeout: { type: 'string', default: '60' },
  start: { type: 'string' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

async function conformance(command: 'server' | 'client', argv: string[], io: Io): Promise<number> {
  const dash = argv.indexOf('--');
  const own = dash === -1 ? argv : argv.slice(0, dash);
  const after = dash === -1 ? [] : argv.slice(dash + 1);
  const { values, positionals } = parseArgs({ args: own, options: RUN_OPTIONS, allowPositionals: true });
  if (values.help) {
    io.stdout.write(USAGE);
    return EXIT_PASS;
  }
  const log = (line: string): void => void io.stdout.write(`[testkit] ${line}\n`);
  const timeout = Number(values.timeout);
  if (!(timeout > 0)) throw new UsageError(`--timeout must be a number of minutes (got ${values.timeout})`);
  const writing = values['write-expected'];
  const common = {
    cases: values.cases
      ?.split(',')
      .map((c) => c.trim())
      .filter(Boolean) ?? ['*'],
    expected: readExpected(values.expected, writing),
    writeExpected: writing ? values.expected : undefined,
    out: resolve(values.out ?? join(tmpdir(), `rfc6455-testkit-${command}-${process.pid}-${Date.now()}`)),
    agent: values.agent,
    timeoutMs: timeout * 60_000,
    log,
  };
  let result: RunResult;
  if (command === 'server') {
    if (positionals.length !== 1) throw new UsageError('server needs one URL: server ws://127.0.0.1:PORT');
    if (after.length > 0) throw new UsageError('server takes no command after --; use --start "CMD"');
    result = await runServer({
      ...common,
      backend: pickBackend(values.backend, log),
      url: positionals[0]!,
      startCommand: values.start,
    });
  } else {
    if (positionals.length > 0 || values.start !== undefined) {
      throw new UsageError('client takes its command after --: client [options] -- CMD ARGS...');
    }
    if (after.length === 0) throw new UsageError('client needs a command: client [options] -- CMD ARGS...');
    result = await runClient({ ...common, backend: pickBackend(values.backend, log), command: after });
  }
  for (const line of verdictLines(result.summary)) log(line);
  log(`reports: ${join(common.out, 'summary.md')}, summary.json, html/index.html`);
  return result.summary.passed ? EXIT_PASS : EXIT_FAIL;
}

function install(argv: string[], io: Io): number {
  const { values } = parseArgs({ args: argv, options: { backend: { type: 'string' } } });
  pickBackend(values.backend, (line) => void io.stdout.write(`[testkit] ${line}\n`));
  return EXIT_PASS;
}

/** Runs one command; resolves to the exit status. Errors in a run reject; usage errors print USAGE. */
export async function run(argv: string[], io: Io): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'server':
      case 'client':
        return await conformance(command, rest, io);
      case 'fuzz':
        return await runFuzz(rest, io);
      case 'install':
        return install(rest, io);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        io.stdout.write(USAGE);
        return command === undefined ? EXIT_USAGE : EXIT_PASS;
      case '--version':
        io.stdout.write(`${TESTKIT_VERSION}\n`);
        return EXIT_PASS;
      default:
        throw new UsageError(`unknown command ${command}`);
    }
  } catch (error) {
    if (error instanceof UsageError || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr.write(
        `rfc6455-testkit: ${(error as Error).message}\n\nRun rfc6455-testkit --help for usage.\n`,
      );
      return EXIT_USAGE;
    }
    throw error;
  }
}
