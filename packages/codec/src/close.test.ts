import {
  CloseCode,
  MAX_CLOSE_REASON_BYTES,
  PROTOCOL_ERRORS,
  decodeClosePayload,
  encodeClosePayload,
  isValidCloseCode as isReceivableCloseCode,
  isValidCloseCode as isSendableCloseCode,
} from './close.js';

const allowed = (code: number) =>
  (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);

describe('7.4 Status Codes', () => {
  test('codes a peer may send', () => {
    for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 4999]) {
      expect(isReceivableCloseCode(code)).toBe(true);
    }
    for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 2000, 2999, 5000, 65535]) {
      expect(isReceivableCloseCode(code)).toBe(false);
    }
    const disagreements: number[] = [];
    for (let code = 0; code < 65536; code++)
      if (isReceivableCloseCode(code) !== allowed(code)) disagreements.push(code);
    expect(disagreements).toEqual([]);
  });

  test('codes we may send: the same set, and encoding refuses the rest with a helpful message', () => {
    const disagreements: number[] = [];
    for (let code = 0; code < 65536; code++)
      if (isSendableCloseCode(code) !== allowed(code)) disagreements.push(code);
    expect(disagreements).toEqual([]);
    for (const code of [
      CloseCode.NoStatus,
      CloseCode.Abnormal,
      CloseCode.TlsHandshake,
      1004,
      999,
      5000,
      1000.5,
    ]) {
      expect(() => encodeClosePayload(code)).toThrow(/may not be sent.*1000-1003, 1007-1014 or 3000-4999/);
    }
  });
});

describe('5.5.1 Close', () => {
  test('encodes code and reason; no code means an empty payload', () => {
    expect(encodeClosePayload(1000, 'bye')).toEqual(Uint8Array.of(0x03, 0xe8, 0x62, 0x79, 0x65));
    expect(encodeClosePayload(4999)).toEqual(Uint8Array.of(0x13, 0x87));
    expect(encodeClosePayload()).toEqual(new Uint8Array(0));
    expect(() => encodeClosePayload(undefined, 'why')).toThrow(/needs a close code/);
  });

  test('the reason may take 123 bytes of UTF-8, not 124', () => {
    expect(encodeClosePayload(1000, 'é'.repeat(61) + 'a')).toHaveLength(125);
    expect(() => encodeClosePayload(1000, 'é'.repeat(62))).toThrow(/124 bytes.*at most 123/);
  });

  test('decodes code and reason; empty payload is 1005', () => {
    expect(decodeClosePayload(encodeClosePayload(3001, 'κόσμε'))).toEqual({
      ok: true,
      code: 3001,
      reason: 'κόσμε',
    });
    expect(decodeClosePayload(new Uint8Array(0))).toEqual({ ok: true, code: 1005, reason: '' });
  });

  test('a one-byte payload, a forbidden code, or a reason that is not UTF-8 are violations', () => {
    expect(decodeClosePayload(Uint8Array.of(0x03))).toEqual({ ok: false, error: 'close-payload-length' });
    for (const code of [1004, 1005, 1006, 1015, 1016, 2999, 999, 5000]) {
      expect(decodeClosePayload(Uint8Array.of(code >> 8, code & 0xff))).toEqual({
        ok: false,
        error: 'invalid-close-code',
      });
    }
    expect(decodeClosePayload(Uint8Array.of(0x03, 0xe8, 0xce, 0xba, 0xed, 0xa0, 0x80))).toEqual({
      ok: false,
      error: 'invalid-close-reason',
    });
    expect(decodeClosePayload(Uint8Array.of(0x03, 0xe8, 0xce))).toEqual({
      ok: false,
      error: 'invalid-close-reason',
    });
  });
});

describe('7.1.7 Fail the WebSocket Connection: the violation table', () => {
  test('every reason fits in a close frame and every code is sendable', () => {
    for (const { code, reason } of Object.values(PROTOCOL_ERRORS)) {
      expect(new TextEncoder().encode(reason).length).toBeLessThanOrEqual(MAX_CLOSE_REASON_BYTES);
      expect([1002, 1007, 1009]).toContain(code);
      expect(() => encodeClosePayload(code, reason)).not.toThrow();
    }
  });

  test('UTF-8 problems are 1007, sizes 1009, the rest 1002', () => {
    for (const [kind, { code }] of Object.entries(PROTOCOL_ERRORS)) {
      const expected = /utf8|reason|inflate/.test(kind) ? 1007 : /too-big/.test(kind) ? 1009 : 1002;
      expect([kind, code]).toEqual([kind, expected]);
    }
  });
});
