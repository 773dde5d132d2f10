import { generateKeyPair } from 'node:crypto';
import { promisify } from 'node:util';
import { generate } from 'selfsigned';

/**
 * The certificate TLS listeners present. There is no ACM: whatever certificate ARN a
 * listener names, it serves one self-signed certificate generated for the emulator, for
 * `*.elb.<region>.amazonaws.com` (every NLB DNS name) and `localhost`. Clients verify it
 * by trusting `emu.dataPlane.certificatePem` and connecting by DNS name (or passing it
 * as the TLS server name). The key is made off the main thread; the first TLS
 * connection waits for it.
 */
export interface Pem {
  readonly cert: string;
  readonly key: string;
}

export class Certificates {
  private pending: Promise<Pem> | undefined;
  private ready: Pem | undefined;

  constructor(private readonly region: string) {}

  get current(): Pem | undefined {
    return this.ready;
  }

  get(): Promise<Pem> {
    this.pending ??= this.make().then((pem) => (this.ready = pem));
    return this.pending;
  }

  private async make(): Promise<Pem> {
    const { publicKey, privateKey } = await promisify(generateKeyPair)('rsa', {
      modulusLength: 2048,
      publicKeyEncoding: { type: 'spki', format: 'pem' },
      privateKeyEncoding: { type: 'pkcs1', format: 'pem' },
    });
    const wildcard = `*.elb.${this.region}.amazonaws.com`;
    // selfsigned signs with a given key pair (its `keyPair` option is missing from its typings).
    const options = {
      keyPair: { publicKey, privateKey },
      days: 365,
      algorithm: 'sha256',
      extensions: [
        { name: 'basicConstraints', cA: true },
        { name: 'keyUsage', keyCertSign: true, digitalSignature: true, keyEncipherment: true },
        { name: 'extKeyUsage', serverAuth: true },
        { name: 'subjectAltName', altNames: [{ type: 2, value: wildcard }, { type: 2, value: 'localhost' }] },
      ],
    } as Parameters<typeof generate>[1];
    const pems = generate([{ name: 'commonName', value: wildcard }], options);
    return { cert: pems.cert, key: privateKey };
  }
}
