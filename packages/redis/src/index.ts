// @rfc6455/redis: a Broker for @rfc6455/node's topics on Redis pub/sub (ioredis).
//
//   wss.publish(topic, data) -> PUBLISH <prefix><topic> <envelope>   (one publisher connection)
//   SUBSCRIBE <prefix><topic> (one per topic per process)  -> the hub -> its local subscribers
//
// Redis pub/sub is at-most-once: a message published while a process's subscriber connection is
// down is not delivered to that process, ever. Publishes while the publisher connection is down fail
// at once (no offline queue): the server reports them as 'brokerError' and still delivers locally.

import { EventEmitter } from 'node:events';
import { Redis } from 'ioredis';
import type { RedisOptions } from 'ioredis';
import type { Broker } from '@rfc6455/node';

export interface RedisBrokerOptions {
  /** Put before every topic to make the Redis channel name (default 'rfc6455:'). */
  prefix?: string;
  /** ioredis options for both connections (retry strategy, TLS, password, ...). */
  redis?: ConnectionOptions;
}

type Handler = (message: Uint8Array) => void;
/** ioredis's RedisOptions (its replyMapping is typed two ways, which exactOptionalPropertyTypes rejects). */
export type ConnectionOptions = Omit<RedisOptions, 'replyMapping'>;

/** Reconnect after 50 ms, 100 ms, ... at most 1 s apart, forever (ioredis's retryStrategy). */
function retry(times: number): number {
  return Math.min(times * 50, 1000);
}

/**
 * Two Redis connections (a subscribed connection cannot publish): `publisher` fails fast while Redis
 * is unreachable, `subscriber` reconnects and subscribes again to every topic by itself.
 * 'error' events carry connection errors; 'ready' fires on each (re)connection of the subscriber.
 */
export class RedisBroker extends EventEmitter implements Broker {
  readonly publisher: Redis;
  readonly subscriber: Redis;
  readonly prefix: string;
  private readonly handlers = new Map<string, Set<Handler>>();

  constructor(url: string, options: RedisBrokerOptions = {}) {
    super();
    this.prefix = options.prefix ?? 'rfc6455:';
    const common: ConnectionOptions = { retryStrategy: retry, ...options.redis };
    // No offline queue: a publish while Redis is down fails now rather than going out late.
    this.publisher = new Redis(url, { enableOfflineQueue: false, ...common });
    // Subscriptions made while down wait for the connection; ioredis re-subscribes after a reconnect.
    this.subscriber = new Redis(url, { autoResubscribe: true, ...common });
    const onError = (err: Error): void => {
      if (this.listenerCount('error') > 0) this.emit('error', err);
    };
    this.publisher.on('error', onError);
    this.subscriber.on('error', onError);
    this.subscriber.on('ready', () => this.emit('ready'));
    this.subscriber.on('messageBuffer', (channel: Buffer, message: Buffer) => {
      const set = this.handlers.get(channel.toString('utf8'));
      if (set !== undefined) for (const handler of [...set]) handler(message);
    });
  }

  async publish(topic: string, message: Uint8Array): Promise<void> {
    await this.publisher.publish(
      this.prefix + topic,
      Buffer.from(message.buffer, message.byteOffset, message.byteLength),
    );
  }

  async subscribe(topic: string, handler: Handler): Promise<void> {
    const channel = this.prefix + topic;
    let set = this.handlers.get(channel);
    if (set === undefined) {
      this.handlers.set(channel, (set = new Set()));
      set.add(handler);
      await this.subscriber.subscribe(channel);
      return;
    }
    set.add(handler);
  }

  async unsubscribe(topic: string, handler: Handler): Promise<void> {
    const channel = this.prefix + topic;
    const set = this.handlers.get(channel);
    if (set === undefined || !set.delete(handler) || set.size > 0) return;
    this.handlers.delete(channel);
    await this.subscriber.unsubscribe(channel);
  }

  /**
   * Resolves once both connections are connected, false after `timeoutMs` without (a start-up check:
   * until the publisher is connected, publishes reach only this process's subscribers).
   */
  ready(timeoutMs = 5000): Promise<boolean> {
    const connected = (redis: Redis): Promise<void> =>
      redis.status === 'ready'
        ? Promise.resolve()
        : new Promise((resolve) => redis.once('ready', () => resolve()));
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)));
    const both = Promise.all([connected(this.publisher), connected(this.subscriber)]).then(() => true);
    return Promise.race([both, late]).finally(() => clearTimeout(timer));
  }

  /** Closes both connections. */
  async close(): Promise<void> {
    this.handlers.clear();
    await Promise.allSettled([this.publisher.quit(), this.subscriber.quit()]);
    this.publisher.disconnect();
    this.subscriber.disconnect();
  }
}
