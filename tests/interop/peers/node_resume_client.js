// Resumption peer: connects twice to {host, port}; the second connection offers the session
// (ticket) that the first one received. Prints one JSON line per connection:
//   {"event": "connection", "index": 0|1, "reused": bool, "protocol": "...", "group": "...",
//    "authorized": bool, "reply": "..."}
// Options (JSON in argv[2]): host, port, ca (path), servername, groups, message, timeoutMs.
'use strict';
const tls = require('tls');
const fs = require('fs');

const opts = JSON.parse(process.argv[2] || '{}');
const timeout = setTimeout(() => {
  console.log(JSON.stringify({ event: 'error', message: 'timeout' }));
  process.exit(3);
}, opts.timeoutMs || 20000);

function once(index, session) {
  return new Promise((resolve, reject) => {
    let ticket = null;
    const socket = tls.connect({
      host: opts.host || '127.0.0.1',
      port: opts.port,
      servername: opts.servername || 'localhost',
      ca: fs.readFileSync(opts.ca),
      minVersion: 'TLSv1.3',
      ecdhCurve: opts.groups || 'X25519MLKEM768',
      session,
    });
    socket.on('session', (s) => { ticket = s; });
    socket.on('error', reject);
    const message = Buffer.from(opts.message || 'resume me');
    let reply = Buffer.alloc(0);
    socket.on('secureConnect', () => socket.write(message));
    socket.on('data', (chunk) => {
      reply = Buffer.concat([reply, chunk]);
      if (reply.length >= message.length) {
        const info = socket.getEphemeralKeyInfo();
        console.log(JSON.stringify({
          event: 'connection',
          index,
          reused: socket.isSessionReused(),
          protocol: socket.getProtocol(),
          group: info && info.name,
          authorized: socket.authorized,
          reply: reply.toString(),
        }));
        // Give the tickets (sent right after the handshake) time to arrive, then close.
        setTimeout(() => { socket.end(); resolve(ticket); }, 100);
      }
    });
  });
}

(async () => {
  try {
    const ticket = await once(0, undefined);
    if (!ticket) throw new Error('no session ticket received');
    await once(1, ticket);
    clearTimeout(timeout);
    process.exit(0);
  } catch (err) {
    console.log(JSON.stringify({ event: 'error', message: String(err && err.message) }));
    process.exit(1);
  }
})();
