import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

/**
 * Hostile HTTPS clients for the webhook's fault suite: raw sockets that write exactly the
 * bytes a probe needs (a lying Content-Length, a chunked body that never ends, one byte per
 * second), and report what the server did and when.
 */
export interface Outcome {
  /** The HTTP status the server answered with, if any reached the client. */
  status: number | undefined;
  /** Milliseconds from connecting until the server closed or reset the connection. */
  closedAfterMs: number;
  /** How the connection ended: the server's close, a reset, or our own deadline. */
  ended: 'closed' | 'reset' | 'deadline';
  /** Body bytes the client managed to hand to its socket. */
  bodyBytesWritten: number;
  response: string;
  /** The client's port, which names the connection on the server's side. */
  localPort: number;
}

export interface Target {
  host: string;
  port: number;
  ca: string;
}

export type BodyWriter = (socket: TLSSocket, wrote: (n: number) => void) => void;

/**
 * Connects over TLS, writes `head` (request line and headers) and then whatever `body`
 * writes, and waits until the server ends the connection or `deadlineMs` passes.
 */
export function probe(target: Target, head: string, body: BodyWriter | undefined, deadlineMs: number): Promise<Outcome> {
  return new Promise((resolve) => {
    const started = Date.now();
    let response = '';
    let written = 0;
    let settled = false;
    let localPort = 0;
    const socket = tlsConnect({ host: target.host, port: target.port, ca: target.ca, servername: 'localhost' });
    socket.once('connect', () => (localPort = socket.localPort ?? 0));
    const finish = (ended: Outcome['ended']) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      const status = /^HTTP\/1\.1 (\d{3})/.exec(response)?.[1];
      resolve({ status: status ? Number(status) : undefined, closedAfterMs: Date.now() - started, ended, bodyBytesWritten: written, response, localPort });
    };
    const timer = setTimeout(() => finish('deadline'), deadlineMs);
    socket.on('secureConnect', () => {
      socket.write(head);
      body?.(socket, (n) => (written += n));
    });
    socket.on('data', (d: Buffer) => {
      // Only the head of the answer matters; a server that streams must not fill our memory.
      if (response.length < 4096) response += d.toString('latin1');
    });
    socket.on('error', (err: NodeJS.ErrnoException) => finish(err.code === 'ECONNRESET' || err.code === 'EPIPE' ? 'reset' : 'closed'));
    socket.on('end', () => finish('closed'));
    socket.on('close', () => finish('closed'));
  });
}

/** Writes `total` bytes as fast as the socket takes them (the server decides when to stop us). */
export function flood(total: number, chunk = 64 * 1024, chunked = false): BodyWriter {
  return (socket, wrote) => {
    const data = Buffer.alloc(chunk, 0x20);
    const frame = chunked ? Buffer.concat([Buffer.from(`${chunk.toString(16)}\r\n`), data, Buffer.from('\r\n')]) : data;
    let sent = 0;
    const pump = () => {
      while (sent < total && !socket.destroyed) {
        const n = Math.min(chunk, total - sent);
        sent += n;
        wrote(n);
        const piece = n === chunk ? frame : chunked ? Buffer.concat([Buffer.from(`${n.toString(16)}\r\n`), data.subarray(0, n), Buffer.from('\r\n')]) : data.subarray(0, n);
        if (!socket.write(piece)) return void socket.once('drain', pump);
      }
    };
    pump();
  };
}

/** One byte every `intervalMs`, forever (until the server cuts the connection). */
export function trickle(intervalMs = 1000): BodyWriter {
  return (socket, wrote) => {
    const timer = setInterval(() => {
      if (socket.destroyed) return clearInterval(timer);
      socket.write('x');
      wrote(1);
    }, intervalMs);
    socket.once('close', () => clearInterval(timer));
  };
}

export function requestHead(path: string, headers: Record<string, string | number>): string {
  return `POST ${path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n${Object.entries(headers)
    .map(([k, v]) => `${k}: ${v}\r\n`)
    .join('')}\r\n`;
}

/** A bare TCP connection that never starts TLS; resolves when the server drops it. */
export function idleTcp(target: Target, deadlineMs: number): Promise<Pick<Outcome, 'closedAfterMs' | 'ended'>> {
  return new Promise((resolve) => {
    const started = Date.now();
    const socket: Socket = tcpConnect({ host: target.host, port: target.port });
    const finish = (ended: Outcome['ended']) => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ closedAfterMs: Date.now() - started, ended });
    };
    const timer = setTimeout(() => finish('deadline'), deadlineMs);
    socket.on('error', () => finish('reset'));
    socket.on('close', () => finish('closed'));
  });
}
