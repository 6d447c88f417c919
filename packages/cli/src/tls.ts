// `rfc6455 serve --tls-self-signed`: a throwaway certificate for localhost and 127.0.0.1, made with
// openssl when the server starts (Node cannot write X.509 by itself), valid for one day.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UsageError } from './args.js';

export function selfSignedCertificate(): { key: Buffer; cert: Buffer } {
  const dir = mkdtempSync(join(tmpdir(), 'rfc6455-serve-cert-'));
  try {
    const keyFile = join(dir, 'key.pem');
    const certFile = join(dir, 'cert.pem');
    // An EC key: quick to make, and what browsers handshake with fastest.
    const args = [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=DNS:localhost,IP:127.0.0.1,IP:::1',
      '-days',
      '1',
      '-keyout',
      keyFile,
      '-out',
      certFile,
    ];
    try {
      execFileSync('openssl', args, { stdio: 'ignore' });
    } catch (error) {
      throw new UsageError(
        `--tls-self-signed needs openssl (${(error as Error).message}); install it, or pass --tls-cert and --tls-key`,
      );
    }
    return { key: readFileSync(keyFile), cert: readFileSync(certFile) };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
