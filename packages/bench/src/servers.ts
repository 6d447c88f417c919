// Spawning the echo servers (each in its own process, pinned when taskset is there) and talking
// to them over IPC.
import { spawn, execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const SERVER_SCRIPT = path.join(here, 'server.mjs');

function hasTaskset() {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * Decides where things run. With taskset and at least two CPUs, the load generator (this process,
 * every thread) goes on CPU 0 and the servers on CPU 1, so that they never compete for a core.
 */
export function setUpPinning(enabled) {
  const cpus = os.cpus().length;
  if (!enabled) return { pinned: false, note: 'not pinned (--no-pin)' };
  if (cpus < 2) return { pinned: false, note: `not pinned: only ${cpus} CPU` };
  if (!hasTaskset()) return { pinned: false, note: 'not pinned: taskset not found (util-linux)' };
  execFileSync('taskset', ['-a', '-p', '-c', '0', String(process.pid)], { stdio: 'ignore' });
  return {
    pinned: true,
    loadCpu: 0,
    serverCpu: 1,
    note: 'server pinned to CPU 1 and load generator to CPU 0 (taskset)',
  };
}

export class ServerProcess {
  /**
   * name: label in the report; kind: rfc6455 | ws | raw; deflate: offer permessage-deflate;
   */
  static async start({ name, kind, deflate = false, pinning }) {
    const nodeArgs = ['--expose-gc'];
    const argv = [...nodeArgs, SERVER_SCRIPT, kind, ...(deflate ? ['--deflate'] : [])];
    const [command, args] = pinning.pinned
      ? ['taskset', ['-c', String(pinning.serverCpu), process.execPath, ...argv]]
      : [process.execPath, argv];
    const child = spawn(command, args, { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const server = new ServerProcess(name, kind, child);
    await server.ready;
    return server;
  }

  constructor(name, kind, child) {
    this.name = name;
    this.kind = kind;
    this.child = child;
    this.port = 0;
    this.pending = new Map();
    this.nextId = 1;
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    this.ready = new Promise((resolve, reject) => {
      child.once('error', reject);
      child.once('exit', (code) =>
        reject(new Error(`The ${name} server exited (${code}) before it was ready`)),
      );
      child.on('message', (message) => {
        if (message.ready) {
          this.port = message.port;
          resolve();
          return;
        }
        const settle = this.pending.get(message.id);
        if (settle !== undefined) {
          this.pending.delete(message.id);
          settle(message);
        }
      });
    });
  }

  request(cmd, extra = {}) {
    if (this.child.exitCode !== null) return Promise.reject(new Error(`The ${this.name} server has exited`));
    const id = this.nextId++;
    return new Promise((resolve) => {
      this.pending.set(id, resolve);
      this.child.send({ ...extra, id, cmd });
    });
  }

  /** A normal exit, or killed by PID if it does not come. */
  async stop() {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    this.child.send({ id: 0, cmd: 'exit' });
    await this.exited;
    clearTimeout(timer);
  }
}

/** Whether @rfc6455/node is built and exports a WebSocketServer. */
export async function rfc6455Available() {
  try {
    const module = await import(process.env.BENCH_RFC6455_MODULE ?? '@rfc6455/node');
    return typeof module.WebSocketServer === 'function';
  } catch {
    return false;
  }
}
