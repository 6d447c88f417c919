// Servers and clients the testkit's tests run it against: `ws` as it ships, and a deliberately broken
// echo server (it skips UTF-8 validation and answers invalid text with a 1000 close instead of 1007).
import { execFile, execFileSync } from 'node:child_process';
import { isUtf8 } from 'node:buffer';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

import { WebSocketServer } from 'ws';

export const packageRoot = path.join(__dirname, '..', '..');
export const repoRoot = path.join(packageRoot, '..', '..');
export const cli = path.join(packageRoot, 'dist', 'main.js');

/** Builds the testkit (its tests run the built command, as users do). */
export function build(): void {
  execFileSync(process.execPath, [
    path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'),
    '-b',
    packageRoot,
  ]);
}

export interface EchoServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export function echoServer(kind: 'ws' | 'broken-utf8'): Promise<EchoServer> {
  const broken = kind === 'broken-utf8';
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, skipUTF8Validation: broken });
  wss.on('connection', (ws) => {
    ws.on('error', () => {});
    ws.on('message', (data: Buffer, isBinary) => {
      if (broken && !isBinary && !isUtf8(data)) ws.close(1000);
      else ws.send(data, { binary: isBinary });
    });
  });
  return new Promise((resolve) => {
    wss.on('listening', () => {
      const port = (wss.address() as { port: number }).port;
      resolve({
        url: `ws://127.0.0.1:${port}`,
        port,
        close: () =>
          new Promise<void>((done) => {
            for (const ws of wss.clients) ws.terminate();
            wss.close(() => done());
          }),
      });
    });
  });
}

/** A `ws` client for the suite's fuzzing server, as a script file: argv url, agent. */
export function wsClientScript(dir: string): string {
  const file = path.join(dir, 'ws-client.mjs');
  const ws = require.resolve('ws', { paths: [packageRoot] }).replace(/index\.js$/, 'wrapper.mjs');
  fs.writeFileSync(
    file,
    `import WebSocket from ${JSON.stringify(ws)};
const [base, agent] = process.argv.slice(2);
const session = (p, onMessage) => new Promise((done) => {
  const ws = new WebSocket(base + p);
  ws.on('message', (data, isBinary) => onMessage(ws, data, isBinary));
  ws.on('error', () => {});
  ws.on('close', () => done());
});
let count = 0;
await session('/getCaseCount', (_ws, data) => { count = Number(String(data)); });
for (let i = 1; i <= count; i++) {
  await session('/runCase?case=' + i + '&agent=' + agent, (ws, data, isBinary) => ws.send(data, { binary: isBinary }));
}
await session('/updateReports?agent=' + agent, () => {});
`,
  );
  return file;
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the built command; never rejects (the exit status is part of the result). */
export function runCli(args: string[], env: NodeJS.ProcessEnv = {}, cwd = repoRoot): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [cli, ...args],
      { cwd, env: { ...process.env, ...env }, timeout: 240_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : 1;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

export function tempDir(name: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `rfc6455-testkit-${name}-`));
}
