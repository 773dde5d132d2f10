// The datapath tests' client, one process per network namespace: JSON commands on stdin,
// one JSON answer per line on stdout. Every operation is bounded by its timeout.
//   {id, op:'tcp', host, port, timeoutMs}            connect, read the greeting line, close
//   {id, op:'udp', host, port, data, timeoutMs, session?}  send a datagram, wait for the reply;
//                                                    a session reuses one socket (one source port)
//   {id, op:'open', conn, host, port, timeoutMs}     keep a TCP connection open (reads the greeting)
//   {id, op:'send', conn, data, timeoutMs}           send a line on it, read the echo
//   {id, op:'close', conn}
'use strict';
const net = require('node:net');
const dgram = require('node:dgram');
const readline = require('node:readline');

const conns = new Map();
const sessions = new Map();
const reply = (id, body) => process.stdout.write(`${JSON.stringify({ id, ...body })}\n`);

function readLine(socket, timeoutMs) {
  return new Promise((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => done(new Error('timeout')), timeoutMs);
    const onData = (chunk) => {
      buffer += chunk.toString();
      const nl = buffer.indexOf('\n');
      if (nl >= 0) done(undefined, buffer.slice(0, nl));
    };
    const onError = (err) => done(err);
    const onClose = () => done(new Error('closed'));
    function done(err, line) {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('close', onClose);
      if (err) reject(err);
      else resolve(line);
    }
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('close', onClose);
  });
}

function connect(host, port, timeoutMs) {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('timeout'));
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      resolve(socket);
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

function udpExchange(socket, host, port, data, timeoutMs) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => done(new Error('timeout')), timeoutMs);
    const onMessage = (msg) => done(undefined, msg.toString());
    const onError = (err) => done(err);
    function done(err, text) {
      clearTimeout(timer);
      socket.off('message', onMessage);
      socket.off('error', onError);
      if (err) reject(err);
      else resolve(text);
    }
    socket.on('message', onMessage);
    socket.on('error', onError);
    socket.send(data, port, host);
  });
}

async function handle(cmd) {
  const timeoutMs = cmd.timeoutMs ?? 2000;
  switch (cmd.op) {
    case 'tcp': {
      const socket = await connect(cmd.host, cmd.port, timeoutMs);
      try {
        return await readLine(socket, timeoutMs);
      } finally {
        socket.destroy();
      }
    }
    case 'udp': {
      let socket = cmd.session ? sessions.get(cmd.session) : undefined;
      if (!socket) {
        socket = dgram.createSocket('udp4');
        socket.on('error', () => {});
        await new Promise((resolve) => socket.bind(0, resolve));
        if (cmd.session) sessions.set(cmd.session, socket);
      }
      try {
        return await udpExchange(socket, cmd.host, cmd.port, cmd.data ?? 'ping', timeoutMs);
      } finally {
        if (!cmd.session) socket.close();
      }
    }
    case 'open': {
      const socket = await connect(cmd.host, cmd.port, timeoutMs);
      socket.on('error', () => {});
      conns.set(cmd.conn, socket);
      return readLine(socket, timeoutMs);
    }
    case 'send': {
      const socket = conns.get(cmd.conn);
      if (!socket) throw new Error('no such connection');
      const line = readLine(socket, timeoutMs);
      socket.write(`${cmd.data}\n`);
      return line;
    }
    case 'close': {
      conns.get(cmd.conn)?.destroy();
      conns.delete(cmd.conn);
      return 'closed';
    }
    default:
      throw new Error(`unknown op ${cmd.op}`);
  }
}

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = JSON.parse(line);
  handle(cmd).then(
    (text) => reply(cmd.id, { ok: true, text }),
    (err) => reply(cmd.id, { ok: false, error: err.code ?? err.message }),
  );
});
process.stdin.on('end', () => process.exit(0));
process.stdout.write(`${JSON.stringify({ id: 0, ok: true, text: 'ready' })}\n`);
