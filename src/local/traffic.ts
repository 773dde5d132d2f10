/**
 * A client of the emulated NLB, as a user's would be: it resolves the load balancer's DNS
 * name through the data plane (which answers the healthy zones' addresses, as Route 53
 * does for an NLB), takes the answers in turn, and sends HTTP over TCP, or a datagram, to
 * the listener. Each reply says which pod answered, on which node, and whom it saw; the
 * data plane's own `connection` and `drop` events say which NLB node and which target the
 * flow took, matched by the client's address and port.
 */
import { createSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import type { ConnectionEvent, DataPlane, DropEvent } from '@ferry/emulators';
import { parseAnswer, type Answer } from './pod-server';

/** Where the data plane sent a flow. */
export interface Via {
  /** The NLB node's local address, and its zone. */
  nlbAddress: string;
  zone: string;
  /** The target: an instance id (or an IP for ip targets), the node it is, and its port (the NodePort). */
  target: string;
  node: string | undefined;
  port: number;
}

export interface Reply {
  ok: boolean;
  /** The client's own address:port. */
  client: string;
  /** The NLB address it went to. */
  address: string;
  status?: number;
  answer?: Answer;
  text?: string;
  /** `timeout`, or the socket error's code (ECONNRESET, ECONNREFUSED, …). */
  error?: string;
  via?: Via;
  /** Why the data plane dropped the flow, when it did. */
  dropped?: string;
}

export interface SendOptions {
  /** The address to send from (default: the fabric's client address). */
  from?: string;
  /** One of the NLB's addresses, instead of the next DNS answer. */
  address?: string;
  timeoutMs?: number;
}

const DEFAULT_TIMEOUT_MS = 3000;

export class Traffic {
  private readonly flows = new Map<string, ConnectionEvent | DropEvent>();
  private turn = 0;
  private readonly onConnection = (e: ConnectionEvent) => this.remember(e);
  private readonly onDrop = (e: DropEvent) => this.remember(e);

  constructor(
    private readonly dataPlane: DataPlane,
    /** The Node name of a target id (instance id or IP). */
    private readonly nodeOf: (target: string) => string | undefined,
    private readonly defaultFrom: string,
  ) {
    dataPlane.on('connection', this.onConnection);
    dataPlane.on('drop', this.onDrop);
  }

  /** What DNS answers for the name now. */
  addresses(dnsName: string): string[] {
    return this.dataPlane.lookup(dnsName);
  }

  /** The local port the listener for an NLB port (and transport) is bound to. */
  localPort(dnsName: string, port: number, transport: 'tcp' | 'udp'): number {
    const fits = transport === 'udp' ? ['UDP', 'TCP_UDP'] : ['TCP', 'TLS', 'TCP_UDP'];
    const listener = this.dataPlane.listenerPorts(dnsName).find((l) => l.port === port && fits.includes(l.protocol));
    if (!listener) throw new Error(`${dnsName} has no ${transport.toUpperCase()} listener on port ${port}`);
    return listener.localPort;
  }

  /** `GET path` over a connection of its own (`Connection: close`). */
  async http(dnsName: string, port: number, path = '/', options: SendOptions = {}): Promise<Reply> {
    const connection = this.open(dnsName, port, options);
    try {
      return await connection.request(path, { close: true, timeoutMs: options.timeoutMs });
    } finally {
      connection.close();
    }
  }

  /** A connection kept open for several requests (keep-alive). */
  open(dnsName: string, port: number, options: SendOptions = {}): KeptConnection {
    const address = options.address ?? this.next(dnsName);
    const socket = connect({ host: address, port: this.localPort(dnsName, port, 'tcp'), localAddress: options.from ?? this.defaultFrom });
    return new KeptConnection(socket, address, `${dnsName}:${port}`, options.timeoutMs ?? DEFAULT_TIMEOUT_MS, (client) => this.take('tcp', client));
  }

  /** One datagram and its answer. */
  async udp(dnsName: string, port: number, payload: string, options: SendOptions = {}): Promise<Reply> {
    const address = options.address ?? this.next(dnsName);
    const localPort = this.localPort(dnsName, port, 'udp');
    const socket = createSocket('udp4');
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    return new Promise<Reply>((resolve) => {
      let client = '';
      const finish = (reply: Omit<Reply, 'client' | 'address' | 'via' | 'dropped'>): void => {
        clearTimeout(timer);
        socket.removeAllListeners('message');
        try {
          socket.close();
        } catch {
          // closed after an error
        }
        resolve({ ...reply, client, address, ...this.take('udp', client) });
      };
      const timer = setTimeout(() => finish({ ok: false, error: 'timeout' }), timeoutMs);
      socket.once('error', (err: NodeJS.ErrnoException) => finish({ ok: false, error: err.code ?? err.message }));
      socket.on('message', (message) => {
        const text = message.toString('utf8');
        const answer = parseAnswer(text);
        finish(answer ? { ok: true, text, answer } : { ok: false, text, error: 'not an answer' });
      });
      socket.bind({ address: options.from ?? this.defaultFrom, port: 0 }, () => {
        const local = socket.address();
        client = `${local.address}:${local.port}`;
        socket.send(payload, localPort, address);
      });
    });
  }

  close(): void {
    this.dataPlane.off('connection', this.onConnection);
    this.dataPlane.off('drop', this.onDrop);
    this.flows.clear();
  }

  /** The next DNS answer, in turn (a client takes whichever it is given; these spread). */
  private next(dnsName: string): string {
    const answers = this.addresses(dnsName);
    if (answers.length === 0) throw new Error(`${dnsName} does not resolve: no such load balancer`);
    return answers[this.turn++ % answers.length]!;
  }

  private remember(e: ConnectionEvent | DropEvent): void {
    this.flows.set(`${e.transport} ${e.client.address}:${e.client.port}`, e);
    // Flows nobody asked about (another client's) must not pile up.
    if (this.flows.size > 10_000) this.flows.delete(this.flows.keys().next().value!);
  }

  private take(transport: 'tcp' | 'udp', client: string): Pick<Reply, 'via' | 'dropped'> {
    const key = `${transport} ${client}`;
    const e = this.flows.get(key);
    this.flows.delete(key);
    if (!e) return {};
    if ('reason' in e) return { dropped: e.reason };
    return { via: { nlbAddress: e.node.address, zone: e.node.availabilityZone, target: e.target.id, node: this.nodeOf(e.target.id), port: e.target.port } };
  }
}

/** A TCP connection to a listener carrying HTTP/1.1 requests one after another. */
export class KeptConnection {
  /** Resolves when the connection is gone: `error` is how (ECONNRESET for a reset). */
  readonly closed: Promise<{ at: number; error: string | undefined }>;
  private buffer = Buffer.alloc(0);
  private waiting: ((reply: Omit<Reply, 'client' | 'address'>) => void) | undefined;
  private client = '';
  private flow: Pick<Reply, 'via' | 'dropped'> | undefined;
  private connected: Promise<void>;

  constructor(
    private readonly socket: Socket,
    readonly address: string,
    private readonly host: string,
    private readonly timeoutMs: number,
    private readonly flowOf: (client: string) => Pick<Reply, 'via' | 'dropped'>,
  ) {
    let error: string | undefined;
    this.connected = new Promise((resolve) => socket.once('connect', () => resolve()));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      error = err.code ?? err.message;
      this.waiting?.({ ok: false, error });
    });
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.waiting?.({ ok: false, error: error ?? 'closed' });
        resolve({ at: Date.now(), error });
      }),
    );
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.parse();
    });
  }

  /** The client's address:port, once connected. */
  get clientAddress(): string {
    return this.client;
  }

  /** Where the data plane sent this connection (known once it was forwarded). */
  get via(): Pick<Reply, 'via' | 'dropped'> {
    if (!this.flow?.via && !this.flow?.dropped && this.client) this.flow = this.flowOf(this.client);
    return this.flow ?? {};
  }

  async request(path = '/', options: { close?: boolean; timeoutMs?: number } = {}): Promise<Reply> {
    const timeoutMs = options.timeoutMs ?? this.timeoutMs;
    const reply = await new Promise<Omit<Reply, 'client' | 'address'>>((resolve) => {
      const timer = setTimeout(() => done({ ok: false, error: 'timeout' }), timeoutMs);
      const done = (r: Omit<Reply, 'client' | 'address'>): void => {
        clearTimeout(timer);
        this.waiting = undefined;
        resolve(r);
      };
      this.waiting = done;
      if (this.socket.destroyed) return done({ ok: false, error: 'closed' });
      void this.connected.then(() => {
        this.client = `${this.socket.localAddress}:${this.socket.localPort}`;
        this.socket.write(`GET ${path} HTTP/1.1\r\nHost: ${this.host}\r\nUser-Agent: ferry-local\r\n${options.close ? 'Connection: close\r\n' : ''}\r\n`);
      });
    });
    return { ...reply, client: this.client, address: this.address, ...this.via };
  }

  close(): void {
    this.socket.destroy();
  }

  private parse(): void {
    const end = this.buffer.indexOf('\r\n\r\n');
    if (end < 0 || !this.waiting) return;
    const head = this.buffer.subarray(0, end).toString('latin1');
    const length = Number(/^content-length:\s*(\d+)/im.exec(head)?.[1] ?? 0);
    if (this.buffer.length < end + 4 + length) return;
    const text = this.buffer.subarray(end + 4, end + 4 + length).toString('utf8');
    this.buffer = this.buffer.subarray(end + 4 + length);
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(head)?.[1] ?? 0);
    const answer = parseAnswer(text);
    this.waiting({ ok: answer !== undefined, status, text, ...(answer ? { answer } : { error: 'not an answer' }) });
  }
}
