import { connect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { localHeader } from './proxy-protocol';

/**
 * One active health check, the way an NLB node sends it:
 * - TCP: the check passes when the connection is established, and is closed at once.
 * - HTTP/HTTPS: `GET <path>` with `Host: <node IP>:<listener port>` (the guide: "the host
 *   header contains the IP address of the load balancer node and the listener port, not
 *   the IP address of the target and the health check port"); it passes when the status
 *   code is in the matcher. HTTPS does not verify the target's certificate, sends no
 *   SNI, and offers at most TLS 1.2 ("targets that support only TLS 1.3 fail").
 * With proxy protocol v2 on, the connection starts with a LOCAL header.
 *
 * Failures carry AWS's reason codes: no answer within the timeout (which is also what a
 * security group dropping the SYN looks like) is Target.Timeout; a refused or reset
 * connection or a malformed response is Target.FailedHealthChecks; a status outside the
 * matcher is Target.ResponseCodeMismatch.
 */
export type ProbeResult =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'Target.Timeout' | 'Target.FailedHealthChecks' }
  | { readonly ok: false; readonly reason: 'Target.ResponseCodeMismatch'; readonly code: number };

export interface ProbeSpec {
  readonly protocol: string;
  /** The address and port to dial (already mapped to a local address). */
  readonly address: string;
  readonly port: number;
  /** The node's local address, which the check comes from. */
  readonly from: string | undefined;
  readonly path: string;
  readonly matcher: string;
  readonly hostHeader: string;
  readonly timeoutMs: number;
  readonly proxyProtocol: boolean;
  /** A security group drops the check: nothing is sent and it times out. */
  readonly blocked: boolean;
}

export interface Probe {
  readonly result: Promise<ProbeResult>;
  cancel(): void;
}

/** Whether a status code is in an NLB matcher such as `200-399` or `200,202,300-310`. */
export function matches(matcher: string, code: number): boolean {
  return matcher.split(',').some((part) => {
    const [low, high = low] = part.split('-').map(Number);
    return low !== undefined && high !== undefined && code >= low && code <= high;
  });
}

export function probe(spec: ProbeSpec): Probe {
  let finish: (result: ProbeResult) => void = () => {};
  const sockets: Socket[] = [];
  const result = new Promise<ProbeResult>((resolve) => {
    let done = false;
    finish = (outcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      for (const socket of sockets) socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish({ ok: false, reason: 'Target.Timeout' }), spec.timeoutMs);
    timer.unref();
    if (spec.blocked) return;
    const failed = (): void => finish({ ok: false, reason: 'Target.FailedHealthChecks' });
    const raw = connect({ host: spec.address, port: spec.port, ...(spec.from ? { localAddress: spec.from } : {}) });
    sockets.push(raw);
    raw.on('error', failed);
    raw.once('connect', () => {
      if (spec.protocol === 'TCP') {
        if (spec.proxyProtocol) raw.end(localHeader());
        else raw.end();
        finish({ ok: true });
        return;
      }
      if (spec.proxyProtocol) raw.write(localHeader());
      const stream = spec.protocol === 'HTTPS' ? tlsConnect({ socket: raw, rejectUnauthorized: false, maxVersion: 'TLSv1.2' }) : raw;
      if (stream !== raw) {
        sockets.push(stream);
        stream.on('error', failed);
      }
      const request = `GET ${spec.path} HTTP/1.1\r\nHost: ${spec.hostHeader}\r\nUser-Agent: ELB-HealthChecker/2.0\r\nAccept: */*\r\nConnection: close\r\n\r\n`;
      const send = (): void => void stream.write(request);
      if (stream === raw) send();
      else stream.once('secureConnect', send);
      let head = '';
      stream.setEncoding('latin1');
      stream.on('data', (chunk: string) => {
        head += chunk;
        const end = head.indexOf('\r\n');
        if (end < 0) {
          if (head.length > 8192) failed();
          return;
        }
        const status = /^HTTP\/1\.[01] (\d{3})(?: |$)/.exec(head.slice(0, end));
        if (!status) return failed();
        const code = Number(status[1]);
        finish(matches(spec.matcher, code) ? { ok: true } : { ok: false, reason: 'Target.ResponseCodeMismatch', code });
      });
      stream.on('end', failed);
      stream.on('close', failed);
    });
  });
  return { result, cancel: () => finish({ ok: false, reason: 'Target.Timeout' }) };
}
