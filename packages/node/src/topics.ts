// Topics: subscribe / publish with the frame built once (the codec's PreparedMessage) and the same
// bytes handed to every subscriber, and a Broker that carries publishes between processes.
//
//   wss.publish(topic, data) -> PreparedMessage -> every local subscriber's _sendPrepared()
//                            -> broker.publish(topic, envelope) -> other processes' hubs -> their subscribers
//
// One broker subscription per topic per process (taken with the first local subscriber, dropped with
// the last), never one per socket.

import { randomBytes } from 'node:crypto';
import { PreparedMessage } from '@rfc6455/codec';
import type { SharedDeflate } from '@rfc6455/codec';

/**
 * Carries published messages between processes (or servers). `@rfc6455/redis` has one on Redis
 * pub/sub; `MemoryBroker` links servers in one process. Messages are opaque bytes. Promises that
 * reject make the failure visible to the server ('brokerError').
 */
export interface Broker {
  /** Sends `message` to every handler subscribed to `topic`, on any process (this one included). */
  publish(topic: string, message: Uint8Array): Promise<void>;
  /** Calls `handler` with every message published to `topic` from now on. */
  subscribe(topic: string, handler: (message: Uint8Array) => void): Promise<void>;
  /** Stops calling `handler` for `topic`. */
  unsubscribe(topic: string, handler: (message: Uint8Array) => void): Promise<void>;
}

/** What a slow subscriber (more than its limit of bytes waiting) gets from a publish. */
export type SlowSubscriberPolicy = 'close' | 'drop';

export interface TopicOptions {
  /** Carries publishes to other servers (default: none, this server's sockets only). */
  broker?: Broker;
  /**
   * A subscriber with more than its limit waiting (its `maxBufferedAmount`, or 16 MiB where that is
   * off): 'close' (default) closes it with 1008 as send() does; 'drop' skips it for this message.
   */
  slowSubscriber?: SlowSubscriberPolicy;
}

export interface PublishOptions {
  /** Send as binary (default: true unless `data` is a string). */
  binary?: boolean;
  /** Compress where permessage-deflate was negotiated (default true; the threshold applies). */
  compress?: boolean;
  /** A subscriber (or several) not to send to, e.g. the sender of the message being relayed. */
  except?: Subscriber | readonly Subscriber[];
}

/** The part of a WebSocket the hub uses (websocket.ts implements it; no import, no cycle). */
export interface Subscriber {
  readonly readyState: number;
  /** Writes the message's frame; false when the socket is not open or was skipped as slow. */
  _sendPrepared(message: PreparedMessage, slow: SlowSubscriberPolicy): boolean;
  on(event: 'close', listener: (this: Subscriber) => void): unknown;
  off(event: 'close', listener: (this: Subscriber) => void): unknown;
}

/** The default bound on what may wait for a subscriber when its maxBufferedAmount is off. */
export const DEFAULT_PUBLISH_MAX_BUFFERED = 16 * 1024 * 1024;

// Envelope of a message on the broker: version, flags (binary, compress), the publishing hub's id
// (16 bytes: a hub ignores its own messages, which it delivered locally already), then the payload.
const ENVELOPE_VERSION = 1;
const HEAD = 18;
const FLAG_BINARY = 1;
const FLAG_COMPRESS = 2;

export function encodeEnvelope(
  origin: Uint8Array,
  binary: boolean,
  compress: boolean,
  data: Uint8Array,
): Buffer {
  const out = Buffer.allocUnsafe(HEAD + data.byteLength);
  out[0] = ENVELOPE_VERSION;
  out[1] = (binary ? FLAG_BINARY : 0) | (compress ? FLAG_COMPRESS : 0);
  out.set(origin, 2);
  out.set(data, HEAD);
  return out;
}

export function decodeEnvelope(
  message: Uint8Array,
): { origin: Uint8Array; binary: boolean; compress: boolean; data: Uint8Array } | null {
  if (message.byteLength < HEAD || message[0] !== ENVELOPE_VERSION) return null;
  const flags = message[1]!;
  return {
    origin: message.subarray(2, HEAD),
    binary: (flags & FLAG_BINARY) !== 0,
    compress: (flags & FLAG_COMPRESS) !== 0,
    data: message.subarray(HEAD),
  };
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false;
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false;
  return true;
}

function toBytes(data: string | ArrayBufferView | ArrayBuffer): string | Uint8Array {
  if (typeof data === 'string' || data instanceof Uint8Array) return data;
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  throw new TypeError('publish() takes a string, a Buffer, a TypedArray, a DataView or an ArrayBuffer');
}

function checkTopic(topic: unknown, method: string): asserts topic is string {
  if (typeof topic !== 'string' || topic === '') {
    throw new TypeError(`${method}: the topic must be a non-empty string, got ${JSON.stringify(topic)}`);
  }
}

/** A server's topics: who is subscribed to what, publishing, and the broker link. */
export class TopicHub {
  /** This hub's id in envelopes. */
  readonly id: Uint8Array = randomBytes(16);
  private readonly subscribers = new Map<string, Set<Subscriber>>();
  private readonly memberships = new Map<Subscriber, Set<string>>();
  private readonly broker: Broker | null;
  private readonly slow: SlowSubscriberPolicy;
  private readonly deflate: SharedDeflate | undefined;
  private readonly onBrokerError: (err: Error, topic: string) => void;
  /** Per topic, the handler given to the broker (one per topic per process). */
  private readonly handlers = new Map<string, (message: Uint8Array) => void>();
  private readonly onClose: (this: Subscriber) => void;

  constructor(
    options: TopicOptions,
    deflate: SharedDeflate | undefined,
    onBrokerError: (err: Error, topic: string) => void,
  ) {
    if (options.slowSubscriber !== undefined && !['close', 'drop'].includes(options.slowSubscriber)) {
      throw new Error(
        `topics.slowSubscriber must be 'close' or 'drop', got ${String(options.slowSubscriber)}`,
      );
    }
    this.broker = options.broker ?? null;
    this.slow = options.slowSubscriber ?? 'close';
    this.deflate = deflate;
    this.onBrokerError = onBrokerError;
    // One listener for every subscribed socket; 'close' calls it with the socket as `this`.
    const unsubscribeAll = (ws: Subscriber): void => this.unsubscribeAll(ws);
    this.onClose = function (this: Subscriber) {
      unsubscribeAll(this);
    };
  }

  subscribe(ws: Subscriber, topic: string): boolean {
    checkTopic(topic, 'subscribe()');
    // A closed socket would never be removed (its 'close' is over).
    if (ws.readyState !== 1) return false;
    let mine = this.memberships.get(ws);
    if (mine?.has(topic)) return false;
    if (mine === undefined) {
      mine = new Set();
      this.memberships.set(ws, mine);
      ws.on('close', this.onClose);
    }
    mine.add(topic);
    let set = this.subscribers.get(topic);
    if (set === undefined) {
      set = new Set();
      this.subscribers.set(topic, set);
      this.brokerSubscribe(topic);
    }
    set.add(ws);
    return true;
  }

  unsubscribe(ws: Subscriber, topic: string): boolean {
    checkTopic(topic, 'unsubscribe()');
    const mine = this.memberships.get(ws);
    if (mine === undefined || !mine.delete(topic)) return false;
    if (mine.size === 0) {
      this.memberships.delete(ws);
      ws.off('close', this.onClose);
    }
    this.leave(ws, topic);
    return true;
  }

  isSubscribed(ws: Subscriber, topic: string): boolean {
    return this.memberships.get(ws)?.has(topic) ?? false;
  }

  topicsOf(ws: Subscriber): string[] {
    const mine = this.memberships.get(ws);
    return mine === undefined ? [] : [...mine];
  }

  /** How many local sockets are subscribed to `topic`. */
  subscriberCount(topic: string): number {
    return this.subscribers.get(topic)?.size ?? 0;
  }

  /** Delivers to this server's subscribers (returns how many it reached) and hands the message to the broker. */
  publish(topic: string, data: string | ArrayBufferView | ArrayBuffer, options: PublishOptions = {}): number {
    checkTopic(topic, 'publish()');
    const message = new PreparedMessage(toBytes(data), {
      binary: options.binary,
      compress: options.compress,
      deflate: this.deflate,
    });
    const reached = this.deliver(topic, message, options.except);
    const broker = this.broker;
    if (broker !== null) {
      const envelope = encodeEnvelope(this.id, message.binary, message.compress, message.data);
      broker.publish(topic, envelope).catch((err: unknown) => this.onBrokerError(asError(err), topic));
    }
    return reached;
  }

  private deliver(topic: string, message: PreparedMessage, except: PublishOptions['except']): number {
    const set = this.subscribers.get(topic);
    if (set === undefined) return 0;
    let reached = 0;
    // A copy: a slow subscriber closed by the policy (or a handler) may leave the set meanwhile.
    for (const ws of set.size === 1 ? set : [...set]) {
      if (except !== undefined && (except === ws || (Array.isArray(except) && except.includes(ws)))) continue;
      if (ws._sendPrepared(message, this.slow)) reached++;
    }
    return reached;
  }

  private unsubscribeAll(ws: Subscriber): void {
    const mine = this.memberships.get(ws);
    if (mine === undefined) return;
    this.memberships.delete(ws);
    ws.off('close', this.onClose);
    for (const topic of mine) this.leave(ws, topic);
  }

  private leave(ws: Subscriber, topic: string): void {
    const set = this.subscribers.get(topic);
    if (set === undefined) return;
    set.delete(ws);
    if (set.size > 0) return;
    this.subscribers.delete(topic);
    const handler = this.handlers.get(topic);
    if (handler !== undefined && this.broker !== null) {
      this.handlers.delete(topic);
      this.broker
        .unsubscribe(topic, handler)
        .catch((err: unknown) => this.onBrokerError(asError(err), topic));
    }
  }

  private brokerSubscribe(topic: string): void {
    const broker = this.broker;
    if (broker === null) return;
    const handler = (bytes: Uint8Array): void => {
      const envelope = decodeEnvelope(bytes);
      if (envelope === null || sameBytes(envelope.origin, this.id)) return;
      const message = new PreparedMessage(envelope.data, {
        binary: envelope.binary,
        compress: envelope.compress,
        deflate: this.deflate,
      });
      this.deliver(topic, message, undefined);
    };
    this.handlers.set(topic, handler);
    broker.subscribe(topic, handler).catch((err: unknown) => this.onBrokerError(asError(err), topic));
  }
}

function asError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}

/**
 * A broker inside one process: links several WebSocketServers (tests, or one process serving several
 * ports). Delivery is synchronous and in publish order.
 */
export class MemoryBroker implements Broker {
  private readonly handlers = new Map<string, Set<(message: Uint8Array) => void>>();

  publish(topic: string, message: Uint8Array): Promise<void> {
    const set = this.handlers.get(topic);
    if (set !== undefined) for (const handler of [...set]) handler(message);
    return Promise.resolve();
  }

  subscribe(topic: string, handler: (message: Uint8Array) => void): Promise<void> {
    let set = this.handlers.get(topic);
    if (set === undefined) this.handlers.set(topic, (set = new Set()));
    set.add(handler);
    return Promise.resolve();
  }

  unsubscribe(topic: string, handler: (message: Uint8Array) => void): Promise<void> {
    const set = this.handlers.get(topic);
    set?.delete(handler);
    if (set?.size === 0) this.handlers.delete(topic);
    return Promise.resolve();
  }

  /** Topics with at least one handler (one per subscribed server). */
  get topics(): string[] {
    return [...this.handlers.keys()];
  }
}
