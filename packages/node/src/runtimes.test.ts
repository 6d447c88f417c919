// The README's smallest server (examples/echo-server.js, verbatim) runs unchanged on Node, Bun and Deno:
// each runtime is started with the README's own command line (Bun and Deno from scripts/runtimes.sh),
// and a client here talks to it over 127.0.0.1.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { WebSocket } from './index.js';
import { closed, messages, opened } from './testing/helpers.js';

const packageDir = path.join(__dirname, '..');
const repoRoot = path.join(packageDir, '..', '..');
const readme = fs.readFileSync(path.join(packageDir, 'README.md'), 'utf8');
const rootReadme = fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
const exampleFile = 'examples/echo-server.js';
const example = fs.readFileSync(path.join(packageDir, exampleFile), 'utf8');

/** Each runtime's command line, as the README shows it (run from packages/node). */
const RUNTIMES: [string, string][] = [
  ['node', `node ${exampleFile}`],
  ['bun', `bun ${exampleFile}`],
  ['deno', `deno run --node-modules-dir=manual --allow-net=127.0.0.1 --allow-env ${exampleFile}`],
];

/** The directory with bun, deno and workerd, or why there is none. */
function installRuntimes(): { dir?: string; error?: string } {
  const result = spawnSync('bash', [path.join(repoRoot, 'scripts', 'runtimes.sh')], {
    encoding: 'utf8',
    timeout: 300_000,
  });
  const dir = result.stdout?.trim();
  if (result.status === 0 && dir) return { dir };
  return { error: `scripts/runtimes.sh exited with ${result.status}: ${result.stderr ?? result.error}` };
}

// Outside CI, RFC6455_RUNTIMES=skip leaves Bun and Deno out (say so loudly); CI never skips them.
const skipRuntimes = process.env.RFC6455_RUNTIMES === 'skip' && process.env.CI !== 'true';
const runtimes = skipRuntimes ? { error: 'RFC6455_RUNTIMES=skip' } : installRuntimes();
if (skipRuntimes) console.warn('RFC6455_RUNTIMES=skip: the example is NOT run on Bun and Deno');

const started: ChildProcess[] = [];
afterEach(() => {
  // Its own process group (detached): stop the runtime and anything it started, by its PID.
  for (const child of started.splice(0)) {
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      process.kill(-child.pid, 'SIGKILL');
    }
  }
});

/** Starts the example and resolves with the URL it prints once listening. */
function startExample(command: string): Promise<{ child: ChildProcess; url: string }> {
  const env = { ...process.env, PORT: '0', PATH: `${runtimes.dir ?? ''}:${process.env.PATH ?? ''}` };
  const child = spawn('sh', ['-c', command], { cwd: packageDir, env, detached: true });
  started.push(child);
  let output = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${command}: no "listening" within 30 s:\n${output}`)),
      30_000,
    );
    const read = (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (ws:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ child, url: match[1]! });
      }
    };
    child.stdout.on('data', read);
    child.stderr.on('data', read);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${command} exited with ${code} before listening:\n${output}`));
    });
  });
}

test("the package's README shows examples/echo-server.js verbatim; both READMEs show each command line", () => {
  const marker = `<!-- example: ${exampleFile} -->\n\n\`\`\`js\n`;
  const at = readme.indexOf(marker);
  expect(at).toBeGreaterThan(-1);
  const start = at + marker.length;
  expect(readme.slice(start, readme.indexOf('```', start))).toBe(example);
  for (const [, command] of RUNTIMES) {
    expect(readme).toContain(`\`${command}\``);
    expect(rootReadme).toContain(`\`${command}\``);
  }
});

describe.each(RUNTIMES)('the smallest server on %s', (runtime, command) => {
  // Reported as skipped (never as passed) when RFC6455_RUNTIMES=skip outside CI.
  const maybe = skipRuntimes && runtime !== 'node' ? test.skip : test;
  maybe(
    'echoes text, binary and a 256 KiB message, and closes with 1000',
    async () => {
      if (runtime !== 'node' && runtimes.dir === undefined) {
        throw new Error(`${runtime} could not be installed (${runtimes.error}); CI must run this test`);
      }
      const { child, url } = await startExample(command);
      const ws = new WebSocket(url);
      await opened(ws);
      const big = Buffer.alloc(256 * 1024, 7);
      const echoed = messages(ws, 3);
      ws.send('héllo from node');
      ws.send(Buffer.from([0, 1, 2, 255]));
      ws.send(big);
      const got = await echoed;
      expect(got.map(([data, isBinary]) => [Buffer.from(data as Buffer).toString('hex'), isBinary])).toEqual([
        [Buffer.from('héllo from node').toString('hex'), false],
        ['000102ff', true],
        [big.toString('hex'), true],
      ]);
      const done = closed(ws);
      ws.close(1000, 'bye');
      expect((await done)[0]).toBe(1000);
      process.kill(-child.pid!, 'SIGTERM');
      await new Promise((resolve) => child.once('exit', resolve));
    },
    60_000,
  );
});
