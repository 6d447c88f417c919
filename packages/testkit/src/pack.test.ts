// The testkit as users get it: `pnpm pack`, installed offline into an empty directory outside the
// repository with its dependencies (the codec's tarball, fast-check and pure-rand packed from the store),
// then `npx rfc6455-testkit server` against a `ws` echo server writes the three reports.
import { execFile, execFileSync } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import path from 'node:path';

import { build, echoServer, repoRoot, tempDir, type EchoServer } from './testing/peers.js';

let dir = '';
let app = '';
let ws: EchoServer | undefined;

function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  try {
    return execFileSync(cmd, args, {
      cwd,
      env: { ...process.env, ...env },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 240_000,
    });
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: string; stderr?: string };
    throw new Error(`${path.basename(cmd)} ${args.join(' ')} failed:\n${stdout ?? ''}${stderr ?? ''}`);
  }
}

function tarball(dest: string): string {
  const [file] = fs.readdirSync(dest).filter((f) => f.endsWith('.tgz'));
  return path.join(dest, file!);
}

/** A package from pnpm's store as a tarball in npm's layout (package/...), made with tar. */
function packInstalled(name: string, from: string, dest: string): string {
  const dirOf = path.dirname(require.resolve(`${name}/package.json`, { paths: [from] }));
  const file = path.join(dest, `${name}.tgz`);
  run('tar', ['-czf', file, '-C', dirOf, '--transform', 's,^\\.,package,', '.'], dir);
  return file;
}

beforeAll(() => {
  build();
  dir = tempDir('pack');
  const packs = path.join(dir, 'packs');
  const tarballs: string[] = [];
  for (const pkg of ['codec', 'testkit']) {
    const dest = path.join(packs, pkg);
    run('bash', ['scripts/pnpm.sh', '-C', `packages/${pkg}`, 'pack', '--pack-destination', dest], repoRoot, {
      npm_config_prefer_offline: 'true',
    });
    tarballs.push(tarball(dest));
  }
  // fast-check and its dependency, from the store (pnpm does not pack what it installed).
  const testkitDir = path.join(repoRoot, 'packages', 'testkit');
  tarballs.push(packInstalled('fast-check', testkitDir, packs));
  const fastCheckDir = path.dirname(require.resolve('fast-check/package.json', { paths: [testkitDir] }));
  tarballs.push(packInstalled('pure-rand', fastCheckDir, packs));
  app = path.join(dir, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), '{ "name": "testkit-pack-app", "private": true }\n');
  run(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--offline',
      '--ignore-scripts',
      '--no-package-lock',
      '--cache',
      path.join(dir, 'npm-cache'),
      ...tarballs,
    ],
    app,
  );
}, 300_000);

afterAll(async () => {
  await ws?.close();
  if (dir !== '') fs.rmSync(dir, { recursive: true, force: true });
});

test('the tarball holds dist, the suite launcher and pins, the action and the README; no tests', () => {
  const entries = run('tar', ['-tzf', tarball(path.join(dir, 'packs', 'testkit'))], dir)
    .trim()
    .split('\n');
  const allowed =
    /^package\/(package\.json|README\.md|LICENSE|action\.yml|wstest-loopback\.py|requirements(-accel)?\.txt|dist\/[\w.-]+\.(js|d\.ts)(\.map)?)$/;
  expect(entries.filter((e) => !allowed.test(e))).toEqual([]);
  expect(entries).toEqual(
    expect.arrayContaining([
      'package/dist/main.js',
      'package/dist/arbitraries.js',
      'package/wstest-loopback.py',
      'package/action.yml',
    ]),
  );
  for (const e of entries) expect(e).not.toMatch(/\.test\.|testing|fixtures/);
});

test('npx rfc6455-testkit server against a ws echo server writes the three reports', async () => {
  ws = await echoServer('ws');
  const out = path.join(app, 'reports');
  // Asynchronously: the echo server lives in this process.
  const { stdout } = await promisify(execFile)(
    'npx',
    ['--offline', 'rfc6455-testkit', 'server', ws.url, '--cases', '1.1.1,2.1', '--out', out],
    { cwd: app, timeout: 240_000 },
  );
  expect(stdout).toContain('server mode: PASS, 2 cases');
  expect(JSON.parse(fs.readFileSync(path.join(out, 'summary.json'), 'utf8'))).toMatchObject({
    schema: 1,
    total: 2,
    passed: true,
  });
  expect(fs.readFileSync(path.join(out, 'summary.md'), 'utf8')).toContain('- Verdict: **PASS**');
  expect(fs.existsSync(path.join(out, 'html', 'index.html'))).toBe(true);
}, 240_000);

test('@rfc6455/testkit/arbitraries imports from ESM and generates scenarios', () => {
  fs.writeFileSync(
    path.join(app, 'arb.mjs'),
    `import fc from 'fast-check';
import { scenario, violation, textPayload } from '@rfc6455/testkit/arbitraries';
const [s] = fc.sample(scenario(), { numRuns: 1, seed: 3 });
const [v] = fc.sample(violation(), { numRuns: 1, seed: 3 });
console.log(JSON.stringify({ ending: s.ending.kind, code: v.code, text: fc.sample(textPayload(), 1)[0] instanceof Uint8Array }));
`,
  );
  const got = JSON.parse(run(process.execPath, ['arb.mjs'], app).trim()) as Record<string, unknown>;
  expect(got['text']).toBe(true);
  expect([1002, 1007]).toContain(got['code']);
});
