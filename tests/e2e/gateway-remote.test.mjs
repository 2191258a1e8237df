// `mcp-warden gateway` with a remote upstream (`url:`) next to a local one, and 2026-07-28
// (sessionless) clients. The remote server is the official SDK's Streamable HTTP transport
// (fixtures/remote-server.mjs); the clients are the official SDK client and plain fetch.
// What must hold: the remote server's tools are served under the same policy, audit and
// namespacing as a local server's; the upstream sees the gateway's own secret, never the agent's
// token; servers.X.timeout answers a call the server is too slow for; and a 2026-07-28 request
// is checked against its headers and answered without a session.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from '@modelcontextprotocol/client';
import { NODE, EVERYTHING, fixture, tempDir, writePolicy, readAudit, startGateway, yamlArgv, stopGateway } from './lib.mjs';

const AGENT_KEY = 'agent-key-e2e-remote-0123456789';
const UPSTREAM_SECRET = 'upstream-secret-e2e-9876543210';
let remote, gw, url, audit;

function startRemote() {
  const proc = spawn(NODE, [fixture('remote-server.mjs')], { stdio: ['pipe', 'ignore', 'pipe'] });
  let err = '';
  return new Promise((resolve, reject) => {
    proc.stderr.on('data', (d) => {
      err += d;
      const m = /listening on (\S+)/.exec(err);
      if (m) resolve({ proc, url: m[1] });
    });
    proc.on('exit', (code) => reject(new Error(`remote server exited ${code}: ${err}`)));
  });
}

before(async () => {
  const dir = tempDir();
  audit = path.join(dir, 'audit.jsonl');
  let remoteUrl;
  ({ proc: remote, url: remoteUrl } = await startRemote());
  const sha = crypto.createHash('sha256').update(AGENT_KEY).digest('hex');
  const policy = writePolicy(dir, `version: 1
audit: {path: ${audit}}
servers:
  remote:
    url: ${remoteUrl}
    headers: {Authorization: "Bearer \${UPSTREAM}"}
    secrets: {UPSTREAM: {from_env: E2E_UPSTREAM_TOKEN}}
    timeout: 2s
    tools:
      send_mail: {args: {to: {email_domain: [example.com]}}}
      "*": {action: allow}
  everything:
    command: ${yamlArgv(EVERYTHING)}
    tools: {"*": {action: allow}}
agents:
  ci: {api_key_sha256: "${sha}", servers: [remote, everything]}
`);
  ({ proc: gw, url } = await startGateway(['--config', policy, '--listen', '127.0.0.1:0', '--state-dir', path.join(dir, 'state')],
    { E2E_UPSTREAM_TOKEN: UPSTREAM_SECRET }));
});

after(async () => {
  await stopGateway(gw);
  remote.stdin.end();
});

async function connect() {
  const client = new Client({ name: 'e2e-gateway-remote', version: '1' });
  const transport = new StreamableHTTPClientTransport(url, { requestInit: { headers: { Authorization: `Bearer ${AGENT_KEY}` } } });
  await client.connect(transport);
  return client;
}

const text = (r) => r.content.map((c) => c.text).join('');
const digest = (header) => `authorization-sha256-16=${crypto.createHash('sha256').update(header).digest('hex').slice(0, 16)}`;

test('the remote server is served next to a local one, under its policy, with the gateway\'s secret', async () => {
  const client = await connect();
  try {
    const names = (await client.listTools()).tools.map((t) => t.name);
    assert.ok(names.includes('remote__whoami') && names.includes('remote__send_mail'), names.join(' '));
    assert.ok(names.includes('everything__echo'), names.join(' '));
    // The upstream got the gateway's own credential; the agent's key never left the gateway.
    const who = text(await client.callTool({ name: 'remote__whoami', arguments: {} }));
    assert.equal(who, digest(`Bearer ${UPSTREAM_SECRET}`));
    assert.equal(text(await client.callTool({ name: 'remote__send_mail', arguments: { to: 'ops@example.com' } })), 'sent to ops@example.com');
    await assert.rejects(client.callTool({ name: 'remote__send_mail', arguments: { to: 'attacker@evil.test' } }), /email_domain|example\.com/);
    assert.equal(text(await client.callTool({ name: 'everything__echo', arguments: { message: 'local' } })), 'Echo: local');
  } finally {
    await client.close();
  }
  const records = readAudit(audit).filter((r) => r.server === 'remote');
  assert.ok(records.some((r) => r.kind === 'lifecycle' && r.method === 'start' && JSON.stringify(r.detail).includes('"upstream":{"url"')), 'start record');
  assert.ok(records.some((r) => r.tool === 'send_mail' && r.decision === 'block'), 'the refused call is audited');
  assert.ok(!JSON.stringify(records).includes(AGENT_KEY) && !JSON.stringify(records).includes(UPSTREAM_SECRET), 'no credential in the audit log');
});

test('servers.X.timeout answers a call the remote server is too slow for', async () => {
  const client = await connect();
  try {
    const t0 = Date.now();
    await assert.rejects(client.callTool({ name: 'remote__slow', arguments: { ms: 20000 } }, undefined, { timeout: 30000 }),
      /did not answer this tools\/call request within 2 s/);
    assert.ok(Date.now() - t0 < 15000, `answered after ${Date.now() - t0} ms`);
    assert.equal(text(await client.callTool({ name: 'remote__slow', arguments: { ms: 10 } })), 'late');
  } finally {
    await client.close();
  }
});

// One 2026-07-28 POST, as the specification's headers and _meta have it.
async function modern(method, params = {}, { name, headers = {}, token = AGENT_KEY } = {}) {
  const body = { jsonrpc: '2.0', id: 7, method, params: { ...params, _meta: {
    'io.modelcontextprotocol/protocolVersion': '2026-07-28', 'io.modelcontextprotocol/clientCapabilities': {} } } };
  const h = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', authorization: `Bearer ${token}`,
    'mcp-protocol-version': '2026-07-28', 'mcp-method': method, ...headers };
  if (name !== undefined) h['mcp-name'] = name;
  const res = await fetch(url, { method: 'POST', headers: h, body: JSON.stringify(body) });
  return { status: res.status, session: res.headers.get('mcp-session-id'), json: await res.json() };
}

test('a 2026-07-28 client is served without a session, checked against its headers', async () => {
  const d = await modern('server/discover');
  assert.equal(d.status, 200);
  assert.equal(d.session, null);
  assert.ok(d.json.result.supportedVersions.includes('2026-07-28'));
  assert.ok(d.json.result.capabilities.tools);
  const list = await modern('tools/list');
  assert.equal(list.json.result.resultType, 'complete');
  assert.equal(list.json.result.cacheScope, 'private');
  assert.ok(list.json.result.tools.some((t) => t.name === 'remote__whoami'));
  const who = await modern('tools/call', { name: 'remote__whoami', arguments: {} }, { name: 'remote__whoami' });
  assert.equal(who.json.id, 7);
  assert.equal(who.json.result.resultType, 'complete');
  assert.equal(who.json.result.content[0].text, digest(`Bearer ${UPSTREAM_SECRET}`));
  // The policy still applies.
  const bad = await modern('tools/call', { name: 'remote__send_mail', arguments: { to: 'x@evil.test' } }, { name: 'remote__send_mail' });
  assert.ok(bad.json.error, JSON.stringify(bad.json));
  // Header and body disagree: 400 with HeaderMismatch; a removed method: 404.
  const mismatch = await modern('tools/call', { name: 'remote__whoami', arguments: {} }, { name: 'remote__send_mail' });
  assert.equal(mismatch.status, 400);
  assert.equal(mismatch.json.error.code, -32020);
  const ping = await modern('ping');
  assert.equal(ping.status, 404);
  assert.equal(ping.json.error.code, -32601);
  // Removed methods are 404 even with params that would not pass; bad params are 400; refusals
  // in a row leave the gateway serving (GCC 12 once miscompiled these co_await paths).
  for (let i = 0; i < 3; i++) {
    const sub = await modern('resources/subscribe');
    assert.equal(sub.status, 404);
    const noName = await modern('tools/call', {}, { name: 'x' });
    assert.equal(noName.status, 400);
    assert.equal(noName.json.error.code, -32602);
  }
  // No credential, no service, in this era too.
  const anon = await modern('tools/list', {}, { token: 'wrong-key' });
  assert.equal(anon.status, 401);
});

test('the official SDK v2 client pinned to 2026-07-28 works through the gateway', async () => {
  const client = new ClientV2({ name: 'e2e-v2-http', version: '1' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
  await client.connect(new TransportV2(url, { requestInit: { headers: { Authorization: `Bearer ${AGENT_KEY}` } } }));
  try {
    assert.equal(client.getNegotiatedProtocolVersion(), '2026-07-28');
    const names = (await client.listTools()).tools.map((t) => t.name);
    assert.ok(names.includes('remote__whoami'), names.join(' '));
    const r = await client.callTool({ name: 'everything__echo', arguments: { message: 'v2' } });
    assert.equal(r.content[0].text, 'Echo: v2');
    await assert.rejects(client.callTool({ name: 'remote__send_mail', arguments: { to: 'x@evil.test' } }));
  } finally {
    await client.close();
  }
});
