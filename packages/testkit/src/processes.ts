// The processes a run starts (the suite, the server or client under test), each stopped by its PID or
// process group whatever happens, and the loopback port helpers.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { createConnection, createServer } from 'node:net';

interface Started {
  child: ChildProcess;
  group: boolean;
  cleanup: (() => void) | undefined;
}

const started = new Set<Started>();

export interface StartOptions {
  args?: string[];
  env?: NodeJS.ProcessEnv | undefined;
  /** Through `sh -c`, in a process group of its own so that stopping it stops what it started. */
  shell?: boolean;
  /** Where stdout and stderr go. */
  logFile: string;
  cleanup?: (() => void) | undefined;
}

export function start(command: string, options: StartOptions): ChildProcess {
  const out = createWriteStream(options.logFile);
  const shell = options.shell === true;
  const child = shell
    ? spawn('sh', ['-c', command], { env: options.env ?? process.env, stdio: 'pipe', detached: true })
    : spawn(command, options.args ?? [], { env: options.env ?? process.env, stdio: 'pipe' });
  child.stdin?.end();
  child.stdout?.pipe(out, { end: false });
  child.stderr?.pipe(out, { end: false });
  const entry: Started = { child, group: shell, cleanup: options.cleanup };
  started.add(entry);
  child.on('error', (error) => out.write(`\n[testkit] could not start ${command}: ${error.message}\n`));
  child.on('exit', () => {
    started.delete(entry);
    entry.cleanup?.();
  });
  return child;
}

export function hasExited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

export function exited(child: ChildProcess, ms: number): Promise<boolean> {
  if (hasExited(child) || child.pid === undefined) return Promise.resolve(true);
  return new Promise((done) => {
    const timer = setTimeout(() => done(false), ms);
    child.once('exit', () => {
      clearTimeout(timer);
      done(true);
    });
  });
}

function signal(child: ChildProcess, name: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  const entry = [...started].find((s) => s.child === child);
  try {
    // A negative PID is the process group: the shell and whatever it started.
    process.kill(entry?.group === true ? -child.pid : child.pid, name);
  } catch {
    // Already gone.
  }
}

/** SIGTERM (to its group when started through the shell), then SIGKILL after a grace period. */
export async function stop(child: ChildProcess, graceMs = 5000): Promise<void> {
  if (hasExited(child)) return;
  signal(child, 'SIGTERM');
  if (!(await exited(child, graceMs))) {
    signal(child, 'SIGKILL');
    await exited(child, graceMs);
  }
}

/** SIGKILL to everything still running; for a process that is about to exit. */
export function stopAllNow(): void {
  for (const entry of started) {
    signal(entry.child, 'SIGKILL');
    entry.cleanup?.();
  }
}

export function freePort(): Promise<number> {
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

export function portAccepts(host: string, port: number): Promise<boolean> {
  return new Promise((done) => {
    const socket = createConnection({ host, port }, () => {
      socket.destroy();
      done(true);
    });
    socket.on('error', () => done(false));
  });
}

/** Resolves once something accepts TCP on host:port; rejects if `child` exits first or time runs out. */
export async function waitForPort(
  host: string,
  port: number,
  child: ChildProcess | undefined,
  ms: number,
  what: string,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (child !== undefined && hasExited(child)) {
      throw new Error(`${what} exited (${child.exitCode ?? child.signalCode}) before listening`);
    }
    if (await portAccepts(host, port)) return;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${what} did not listen on ${host}:${port} within ${ms / 1000} s`);
}
