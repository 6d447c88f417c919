// examples/workerd runs as written on Cloudflare's workerd: inbound raw TCP (workerd --experimental)
// goes to accept(), and a ws client gets its messages echoed, compressed, then a clean close.
import { execFileSync, spawn } from 'node:child_process';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';
import { WebSocket as WsWebSocket } from 'ws';

const packageDir = resolve(__dirname, '..');
const example = join(packageDir, 'examples', 'workerd');

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((r) => server.close(() => r()));
  return port;
}

async function waitForPort(port: number): Promise<void> {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((r) => {
      const s = net.connect(port, '127.0.0.1', () => (s.destroy(), r(true)));
      s.on('error', () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`workerd did not listen on ${port} within 10 s`);
}

test('the workerd example echoes over permessage-deflate and closes cleanly', async () => {
  // The pinned workerd from the project's runtimes script (cached outside the repository).
  const bin = execFileSync('bash', [join(packageDir, '..', '..', 'scripts', 'runtimes.sh')], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
    timeout: 300_000,
  }).trim();
  const dir = mkdtempSync(join(tmpdir(), 'streams-workerd-'));
  const port = await freePort();
  await build({
    entryPoints: [join(example, 'worker.js')],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    mainFields: ['module', 'main'],
    outfile: join(dir, 'worker.bundle.js'),
    logLevel: 'silent',
  });
  copyFileSync(join(example, 'config.capnp'), join(dir, 'config.capnp'));
  const child = spawn(
    join(bin, 'workerd'),
    ['serve', 'config.capnp', '--experimental', `--socket-addr`, `tcp=127.0.0.1:${port}`],
    {
      cwd: dir,
      stdio: 'ignore',
    },
  );
  try {
    await waitForPort(port);
    const client = new WsWebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: true });
    const got: string[] = [];
    client.on('message', (d: Buffer) => got.push(d.toString()));
    await new Promise((r) => client.once('open', r));
    expect(client.extensions).toContain('permessage-deflate');
    client.send('hello workerd '.repeat(200));
    client.send('second');
    const deadline = Date.now() + 10_000;
    while (got.length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const code = await new Promise<number>((r) => {
      client.once('close', (c: number) => r(c));
      client.close(1000);
    });
    expect(got).toEqual(['hello workerd '.repeat(200), 'second']);
    expect(code).toBe(1000);
  } finally {
    child.kill('SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
}, 60_000);
