// RFC 7692: the permessage-deflate extension.
// The interfaces below are the contract between negotiation (this file) and the connection;
// compression itself is injected, so the codec stays free of zlib.

/** Negotiated RFC 7692 parameters, named by the side that they constrain. */
export interface PerMessageDeflateParams {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  /** 8..15; 15 when absent. */
  serverMaxWindowBits: number;
  /** 8..15; 15 when absent. */
  clientMaxWindowBits: number;
}

/** Synchronous raw-DEFLATE compressor for the messages this side sends. */
export interface MessageCompressor {
  /**
   * Compresses a whole message payload and returns the bytes without the trailing 00 00 ff ff
   * (RFC 7692 7.2.1). Context takeover, when negotiated, is the implementation's business.
   */
  compress(data: Uint8Array): Uint8Array;
  /** Frees native resources. */
  close?(): void;
}

export type InflateResult =
  | { ok: true; data: Uint8Array[] }
  | { ok: false; reason: 'too-big' | 'corrupt'; message: string };

/**
 * Synchronous raw-INFLATE for the messages this side receives. Called once per received frame of a
 * compressed message; `fin` is true on the message's last frame, when the implementation appends
 * 00 00 ff ff (RFC 7692 7.2.2). It stops as soon as the output passes `maxOutput` bytes and reports
 * 'too-big'.
 */
export interface MessageDecompressor {
  decompress(data: Uint8Array, fin: boolean, maxOutput: number): InflateResult;
  close?(): void;
}

/** What a connection needs when permessage-deflate was negotiated. */
export interface PerMessageDeflate {
  params: PerMessageDeflateParams;
  compressor: MessageCompressor;
  decompressor: MessageDecompressor;
  /** Messages smaller than this many bytes are sent uncompressed (default 0: compress everything). */
  threshold?: number;
}
