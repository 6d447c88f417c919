// Differential testing against `ws`: the same scenario, run once with `ws` and once with
// @rfc6455/node, must give the same observable behaviour.
//
//   describe.each(LIBS)('%s', (_name, lib) => { test('…', async () => { new lib.WebSocketServer(…) … }) });
//
// The two libraries' TypeScript types differ in details no scenario depends on, so a scenario sees
// both through the small structural view below (what a program moving from `ws` uses).
import type { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import * as wsModule from 'ws';
import * as ours from '../index.js';

/** The part of a WebSocket both libraries share. */
export interface DiffSocket extends EventEmitter {
  readonly readyState: number;
  readonly protocol: string;
  readonly extensions: string;
  readonly url: string;
  readonly bufferedAmount: number;
  binaryType: string;
  readonly isPaused: boolean;
  readonly CONNECTING: number;
  readonly OPEN: number;
  readonly CLOSING: number;
  readonly CLOSED: number;
  onopen: ((event: { type: string; target: unknown }) => void) | null;
  onmessage: ((event: { type: string; data: unknown; target: unknown }) => void) | null;
  onerror: ((event: { type: string; error: unknown; message: string }) => void) | null;
  onclose: ((event: { type: string; code: number; reason: string; wasClean: boolean }) => void) | null;
  addEventListener(type: string, listener: (event: never) => void, options?: { once?: boolean }): void;
  send(data: unknown, options?: object | ((err?: Error) => void), cb?: (err?: Error) => void): void;
  ping(data?: unknown, mask?: boolean | ((err?: Error) => void), cb?: (err?: Error) => void): void;
  pong(data?: unknown, mask?: boolean | ((err?: Error) => void), cb?: (err?: Error) => void): void;
  close(code?: number, reason?: string | Buffer): void;
  terminate(): void;
  pause(): void;
  resume(): void;
}

/** The part of a WebSocketServer both libraries share. */
export interface DiffServer extends EventEmitter {
  readonly clients: Set<DiffSocket> | undefined;
  address(): AddressInfo | string | null;
  close(cb?: (err?: Error) => void): void;
  handleUpgrade(
    req: unknown,
    socket: unknown,
    head: Buffer,
    cb: (ws: DiffSocket, req: unknown) => void,
  ): void;
  shouldHandle(req: unknown): boolean;
}

export interface Lib {
  readonly name: 'ws' | 'rfc6455';
  readonly WebSocket: {
    new (url: string | URL, protocols?: string | string[] | object, options?: object): DiffSocket;
    readonly CONNECTING: number;
    readonly OPEN: number;
    readonly CLOSING: number;
    readonly CLOSED: number;
    readonly prototype: DiffSocket;
  };
  readonly WebSocketServer: new (options: object, callback?: () => void) => DiffServer;
  readonly createWebSocketStream: (ws: DiffSocket, options?: object) => NodeJS.ReadWriteStream;
}

function view(name: Lib['name'], module: unknown): Lib {
  const m = module as Omit<Lib, 'name'>;
  return {
    name,
    WebSocket: m.WebSocket,
    WebSocketServer: m.WebSocketServer,
    createWebSocketStream: m.createWebSocketStream,
  };
}

export const WS: Lib = view('ws', wsModule);
export const OURS: Lib = view('rfc6455', ours);

/** For describe.each: [name, lib] rows, `ws` first. */
export const LIBS: [Lib['name'], Lib][] = [
  ['ws', WS],
  ['rfc6455', OURS],
];

/** A server of `lib` on 127.0.0.1 and a free port; `url` is its ws:// address. */
export async function listenWith(
  lib: Lib,
  options: object = {},
): Promise<{ wss: DiffServer; port: number; url: string }> {
  const wss = new lib.WebSocketServer({ ...options, port: 0, host: '127.0.0.1' });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  const port = (wss.address() as AddressInfo).port;
  return { wss, port, url: `ws://127.0.0.1:${port}` };
}

/** Closes a server of either library, terminating what is still connected. */
export function shutdown(wss: DiffServer): Promise<void> {
  for (const c of wss.clients ?? []) c.terminate();
  return new Promise((resolve) => wss.close(() => resolve()));
}

/** Records every event of `names` on `emitter` in order, as [name, ...args]. */
export function record(emitter: EventEmitter, names: string[]): unknown[][] {
  const log: unknown[][] = [];
  for (const name of names) emitter.on(name, (...args: unknown[]) => log.push([name, ...args]));
  return log;
}

/** Resolves with the arguments of the next `event`, or rejects after `ms`. */
export function next<T extends unknown[] = unknown[]>(
  emitter: EventEmitter,
  event: string,
  ms = 5000,
): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no '${event}' within ${ms} ms`)), ms);
    emitter.once(event, (...args: unknown[]) => {
      clearTimeout(timer);
      resolve(args as T);
    });
  });
}
