// Test helpers shared by the integration tests (not part of the build).
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from '../index.js';
import type { ServerOptions, WebSocket } from '../index.js';

export async function listen(
  options: Omit<ServerOptions, 'port'> = {},
): Promise<{ wss: WebSocketServer; port: number; url: string }> {
  const wss = new WebSocketServer({ ...options, port: 0, host: '127.0.0.1' });
  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  const port = (wss.address() as AddressInfo).port;
  return { wss, port, url: `ws://127.0.0.1:${port}` };
}

export function closeServer(wss: WebSocketServer): Promise<void> {
  return new Promise((resolve) => wss.close(() => resolve()));
}

/** Resolves with the first event of that name, with its arguments. */
export function once<T extends unknown[] = unknown[]>(
  emitter: { once(e: string, l: (...a: never[]) => void): unknown },
  event: string,
): Promise<T> {
  return new Promise((resolve) => emitter.once(event, (...args: unknown[]) => resolve(args as T)));
}

export function opened(ws: WebSocket): Promise<void> {
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('close', (code: number) => reject(new Error(`closed with ${code} before open`)));
  });
}

export function closed(ws: {
  once(e: 'close', l: (code: number, reason: Buffer) => void): unknown;
}): Promise<[number, string]> {
  return new Promise((resolve) =>
    ws.once('close', (code: number, reason: Buffer) => resolve([code, reason.toString()])),
  );
}

/** Collects `n` messages as [data, isBinary]. */
export function messages(
  ws: WebSocket,
  n: number,
): Promise<[Buffer | ArrayBuffer | Buffer[] | Blob, boolean][]> {
  return new Promise((resolve) => {
    const got: [Buffer | ArrayBuffer | Buffer[] | Blob, boolean][] = [];
    if (n === 0) return resolve(got);
    const on = (data: Buffer | ArrayBuffer | Buffer[] | Blob, isBinary: boolean): void => {
      got.push([data, isBinary]);
      if (got.length === n) {
        ws.off('message', on);
        resolve(got);
      }
    };
    ws.on('message', on);
  });
}

/** A server whose every connection echoes messages back as they came. */
export async function echoServer(options: Omit<ServerOptions, 'port'> = {}) {
  const s = await listen(options);
  s.wss.on('connection', (ws) => {
    ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  });
  return s;
}
