// Size limits for received data, checked from frame headers before any payload is buffered
// (a peer must not make us allocate what it only announced).

export interface Limits {
  /** Largest frame payload accepted; a larger announced length closes with 1009 at once. */
  maxFramePayload: number;
  /** Largest message, summed over its fragments and measured after decompression; larger closes with 1009. */
  maxMessageSize: number;
}

export const DEFAULT_LIMITS: Readonly<Limits> = {
  maxFramePayload: 16 * 1024 * 1024,
  maxMessageSize: 64 * 1024 * 1024,
};

/** Fills in defaults and checks the values: each a non-negative safe integer (Infinity is not a limit). */
export function resolveLimits(options: { [K in keyof Limits]?: number | undefined }): Limits {
  const frame = options.maxFramePayload;
  const message = options.maxMessageSize;
  // Connections without limits of their own share the defaults.
  if (frame === undefined && message === undefined) return DEFAULT_LIMITS;
  return {
    maxFramePayload: checkLimit('maxFramePayload', frame ?? DEFAULT_LIMITS.maxFramePayload),
    maxMessageSize: checkLimit('maxMessageSize', message ?? DEFAULT_LIMITS.maxMessageSize),
  };
}

function checkLimit(name: keyof Limits, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new Error(
      `${name} must be a whole number of bytes between 0 and Number.MAX_SAFE_INTEGER (got ${String(value)}); ` +
        'leave it out for the default.',
    );
  }
  return value;
}
