import { readFile } from 'node:fs/promises';
import { isIP } from 'node:net';
import { generate } from 'selfsigned';

export interface TlsPair {
  cert: string;
  key: string;
  /** PEM of the certificate authority that the API server must trust (the caBundle). */
  ca: string;
  generated: boolean;
}

/** The webhook's serving certificate: the given files, or a fresh self-signed pair for the names. */
export async function loadOrGenerateTls(options: { certFile?: string; keyFile?: string; names: string[] }): Promise<TlsPair> {
  if (options.certFile && options.keyFile) {
    const [cert, key] = await Promise.all([readFile(options.certFile, 'utf8'), readFile(options.keyFile, 'utf8')]);
    return { cert, key, ca: cert, generated: false };
  }
  const names = options.names.length > 0 ? options.names : ['localhost', '127.0.0.1'];
  const pems = generate([{ name: 'commonName', value: names[0]! }], {
    keySize: 2048,
    days: 365,
    algorithm: 'sha256',
    extensions: [
      { name: 'basicConstraints', cA: true },
      { name: 'keyUsage', keyCertSign: true, digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true },
      // Subject alternative names are what the API server checks, not the common name.
      { name: 'subjectAltName', altNames: names.map((n) => (isIP(n) ? { type: 7, ip: n } : { type: 2, value: n })) },
    ],
  });
  return { cert: pems.cert, key: pems.private, ca: pems.cert, generated: true };
}
