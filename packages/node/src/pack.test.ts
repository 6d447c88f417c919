// The packages as users get them: pnpm pack (which rewrites `workspace:^` to the real version), both
// tarballs installed offline into a fresh directory, then used from CommonJS, from ESM and from a
// TypeScript CommonJS project, the way a `ws` user would.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import WsLib from 'ws';

const root = path.join(__dirname, '..', '..', '..');
const tsc = path.join(root, 'node_modules', 'typescript', 'bin', 'tsc');
let dir = '';
let app = '';
const tarballs = { codec: '', node: '' };

/** Runs a command; a failure throws with its output (tsc reports on stdout) in the message. */
function run(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  try {
    return execFileSync(cmd, args, {
      cwd,
      env: { ...process.env, ...env },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 60_000,
    });
  } catch (err) {
    const { stdout, stderr } = err as { stdout?: string; stderr?: string };
    throw new Error(`${path.basename(cmd)} ${args.join(' ')} failed:\n${stdout ?? ''}${stderr ?? ''}`);
  }
}

/** Runs a script in the app directory; its last line of output is JSON. */
function runJson(file: string, source: string): Record<string, unknown> {
  fs.writeFileSync(path.join(app, file), source);
  const out = run(process.execPath, [file], app).trim().split('\n');
  return JSON.parse(out[out.length - 1]!) as Record<string, unknown>;
}

function entries(tarball: string): string[] {
  return run('tar', ['-tzf', tarball], dir).trim().split('\n').sort();
}

beforeAll(() => {
  run(process.execPath, [tsc, '-b', 'packages/node'], root);
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rfc6455-pack-'));
  const packs = path.join(dir, 'packs');
  for (const pkg of ['codec', 'node'] as const) {
    const dest = path.join(packs, pkg);
    // pnpm comes from npm's exec cache (npm test's install step put it there).
    run('bash', ['scripts/pnpm.sh', '-C', `packages/${pkg}`, 'pack', '--pack-destination', dest], root, {
      npm_config_prefer_offline: 'true',
    });
    const [file] = fs.readdirSync(dest).filter((f) => f.endsWith('.tgz'));
    tarballs[pkg] = path.join(dest, file!);
  }
  app = path.join(dir, 'app');
  fs.mkdirSync(app);
  fs.writeFileSync(path.join(app, 'package.json'), '{ "name": "pack-test-app", "private": true }\n');
  // Both tarballs at once satisfy node's dependency on the codec: nothing comes from a registry
  // (--offline, and an empty cache of its own).
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
      tarballs.codec,
      tarballs.node,
    ],
    app,
  );
}, 180_000);

afterAll(() => {
  if (dir !== '') fs.rmSync(dir, { recursive: true, force: true });
});

test('the tarballs hold dist, the README, package.json and (node) the CommonJS entry, nothing else', () => {
  const allowed = /^package\/(package\.json|README\.md|LICENSE|dist\/[\w.-]+\.(js|d\.ts)(\.map)?)$/;
  const codec = entries(tarballs.codec);
  expect(codec.filter((e) => !allowed.test(e))).toEqual([]);
  expect(codec).toEqual(expect.arrayContaining(['package/dist/index.js', 'package/dist/index.d.ts']));
  const node = entries(tarballs.node);
  const cjs = ['package/cjs/index.cjs', 'package/cjs/index.d.cts'];
  expect(node.filter((e) => !allowed.test(e) && !cjs.includes(e))).toEqual([]);
  expect(node).toEqual(expect.arrayContaining([...cjs, 'package/dist/index.js', 'package/README.md']));
  for (const e of [...codec, ...node]) expect(e).not.toMatch(/\.test\.|testing/);

  const codecVersion = (
    JSON.parse(fs.readFileSync(path.join(root, 'packages/codec/package.json'), 'utf8')) as {
      version: string;
    }
  ).version;
  const installed = JSON.parse(
    fs.readFileSync(path.join(app, 'node_modules/@rfc6455/node/package.json'), 'utf8'),
  ) as { dependencies: Record<string, string> };
  expect(installed.dependencies).toEqual({ '@rfc6455/codec': `^${codecVersion}` });
});

test("CommonJS: require('@rfc6455/node') is ws-shaped and echoes over 127.0.0.1", () => {
  const got = runJson(
    'check.cjs',
    `const WebSocket = require('@rfc6455/node');
const codec = require('@rfc6455/codec');
const result = {
  type: typeof WebSocket,
  serverIsWebSocketServer: WebSocket.Server === WebSocket.WebSocketServer,
  serverType: typeof WebSocket.Server,
  webSocketIsExport: WebSocket.WebSocket === WebSocket,
  stream: typeof WebSocket.createWebSocketStream,
  open: WebSocket.OPEN,
  keys: Object.keys(WebSocket),
  codec: typeof codec.Connection,
  messages: [],
};
const wss = new WebSocket.Server({ port: 0, host: '127.0.0.1' }, () => {
  const ws = new WebSocket('ws://127.0.0.1:' + wss.address().port);
  ws.on('open', () => {
    ws.send('text');
    ws.send(Buffer.from('bytes'));
  });
  ws.on('message', (data, isBinary) => {
    result.messages.push([String(data), isBinary]);
    if (result.messages.length === 2) ws.close(1000);
  });
  ws.on('close', (code) => {
    result.code = code;
    wss.close(async () => {
      const esm = await import('@rfc6455/node');
      result.oneClassForBoth = esm.WebSocket === WebSocket && esm.default === WebSocket;
      console.log(JSON.stringify(result));
    });
  });
});
wss.on('connection', (ws) => {
  result.serverSideInstance = ws instanceof WebSocket;
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
});
`,
  );
  expect(got).toMatchObject({
    type: 'function',
    serverIsWebSocketServer: true,
    serverType: 'function',
    webSocketIsExport: true,
    stream: 'function',
    open: 1,
    codec: 'function',
    messages: [
      ['text', false],
      ['bytes', true],
    ],
    code: 1000,
    serverSideInstance: true,
    oneClassForBoth: true,
  });
  // Every name on ws's CommonJS export but the ones we do not have (its parser/serialiser internals).
  const missing = ['Receiver', 'Sender', 'PerMessageDeflate', 'extension', 'subprotocol'];
  expect(got['keys']).toEqual(expect.arrayContaining(Object.keys(WsLib).filter((k) => !missing.includes(k))));
});

test('ESM: default and named imports, unchanged (no ws-style statics added by the ESM entry)', () => {
  const got = runJson(
    'check.mjs',
    `import WebSocket, { WebSocket as Named, WebSocketServer, createWebSocketStream } from '@rfc6455/node';
import * as ns from '@rfc6455/node';
import { Connection } from '@rfc6455/codec';
console.log(JSON.stringify({
  defaultIsWebSocket: WebSocket === Named,
  server: typeof WebSocketServer,
  stream: typeof createWebSocketStream,
  codec: typeof Connection,
  statics: Object.keys(WebSocket),
  names: Object.keys(ns).sort(),
}));
`,
  );
  expect(got).toMatchObject({
    defaultIsWebSocket: true,
    server: 'function',
    stream: 'function',
    codec: 'function',
  });
  expect(got['statics']).toEqual(['CONNECTING', 'OPEN', 'CLOSING', 'CLOSED']);
  expect(got['names']).toEqual(expect.arrayContaining(['default', 'WebSocket', 'WebSocketServer']));
  expect(got['names']).not.toContain('Server');
});

describe.each([
  ['commonjs', true],
  ['commonjs', false],
  ['node16', true],
  ['node16', false],
])('TypeScript, module %s, esModuleInterop %s', (module, esModuleInterop) => {
  test('a ws user’s code type-checks, compiles and runs', () => {
    const project = path.join(app, `ts-${module}-${String(esModuleInterop)}`);
    fs.mkdirSync(project);
    // Written as for ws: `import = require`, the class's statics and its namespace's types.
    fs.writeFileSync(
      path.join(project, 'server.ts'),
      `import WebSocket = require('@rfc6455/node');
const wss = new WebSocket.Server({ port: 0, host: '127.0.0.1' });
wss.on('connection', (ws) => ws.on('message', (d, isBinary) => ws.send(d, { binary: isBinary })));
const typed: WebSocket.Server = wss;
const check = (ws: WebSocket): boolean => ws.readyState === WebSocket.OPEN;
typed.on('listening', () => wss.close(() => console.log('server', typeof check)));
`,
    );
    // Default and named imports, as ESM-style code compiled to CommonJS.
    fs.writeFileSync(
      path.join(project, 'imports.ts'),
      `import WebSocket from '@rfc6455/node';
import { WebSocketServer, createWebSocketStream } from '@rfc6455/node';
import type { ServerOptions } from '@rfc6455/node';
import * as ns from '@rfc6455/node';
const options: ServerOptions = { noServer: true };
const wss: WebSocketServer = new WebSocketServer(options);
const check = (ws: WebSocket): boolean => ws instanceof ns.WebSocket;
console.log('imports', typeof WebSocket, wss instanceof ns.WebSocketServer, typeof createWebSocketStream, typeof check);
`,
    );
    fs.writeFileSync(
      path.join(project, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module,
          strict: true,
          esModuleInterop,
          // TypeScript 6 deprecates turning esModuleInterop off; people still do.
          ...(esModuleInterop ? {} : { ignoreDeprecations: '6.0' }),
          skipLibCheck: false,
          outDir: 'out',
          types: ['node'],
          typeRoots: [path.join(root, 'node_modules', '@types')],
        },
        files: ['server.ts', 'imports.ts'],
      }),
    );
    run(process.execPath, [tsc, '-p', project], project);
    expect(run(process.execPath, ['out/server.js'], project)).toBe('server function\n');
    expect(run(process.execPath, ['out/imports.js'], project)).toBe(
      'imports function true function function\n',
    );
  }, 60_000);
});
