// A pod's workload in the datapath tests: answers on TCP and UDP with its name and the
// address it sees the client at, so a test learns which endpoint it reached and whether
// the client's source address was kept. Usage: node echo-server.js NAME TCP_PORT UDP_PORT
'use strict';
const net = require('node:net');
const dgram = require('node:dgram');

const [name, tcpPort, udpPort] = process.argv.slice(2);
const strip = (address) => address.replace(/^::ffff:/, '');

net
  .createServer((socket) => {
    socket.on('error', () => {});
    // Greeting first, then echo: a test can read "who answered" without sending anything.
    socket.write(`${name} ${strip(socket.remoteAddress)}\n`);
    socket.on('data', (data) => socket.write(`${name} ${data.toString().trim()}\n`));
  })
  .listen(Number(tcpPort), '0.0.0.0');

const udp = dgram.createSocket('udp4');
udp.on('message', (msg, rinfo) => udp.send(`${name} ${strip(rinfo.address)} ${msg.toString().trim()}`, rinfo.port, rinfo.address));
udp.bind(Number(udpPort), '0.0.0.0');

process.stdout.write('ready\n');
