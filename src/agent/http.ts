/**
 * The small HTTP servers of the agent (health, metrics, healthCheckNodePorts): listen and
 * close cleanly. The health servers accept an optional PROXY protocol header before the
 * request (proxy-protocol.ts says why), bounded in size and in time.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { readProxyHeader } from './proxy-protocol';

export type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface ListenOptions {
  /** Accept a PROXY protocol v1 or v2 header before the HTTP request (and skip it). */
  proxyProtocol?: boolean;
  /** How long the header may take (default {@link PROXY_HEADER_TIMEOUT_MS}). */
  headerTimeoutMs?: number;
}

/** How long a connection may take to send its PROXY header (or the first bytes that show it has none). */
export const PROXY_HEADER_TIMEOUT_MS = 5000;

/** Connections still being read for a PROXY header, by server: closed with it. */
const pendingHeaders = new WeakMap<Server, Set<Socket>>();

export function listen(host: string, port: number, handler: Handler, options: ListenOptions = {}): Promise<Server> {
  const server = createServer(handler);
  // A probe must never keep the process (or a test) alive.
  server.keepAliveTimeout = 5000;
  if (options.proxyProtocol) acceptProxyHeaders(server, options.headerTimeoutMs ?? PROXY_HEADER_TIMEOUT_MS);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve(server);
    });
  });
}

/**
 * Puts a PROXY header reader in front of the HTTP server's own connection handling: each
 * new connection is read until its first bytes show a header (skipped) or none; then the
 * HTTP server gets the connection with the bytes after the header put back. A malformed
 * header, one over the size bound, or one not complete in time closes the connection.
 */
function acceptProxyHeaders(server: Server, timeoutMs: number): void {
  const http = server.listeners('connection') as Array<(socket: Socket) => void>;
  server.removeAllListeners('connection');
  const pending = new Set<Socket>();
  pendingHeaders.set(server, pending);
  server.on('connection', (socket: Socket) => {
    pending.add(socket);
    let read = Buffer.alloc(0);
    const done = () => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.off('error', onError);
      pending.delete(socket);
    };
    const timer = setTimeout(() => {
      done();
      socket.destroy();
    }, timeoutMs);
    const onClose = () => done();
    // Until the HTTP server has the socket, its errors (a reset) are ours to swallow.
    const onError = () => socket.destroy();
    const onData = (chunk: Buffer) => {
      // Bounded: readProxyHeader asks for more only while a valid header (at most
      // 16 + V2_MAX_PAYLOAD bytes, or V1_MAX_LENGTH) may still be arriving.
      read = Buffer.concat([read, chunk]);
      const result = readProxyHeader(read);
      if (result.kind === 'more') return;
      done();
      if (result.kind === 'invalid') {
        socket.destroy();
        return;
      }
      socket.pause();
      const rest = result.kind === 'header' ? read.subarray(result.header.length) : read;
      if (rest.length > 0) socket.unshift(rest);
      for (const listener of http) listener.call(server, socket);
      // http's parser reads what was put back once the socket flows again.
      socket.resume();
    };
    socket.on('data', onData);
    socket.on('close', onClose);
    socket.on('error', onError);
  });
}

export function boundPort(server: Server): number {
  return (server.address() as AddressInfo).port;
}

export function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
    for (const socket of pendingHeaders.get(server) ?? []) socket.destroy();
  });
}

export function sendJson(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'Content-Type': 'application/json', 'X-Content-Type-Options': 'nosniff', ...headers });
  res.end(body);
}
