// The command against other implementations: `ws` as a server and as a client, and a broken echo server
// that both the conformance run and the fuzzer must catch. Small case subsets keep the suite's cost low.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import {
  build,
  echoServer,
  repoRoot,
  runCli,
  tempDir,
  wsClientScript,
  type EchoServer,
} from './testing/peers.js';

let dir = '';
const servers: EchoServer[] = [];

beforeAll(async () => {
  build();
  dir = tempDir('cli');
  // Installs the suite into the cache when it is not there yet (the first run on a machine).
  const install = await runCli(['install']);
  if (install.code !== 0)
    throw new Error(`rfc6455-testkit install failed:\n${install.stdout}${install.stderr}`);
}, 600_000);

afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  fs.rmSync(dir, { recursive: true, force: true });
});

async function server(kind: 'ws' | 'broken-utf8'): Promise<EchoServer> {
  const s = await echoServer(kind);
  servers.push(s);
  return s;
}

const read = (file: string): string => fs.readFileSync(file, 'utf8');

describe('server mode', () => {
  test('ws passes, and the three reports are written with versions, not paths', async () => {
    const ws = await server('ws');
    const out = path.join(dir, 'ws-server');
    const stepSummary = path.join(dir, 'step-summary.md');
    const result = await runCli(
      ['server', ws.url, '--cases', '1.1.1,2.1,6.3.1', '--out', out, '--agent', 'ws'],
      {
        GITHUB_STEP_SUMMARY: stepSummary,
      },
    );
    expect(result.stdout).toContain('server mode: PASS, 3 cases');
    expect(result.code).toBe(0);
    const summary = JSON.parse(read(path.join(out, 'summary.json')));
    expect(summary).toMatchObject({
      schema: 1,
      mode: 'server',
      testee: 'ws',
      total: 3,
      passed: true,
      cases: ['1.1.1', '2.1', '6.3.1'],
    });
    expect(summary.suiteVersion).toMatch(/^0\.8\.2/);
    const text = read(path.join(out, 'summary.json')) + read(path.join(out, 'summary.md'));
    for (const p of [os.homedir(), os.tmpdir(), '/usr/', '.cache']) expect(text).not.toContain(p);
    expect(read(path.join(out, 'summary.md'))).toContain('- Verdict: **PASS**');
    expect(fs.existsSync(path.join(out, 'html', 'index.html'))).toBe(true);
    expect(read(stepSummary)).toContain('# Autobahn|Testsuite: server');
  }, 240_000);

  test('the broken server fails with the cases it broke, and --write-expected records them', async () => {
    const broken = await server('broken-utf8');
    const out = path.join(dir, 'broken-server');
    const args = ['server', broken.url, '--cases', '6.3.1,1.1.1', '--out', out];
    const failed = await runCli(args);
    expect(failed.code).toBe(1);
    expect(failed.stdout).toMatch(/server mode: FAIL, 2 cases/);
    expect(failed.stdout).toMatch(/not met: 6\.3\.1: \w+/);
    const summary = JSON.parse(read(path.join(out, 'summary.json')));
    expect(summary.passed).toBe(false);
    expect(summary.notOk.map((c: { id: string }) => c.id)).toEqual(['6.3.1']);
    expect(read(path.join(out, 'summary.md'))).toMatch(
      /### 6\.3\.1: .*\n\n- Description: Send invalid UTF-8/,
    );

    // Recorded as expected, the same failure passes; the file names the outcome the suite gave.
    const expected = path.join(dir, 'broken-expected.json');
    expect((await runCli([...args, '--expected', expected, '--write-expected'])).code).toBe(0);
    const recorded = JSON.parse(read(expected));
    expect(Object.keys(recorded)).toEqual(['1.1.1', '6.3.1']);
    expect(recorded['6.3.1']).toEqual({
      behavior: summary.notOk[0].behavior,
      behaviorClose: summary.notOk[0].behaviorClose,
    });
    expect((await runCli([...args, '--expected', expected])).code).toBe(0);
    // ws, judged by the same file, is better than recorded: no regression.
    const ws = await server('ws');
    expect(
      (await runCli(['server', ws.url, '--cases', '6.3.1,1.1.1', '--out', out, '--expected', expected])).code,
    ).toBe(0);
  }, 240_000);

  test('--start starts the server on the port it picked, and stops it at the end', async () => {
    const out = path.join(dir, 'started');
    const script = path.join(dir, 'started-server.mjs');
    const ws = require.resolve('ws', { paths: [__dirname] }).replace(/index\.js$/, 'wrapper.mjs');
    fs.writeFileSync(
      script,
      `import { WebSocketServer } from ${JSON.stringify(ws)};
const wss = new WebSocketServer({ host: '127.0.0.1', port: Number(process.env.PORT) });
wss.on('connection', (s) => s.on('message', (d, b) => s.send(d, { binary: b })));
console.log('url {url} arg', process.argv[2]);
`,
    );
    const result = await runCli([
      'server',
      'ws://127.0.0.1:0',
      '--start',
      `node ${script} {port}`,
      '--cases',
      '1.1.1',
      '--out',
      out,
    ]);
    expect(result.code).toBe(0);
    const log = read(path.join(out, 'server.log'));
    const port = /arg (\d+)/.exec(log)![1];
    expect(result.stdout).toContain(`the suite tests ws://127.0.0.1:${port} `);
    const { portAccepts } = await import('./processes.js');
    expect(await portAccepts('127.0.0.1', Number(port))).toBe(false);
  }, 240_000);
});

describe('client mode', () => {
  test('ws as a client passes; the command gets {url}, {agent} and TESTKIT_URL', async () => {
    const out = path.join(dir, 'ws-client');
    const script = wsClientScript(dir);
    const result = await runCli([
      'client',
      '--cases',
      '1.1.1,5.1,6.3.1',
      '--out',
      out,
      '--agent',
      'ws-client',
      '--',
      process.execPath,
      script,
      '{url}',
      '{agent}',
    ]);
    expect(result.stdout).toContain('client mode: PASS, 3 cases');
    expect(result.code).toBe(0);
    expect(JSON.parse(read(path.join(out, 'summary.json')))).toMatchObject({
      mode: 'client',
      testee: 'ws-client',
      total: 3,
    });
    expect(fs.existsSync(path.join(out, 'html', 'index.html'))).toBe(true);

    // One argument runs through the shell, with the environment variables.
    const shell = await runCli([
      'client',
      '--cases',
      '1.1.1',
      '--out',
      path.join(dir, 'ws-client-shell'),
      '--',
      `"${process.execPath}" "${script}" "$TESTKIT_URL" "$TESTKIT_AGENT"`,
    ]);
    expect(shell.stdout).toContain('client mode: PASS, 1 cases');
  }, 240_000);
});

describe('fuzz', () => {
  test('ws holds every rule', async () => {
    const ws = await server('ws');
    const result = await runCli(['fuzz', ws.url, '--runs', '60', '--seed', '11']);
    expect(result.stdout).toContain('PASS: 60 scenario(s)');
    expect(result.code).toBe(0);
  }, 120_000);

  test('the broken server fails; the printed seed and path replay the same counterexample', async () => {
    const broken = await server('broken-utf8');
    const result = await runCli(['fuzz', broken.url, '--runs', '200', '--seed', '5']);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /closed with 1000 after the violation (invalid-utf8|incomplete-utf8|invalid-close-reason) \(expected 1007\)/,
    );
    const replay = /replay: rfc6455-testkit fuzz \S+ --seed (\d+) --path ([\d:]+)/.exec(result.stdout)!;
    expect(replay).not.toBeNull();
    const counterexample = result.stdout.slice(result.stdout.indexOf('shrunk counterexample:'));
    expect(counterexample).toMatch(
      /bytes sent after the handshake \(\d+\):\n\[fuzz\] [0-9a-f]{2}( [0-9a-f]{2})*/,
    );
    const again = await runCli(['fuzz', broken.url, '--seed', replay[1]!, '--path', replay[2]!]);
    expect(again.code).toBe(1);
    expect(again.stdout.slice(again.stdout.indexOf('shrunk counterexample:'))).toBe(counterexample);
  }, 120_000);
});

describe('usage', () => {
  test('no backend: exit 2 and a message that says what to install', async () => {
    // Without docker on PATH and with the Docker backend forced, nothing can run the suite.
    const result = await runCli(['server', 'ws://127.0.0.1:1', '--backend', 'docker'], {
      PATH: path.dirname(process.execPath),
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain('no backend can run Autobahn|Testsuite');
    expect(result.stderr).toMatch(/Install one of:\n {2}- a Docker engine/);
  }, 60_000);

  test('rfc6455 testkit is the same command', async () => {
    const { execFile, execFileSync } = await import('node:child_process');
    const tsc = path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
    execFileSync(process.execPath, [tsc, '-b', path.join(repoRoot, 'packages', 'cli')]);
    const main = path.join(repoRoot, 'packages', 'cli', 'dist', 'main.js');
    const version = JSON.parse(read(path.join(__dirname, '..', 'package.json'))).version;
    const got = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) =>
      execFile(process.execPath, [main, 'testkit', 'fuzz'], (error, stdout, stderr) =>
        resolve({ code: error === null ? 0 : Number(error.code), stdout, stderr }),
      ),
    );
    expect(got.code).toBe(2);
    expect(got.stderr).toContain('fuzz needs one URL');
    expect(execFileSync(process.execPath, [main, 'testkit', '--version'], { encoding: 'utf8' })).toBe(
      `${version}\n`,
    );
  }, 120_000);

  test('bad arguments exit 2 and name the mistake', async () => {
    expect((await runCli(['server'])).stderr).toContain('server needs one URL');
    expect((await runCli(['client', '--cases', '1.*'])).stderr).toContain('client needs a command');
    expect((await runCli(['server', 'ws://x:1', '--write-expected'])).stderr).toContain(
      '--write-expected needs --expected FILE',
    );
    expect((await runCli(['fuzz', 'http://x'])).code).toBe(2);
    const unknown = await runCli(['serve']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain('unknown command serve');
  }, 60_000);
});
