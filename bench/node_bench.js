'use strict';
// Node 24 (OpenSSL 3.5 inside) in the benchmark's harness shape: an agent that reads one JSON
// command per line on stdin and answers one JSON line on stdout. bench/node.py drives it.
//
// Commands (every one answers {"ok": true, ...} or {"ok": false, "error": "..."}):
//   {"cmd": "info"}                                   -> versions
//   {"cmd": "serve", "cert", "key"}                   -> {"port"}: a TLS server on 127.0.0.1:0
//   {"cmd": "prepare", "port", "ca", "groups", "concurrency", "resume"}
//                                                     -> {}: one untimed connection per slot
//   {"cmd": "handshakes", "port", "ca", "groups", "concurrency", "durationMs", "maxCount",
//    "resume"}                                        -> {"count", "seconds", "resumed",
//                                                         "cpuSeconds"} (after "prepare")
//   {"cmd": "ttfb", "port", "ca", "groups", "count", "resume"} -> {"median", "matched"}
//   {"cmd": "bulk", "port", "ca", "ciphers", "total", "chunk"} -> {"seconds", "cipher"}
//   {"cmd": "exit"}
// The server speaks bench/wire.py: first byte 'E' = echo the rest, 'B' + 8-byte length =
// count that many bytes and answer 'k'. Loopback only; every loop bounded by a deadline or a
// count; the agent exits on its own after `lifetimeMs` (argv[2] JSON, default 30 minutes).

const tls = require('tls');
const fs = require('fs');
const readline = require('readline');
const { once } = require('events');

const HOST = '127.0.0.1';
const SERVER_NAME = 'localhost';
const CONNECTION_TIMEOUT_MS = 30000;
const opts = JSON.parse(process.argv[2] || '{}');

const lifetime = setTimeout(() => process.exit(3), opts.lifetimeMs || 30 * 60 * 1000);
lifetime.unref();

const servers = [];
const caCache = new Map();

function readCa(path) {
  if (!caCache.has(path)) caCache.set(path, fs.readFileSync(path));
  return caCache.get(path);
}

function serve(cmd) {
  const server = tls.createServer({
    cert: fs.readFileSync(cmd.cert),
    key: fs.readFileSync(cmd.key),
    minVersion: 'TLSv1.3',
    ecdhCurve: 'X25519MLKEM768:X25519',
  });
  server.on('secureConnection', (socket) => {
    let mode = null;
    let total = 0;
    let got = 0;
    let head = Buffer.alloc(0);
    socket.on('data', (data) => {
      if (mode === null) {
        head = Buffer.concat([head, data]);
        if (head[0] === 0x42 /* B */) {
          if (head.length < 9) return;
          mode = 'bulk';
          total = Number(head.readBigUInt64BE(1));
          got = head.length - 9;
        } else {
          mode = 'echo';
          if (head.length > 1) socket.write(head.subarray(1));
        }
        head = null;
      } else if (mode === 'echo') {
        socket.write(data);
        return;
      } else {
        got += data.length;
      }
      if (mode === 'bulk' && got >= total && total >= 0) {
        total = -1;
        socket.write('k');
      }
    });
    socket.on('end', () => socket.end());
    socket.on('error', () => socket.destroy());
  });
  server.on('tlsClientError', () => {});
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, HOST, () => {
      servers.push(server);
      resolve({ port: server.address().port });
    });
  });
}

// One connection: connect, handshake, send 'Eping', read 4 bytes, close. Resolves with what
// happened and the newest session (ticket) for the next connection.
function echoOnce(cmd, session) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    let ttfb = null;
    let got = 0;
    let newest = null;
    let reused = false;
    const socket = tls.connect({
      host: HOST,
      port: cmd.port,
      servername: SERVER_NAME,
      ca: readCa(cmd.ca),
      ecdhCurve: cmd.groups,
      minVersion: 'TLSv1.3',
      session: session || undefined,
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('connection timed out'));
    }, CONNECTION_TIMEOUT_MS);
    socket.on('session', (s) => {
      newest = s;
    });
    socket.once('secureConnect', () => {
      reused = socket.isSessionReused();
      socket.write('Eping');
    });
    socket.on('data', (data) => {
      got += data.length;
      if (ttfb === null && got >= 4) {
        ttfb = Number(process.hrtime.bigint() - t0) / 1e9;
        socket.end();
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    socket.on('close', () => {
      clearTimeout(timer);
      if (ttfb === null) reject(new Error('closed before the echo'));
      else resolve({ ttfb, reused, session: newest || session });
    });
  });
}

let prepared = [];

// Warm-up: one untimed connection per slot (and its ticket, for resumption).
async function prepare(cmd) {
  const sessions = new Array(cmd.concurrency || 1).fill(null);
  await Promise.all(
    sessions.map(async (_, i) => {
      const r = await echoOnce(cmd, null);
      sessions[i] = cmd.resume ? r.session : null;
    }),
  );
  prepared = sessions;
  return {};
}

async function handshakes(cmd) {
  const concurrency = cmd.concurrency || 1;
  if (prepared.length !== concurrency) throw new Error('handshakes without prepare');
  const sessions = prepared;
  prepared = [];
  const cpu0 = process.cpuUsage();
  let started = 0;
  let done = 0;
  let resumed = 0;
  const t0 = process.hrtime.bigint();
  const deadline = Date.now() + cmd.durationMs;
  async function worker(i) {
    while (started < cmd.maxCount && Date.now() < deadline) {
      started += 1;
      const r = await echoOnce(cmd, sessions[i]);
      if (cmd.resume) sessions[i] = r.session;
      done += 1;
      if (r.reused) resumed += 1;
    }
  }
  await Promise.all(sessions.map((_, i) => worker(i)));
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  return { count: done, seconds, resumed, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

async function ttfb(cmd) {
  let session = null;
  if (cmd.resume) session = (await echoOnce(cmd, null)).session;
  else await echoOnce(cmd, null);
  const samples = [];
  let matched = 0;
  for (let i = 0; i < cmd.count; i++) {
    const r = await echoOnce(cmd, session);
    samples.push(r.ttfb);
    if (cmd.resume) session = r.session;
    if (r.reused === Boolean(cmd.resume)) matched += 1;
  }
  samples.sort((a, b) => a - b);
  const mid = samples.length >> 1;
  const median = samples.length % 2 ? samples[mid] : (samples[mid - 1] + samples[mid]) / 2;
  return { median, matched };
}

function bulk(cmd) {
  return new Promise((resolve, reject) => {
    const chunk = Buffer.alloc(cmd.chunk, 'x');
    const socket = tls.connect({
      host: HOST,
      port: cmd.port,
      servername: SERVER_NAME,
      ca: readCa(cmd.ca),
      minVersion: 'TLSv1.3',
      ciphers: cmd.ciphers,
    });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('bulk timed out'));
    }, Math.max(CONNECTION_TIMEOUT_MS, cmd.total / 1024));
    let t0 = null;
    let seconds = null;
    socket.once('secureConnect', async () => {
      const header = Buffer.alloc(9);
      header[0] = 0x42;
      header.writeBigUInt64BE(BigInt(cmd.total), 1);
      t0 = process.hrtime.bigint();
      socket.write(header);
      const n = Math.floor(cmd.total / cmd.chunk);
      for (let i = 0; i < n; i++) {
        if (!socket.write(chunk)) await once(socket, 'drain');
      }
    });
    socket.on('data', () => {
      if (seconds === null) {
        seconds = Number(process.hrtime.bigint() - t0) / 1e9;
        const cipher = socket.getCipher().standardName || socket.getCipher().name;
        socket.end();
        clearTimeout(timer);
        resolve({ seconds, cipher });
      }
    });
    socket.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

async function handle(cmd) {
  switch (cmd.cmd) {
    case 'info':
      return { node: process.version, openssl: process.versions.openssl };
    case 'serve':
      return serve(cmd);
    case 'prepare':
      return prepare(cmd);
    case 'handshakes':
      return handshakes(cmd);
    case 'ttfb':
      return ttfb(cmd);
    case 'bulk':
      return bulk(cmd);
    case 'exit':
      for (const s of servers) s.close();
      setImmediate(() => process.exit(0));
      return {};
    default:
      throw new Error(`unknown command ${cmd.cmd}`);
  }
}

// Commands run one at a time, in order.
let queue = Promise.resolve();
readline.createInterface({ input: process.stdin }).on('line', (line) => {
  queue = queue.then(async () => {
    let reply;
    try {
      reply = { ok: true, ...(await handle(JSON.parse(line))) };
    } catch (err) {
      reply = { ok: false, error: String((err && err.message) || err) };
    }
    process.stdout.write(JSON.stringify(reply) + '\n');
  });
});
process.stdin.on('end', () => process.exit(0));
process.on('SIGTERM', () => process.exit(0));
