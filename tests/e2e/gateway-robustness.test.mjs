// `mcp-warden gateway` under clients that misbehave or go away: raw HTTP/1.1 over a socket, so that
// framing, keep-alive and timeouts are seen exactly as a strict client sees them.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import path from 'node:path';
import { EVERYTHING, tempDir, writePolicy, readAudit, startGateway, yamlArgv, stopGateway } from './lib.mjs';

let gw, url, audit;

before(async () => {
  const dir = tempDir();
  audit = path.join(dir, 'audit.jsonl');
  const policy = writePolicy(dir, `version: 1
audit: {path: ${audit}}
servers:
  everything:
    command: ${yamlArgv(EVERYTHING)}
    tools: {"*": {action: allow}}
`);
  ({ proc: gw, url } = await startGateway(['--config', policy, '--listen', '127.0.0.1:0', '--state-dir', path.join(dir, 'state'),
    '--connection-idle-timeout-s', '2', '--session-idle-timeout-s', '5']));
});

after(() => stopGateway(gw));

// One kept-alive connection; `request` writes a POST and resolves with {status, headers, body} once
// the response is complete by its own framing (Content-Length or the final chunk).
function connection() {
  const sock = net.connect(Number(url.port), '127.0.0.1');
  let buf = Buffer.alloc(0), waiting = null, closed = false;
  sock.on('data', (d) => { buf = Buffer.concat([buf, d]); waiting?.(); });
  sock.on('close', () => { closed = true; waiting?.(); });
  const parse = () => {
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) return null;
    const head = buf.subarray(0, end).toString();
    const [status, ...lines] = head.split('\r\n');
    const headers = Object.fromEntries(lines.map((l) => [l.slice(0, l.indexOf(':')).toLowerCase(), l.slice(l.indexOf(':') + 1).trim()]));
    let rest = buf.subarray(end + 4), body;
    if ('content-length' in headers) {
      const n = Number(headers['content-length']);
      if (rest.length < n) return null;
      body = rest.subarray(0, n).toString(); rest = rest.subarray(n);
    } else if (headers['transfer-encoding'] === 'chunked') {
      body = '';
      for (;;) {
        const nl = rest.indexOf('\r\n');
        if (nl < 0) return null;
        const n = parseInt(rest.subarray(0, nl).toString(), 16);
        if (rest.length < nl + 2 + n + 2) return null;
        body += rest.subarray(nl + 2, nl + 2 + n).toString();
        rest = rest.subarray(nl + 2 + n + 2);
        if (n === 0) break;
      }
    } else {
      return null;  // framed by the close: not a response a strict client can use
    }
    buf = rest;
    return { status: Number(status.split(' ')[1]), headers, body };
  };
  return {
    request(body, headers = {}) {
      const h = { host: `127.0.0.1:${url.port}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers };
      sock.write(`POST ${url.pathname} HTTP/1.1\r\n${Object.entries(h).map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n${body}`);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no complete response; got: ${buf}`)), 10000);
        waiting = () => {
          const r = parse();
          if (r) { clearTimeout(timer); waiting = null; resolve(r); } else if (closed) { clearTimeout(timer); reject(new Error('closed')); }
        };
        waiting();
      });
    },
    closed: () => new Promise((resolve) => (closed ? resolve() : sock.on('close', resolve))),
    isClosed: () => closed,
    end: () => sock.destroy(),
  };
}

const init = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });

test('one kept-alive connection carries initialize, a 202 with Content-Length: 0, and SSE answers one after another', async () => {
  const c = connection();
  const r1 = await c.request(init, { accept: 'application/json, text/event-stream' });
  assert.equal(r1.status, 200);
  const sid = r1.headers['mcp-session-id'];
  const h = { accept: 'application/json, text/event-stream', 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' };
  const r2 = await c.request(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }), h);
  assert.equal(r2.status, 202);
  assert.equal(r2.headers['content-length'], '0');
  for (let i = 0; i < 3; i++) {
    const r = await c.request(JSON.stringify({ jsonrpc: '2.0', id: 10 + i, method: 'tools/call', params: { name: 'echo', arguments: { message: `m${i}` } } }), h);
    assert.equal(r.status, 200);
    assert.match(r.body, new RegExp(`"id":${10 + i}`));
    assert.match(r.body, new RegExp(`m${i}`));
    assert.ok(!c.isClosed(), 'the connection stays open after an SSE answer');
  }
  c.end();
});

test('an idle connection and a half-sent request are closed after --connection-idle-timeout-s', async () => {
  const idle = connection();
  const half = net.connect(Number(url.port), '127.0.0.1');
  half.write(`POST ${url.pathname} HTTP/1.1\r\nhost: 127.0.0.1\r\ncontent-length: 100\r\n\r\n{"jsonrpc":`);
  const t0 = Date.now();
  await Promise.all([idle.closed(), new Promise((r) => half.on('close', r))]);
  const took = Date.now() - t0;
  assert.ok(took >= 1500 && took < 8000, `closed after ${took} ms`);
  // Meanwhile and afterwards, others are served.
  const c = connection();
  assert.equal((await c.request(init, { accept: 'application/json' })).status, 200);
  c.end();
});

test('a session nobody uses ends after --session-idle-timeout-s, and its server is stopped', async () => {
  const c = connection();
  const r = await c.request(init, { accept: 'application/json' });
  const sid = r.headers['mcp-session-id'];
  c.end();
  const ping = () => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json', 'mcp-session-id': sid }, body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'ping' }) });
  // A request is activity: the session is there, and its idle clock starts again.
  assert.equal((await ping()).status, 200);
  // Untouched for longer than the timeout plus one sweep (every min(30 s, timeout/2 + 1 s)), it is gone.
  await new Promise((res) => setTimeout(res, 5000 + 3000 + 2500));
  const gone = (await ping()).status === 404;
  assert.ok(gone, 'the idle session was ended');
  const stop = readAudit(audit).find((x) => x.session === sid && x.kind === 'lifecycle' && x.method === 'stop');
  assert.match(JSON.stringify(stop.detail), /idle for more than 5 s/);
});
