// Spawning the echo servers (each in its own process, pinned when taskset is there) and talking
// to them over IPC.
import { spawn, execFileSync } from 'node:child_process';
import type { ChildProcess, Serializable } from 'node:child_process';
import type { EventLoopUtilization } from 'node:perf_hooks';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MemorySample } from './loadgen.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const SERVER_SCRIPT = path.join(here, 'server.js');

export type ServerKind = 'rfc6455' | 'ws' | 'raw';

// ---- the IPC protocol with server.js ----

/** What the benchmark asks a server (server.js answers each with the same id). */
export type ServerCommand =
  | { id: number; cmd: 'profile-start' | 'usage' | 'gc' | 'exit' }
  | { id: number; cmd: 'profile-stop'; file: string };

export interface Ack {
  id: number;
}
export interface UsageReply extends Ack {
  cpuMicros: number;
  elu: EventLoopUtilization;
  rss: number;
}
export interface GcReply extends Ack, MemorySample {
  /** False when the server runs without --expose-gc. */
  collected: boolean;
}
interface Replies {
  'profile-start': Ack;
  'profile-stop': Ack;
  usage: UsageReply;
  gc: GcReply;
  exit: Ack;
}
/** The first message a server sends. */
export interface ReadyMessage {
  ready: true;
  port: number;
  pid: number;
}
/** Everything server.js sends. */
export type ServerMessage = ReadyMessage | Ack | UsageReply | GcReply;

function hasTaskset(): boolean {
  try {
    execFileSync('taskset', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export type Pinning =
  { pinned: false; note: string } | { pinned: true; loadCpu: number; serverCpu: number; note: string };

/**
 * Decides where things run. With taskset and at least two CPUs, the load generator (this process,
 * every thread) goes on CPU 0 and the servers on CPU 1, so that they never compete for a core.
 */
export function setUpPinning(enabled: boolean): Pinning {
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
  readonly name: string;
  readonly kind: ServerKind;
  readonly child: ChildProcess;
  port: number;
  readonly pending: Map<number, (message: Ack) => void>;
  nextId: number;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  readonly ready: Promise<void>;

  /**
   * name: label in the report; kind: rfc6455 | ws | raw; deflate: offer permessage-deflate;
   */
  static async start({
    name,
    kind,
    deflate = false,
    pinning,
  }: {
    name: string;
    kind: ServerKind;
    deflate?: boolean;
    pinning: Pinning;
  }): Promise<ServerProcess> {
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

  constructor(name: string, kind: ServerKind, child: ChildProcess) {
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
      child.on('message', (received: Serializable) => {
        const message = received as ServerMessage;
        if ('ready' in message) {
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

  request<C extends keyof Replies>(
    cmd: C,
    ...extra: C extends 'profile-stop' ? [{ file: string }] : []
  ): Promise<Replies[C]> {
    if (this.child.exitCode !== null) return Promise.reject(new Error(`The ${this.name} server has exited`));
    const id = this.nextId++;
    return new Promise((resolve) => {
      // server.js answers `cmd` with Replies[C] (the protocol above).
      this.pending.set(id, resolve as (message: Ack) => void);
      this.child.send({ ...extra[0], id, cmd });
    });
  }

  /** A normal exit, or killed by PID if it does not come. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    const exit: ServerCommand = { id: 0, cmd: 'exit' };
    this.child.send(exit);
    await this.exited;
    clearTimeout(timer);
  }
}

/** Whether @rfc6455/node is built and exports a WebSocketServer. */
export async function rfc6455Available(): Promise<boolean> {
  try {
    const module: unknown = await import(process.env.BENCH_RFC6455_MODULE ?? '@rfc6455/node');
    return (
      typeof module === 'object' &&
      module !== null &&
      'WebSocketServer' in module &&
      typeof module.WebSocketServer === 'function'
    );
  } catch {
    return false;
  }
}
