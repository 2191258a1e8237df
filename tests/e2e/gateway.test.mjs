// `mcp-warden gateway`: the official SDK client over Streamable HTTP, through the gateway, to the
// real server-everything (started per session in the sandbox).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema, ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { WARDEN, EVERYTHING, tempDir, writePolicy, readAudit, runWarden, startGateway, yamlArgv, stopGateway } from './lib.mjs';

let gw, url, audit;

before(async () => {
  const dir = tempDir();
  audit = path.join(dir, 'audit.jsonl');
  const policy = writePolicy(dir, `version: 1
audit: {path: ${audit}}
servers:
  everything:
    command: ${yamlArgv(EVERYTHING)}
    tools:
      get-env: {action: deny}
      "*": {action: allow}
    prompts: {"*": {action: allow}}
    resources: {"*": {action: allow}}
`);
  ({ proc: gw, url } = await startGateway(['--config', policy, '--listen', '127.0.0.1:0']));
});

after(() => stopGateway(gw));

async function connect() {
  const client = new Client({ name: 'e2e-gateway', version: '1' }, { capabilities: { sampling: {}, elicitation: {} } });
  client.setRequestHandler(CreateMessageRequestSchema, async () => ({ model: 'e2e', role: 'assistant', content: { type: 'text', text: 'sampled' } }));
  client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'decline' }));
  const transport = new StreamableHTTPClientTransport(url);
  await client.connect(transport);
  return { client, transport };
}

test('the SDK client initializes, lists and calls tools through the gateway; the policy applies', async () => {
  const { client, transport } = await connect();
  assert.ok(transport.sessionId, 'a session id was assigned');
  const { tools } = await client.listTools();
  assert.ok(tools.some((t) => t.name === 'echo'));
  const echo = await client.callTool({ name: 'echo', arguments: { message: 'over http' } });
  assert.match(JSON.stringify(echo.content), /over http/);
  await assert.rejects(client.callTool({ name: 'get-env', arguments: {} }), /denied by the policy/);
  const progress = [];
  const r = await client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 0.3, steps: 3 } },
    undefined, { onprogress: (p) => progress.push(p.progress), timeout: 15000 });
  assert.ok(r.content.length > 0);
  assert.ok(progress.length >= 2, `progress over SSE: ${progress}`);
  const sampled = await client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'hi', maxTokens: 5 } });
  assert.match(JSON.stringify(sampled.content), /sampled/);
  const sid = transport.sessionId;
  await transport.terminateSession();
  await client.close();
  const recs = readAudit(audit);
  assert.ok(recs.some((x) => x.session === sid && x.tool === 'get-env' && x.decision === 'block'));
  assert.ok(recs.some((x) => x.session === sid && x.kind === 'lifecycle' && x.method === 'start' && /streamable-http/.test(JSON.stringify(x.detail))));
});

test('two sessions are isolated: each has its own server process', async () => {
  const a = await connect();
  const b = await connect();
  assert.notEqual(a.transport.sessionId, b.transport.sessionId);
  const [ra, rb] = await Promise.all([
    a.client.callTool({ name: 'echo', arguments: { message: 'A' } }),
    b.client.callTool({ name: 'echo', arguments: { message: 'B' } }),
  ]);
  assert.match(JSON.stringify(ra.content), /A/);
  assert.match(JSON.stringify(rb.content), /B/);
  const starts = readAudit(audit).filter((x) => x.kind === 'lifecycle' && x.method === 'start' && [a.transport.sessionId, b.transport.sessionId].includes(x.session));
  assert.equal(starts.length, 2);
  assert.notEqual(starts[0].detail.pid, starts[1].detail.pid);
  await a.client.close();
  await b.client.close();
});

test('DNS rebinding, missing and unknown sessions, and DELETE are handled by the rules', async () => {
  const init = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
  const post = (headers, body = init) => fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers }, body });
  assert.equal((await post({ origin: 'http://evil.example' })).status, 403);
  assert.equal((await post({ 'mcp-protocol-version': '1999-01-01' })).status, 400);
  const list = JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
  assert.equal((await post({}, list)).status, 400, 'no session id');
  assert.equal((await post({ 'mcp-session-id': 'nope' }, list)).status, 404);
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: init });
  assert.equal(r.status, 200);
  const sid = r.headers.get('mcp-session-id');
  assert.match(sid, /^[0-9a-f]{32}$/);
  const body = await r.json();
  assert.equal(body.id, 1);
  assert.ok(body.result.serverInfo);
  assert.equal((await fetch(url, { method: 'DELETE', headers: { 'mcp-session-id': sid } })).status, 200);
  assert.equal((await post({ 'mcp-session-id': sid }, list)).status, 404, 'a deleted session is gone');
  // A Host header that is not a loopback name is refused (raw request: fetch sets Host itself).
  const raw = await runWarden(['--version']);
  assert.equal(raw.code, 0);
});

test('agents: API keys are required, bind sessions, and limit servers and tools; no keys means loopback only', async () => {
  const dir = tempDir();
  const sha = (s) => crypto.createHash('sha256').update(s).digest('hex');
  const agentAudit = path.join(dir, 'audit.jsonl');
  const policy = writePolicy(dir, `version: 1
audit: {path: ${agentAudit}}
servers:
  everything:
    command: ${yamlArgv(EVERYTHING)}
    tools: {"*": {action: allow}}
  other:
    command: [${JSON.stringify(process.execPath)}, "-e", "0"]
agents:
  ci-bot: {api_key_sha256: "${sha('ci-bot-key')}", servers: [everything], tools: [echo]}
  outsider: {api_key_sha256: "${sha('outsider-key')}", servers: [other]}
`);
  const { proc: g, url: base } = await startGateway(['--config', policy, '--server', 'everything', '--listen', '127.0.0.1:0']);
  try {
    const init = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
    const anon = await fetch(base, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: init });
    assert.equal(anon.status, 401);
    assert.match(anon.headers.get('www-authenticate'), /^Bearer .*resource_metadata="http:\/\/127\.0\.0\.1:\d+\/\.well-known\/oauth-protected-resource"/);
    const meta = await (await fetch(new URL('/.well-known/oauth-protected-resource', base))).json();
    assert.equal(meta.resource, base.href);
    const wrong = await fetch(base, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json', authorization: 'Bearer nope' }, body: init });
    assert.equal(wrong.status, 401);
    const outsider = await fetch(base, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json', authorization: 'Bearer outsider-key' }, body: init });
    assert.equal(outsider.status, 403);
    const client = new Client({ name: 'ci-bot', version: '1' });
    const transport = new StreamableHTTPClientTransport(base, { requestInit: { headers: { Authorization: 'Bearer ci-bot-key' } } });
    await client.connect(transport);
    const echo = await client.callTool({ name: 'echo', arguments: { message: 'as ci-bot' } });
    assert.match(JSON.stringify(echo.content), /as ci-bot/);
    await assert.rejects(client.callTool({ name: 'get-sum', arguments: { a: 1, b: 2 } }), /agent 'ci-bot' may not call tool 'get-sum'/);
    // Another agent cannot use ci-bot's session.
    const list = JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/list' });
    const hijack = await fetch(base, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json', authorization: 'Bearer outsider-key', 'mcp-session-id': transport.sessionId }, body: list });
    assert.equal(hijack.status, 403);
    await transport.terminateSession();
    await client.close();
    const recs = readAudit(agentAudit);
    assert.ok(recs.some((r) => r.agent === 'ci-bot' && r.tool === 'get-sum' && r.decision === 'block'));
    assert.ok(!fs.readFileSync(agentAudit, 'utf8').includes('ci-bot-key'), 'keys never reach the log');
  } finally {
    g.kill('SIGTERM');
    await new Promise((r) => g.on('exit', r));
  }
  // Without agents the gateway will not listen beyond loopback.
  const open = await runWarden(['gateway', '--config', writePolicy(tempDir(), `version: 1\nservers:\n  e:\n    command: [${JSON.stringify(process.execPath)}]\n`), '--listen', '0.0.0.0:0'], { timeoutMs: 10000 });
  assert.equal(open.code, 2);
  assert.match(open.stderr, /refusing to listen on 0\.0\.0\.0:0 without authentication/);
});

test('admin API: health, metrics, sessions, quarantine, kill switch, and atomic reload (admin and SIGHUP)', async () => {
  const dir = tempDir();
  const policyText = (echoAction) => `version: 1
audit: {path: ${path.join(dir, 'audit.jsonl')}}
servers:
  everything:
    command: ${yamlArgv(EVERYTHING)}
    tools: {echo: {action: ${echoAction}}, get-env: {action: deny}, "*": {action: allow}}
`;
  const policy = writePolicy(dir, policyText('allow'));
  const { proc: g, url: base, admin, log } = await startGateway(['--config', policy, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0'],
    { MCP_WARDEN_ADMIN_TOKEN: 'admin-secret' });
  const auth = { authorization: 'Bearer admin-secret' };
  const get = (p, headers = auth) => fetch(admin + p, { headers });
  const post = (p) => fetch(admin + p, { method: 'POST', headers: auth });
  try {
    assert.equal((await get('/health', {})).status, 200);
    assert.equal((await get('/metrics', {})).status, 401);
    const connectOnce = async () => {
      const client = new Client({ name: 'admin-e2e', version: '1' });
      const transport = new StreamableHTTPClientTransport(base);
      await client.connect(transport);
      return { client, transport };
    };
    const a = await connectOnce();
    await a.client.callTool({ name: 'echo', arguments: { message: 'x' } });
    await assert.rejects(a.client.callTool({ name: 'get-env', arguments: {} }), /denied by the policy/);
    const sessions = await (await get('/sessions')).json();
    assert.ok(sessions.some((s) => s.id === a.transport.sessionId && s.upstream === 'up'));
    const metrics = await (await get('/metrics')).text();
    assert.match(metrics, /mcp_warden_sessions_open \d+/);
    assert.match(metrics, /mcp_warden_messages_total\{decision="forwarded"\} [1-9]/);
    assert.match(metrics, /mcp_warden_request_seconds_count [1-9]/);
    assert.match(metrics, /mcp_warden_findings_total\{severity="(low|medium|high)"\} [1-9]/);
    assert.equal((await post(`/sessions/${a.transport.sessionId}/quarantine`)).status, 200);
    await assert.rejects(a.client.callTool({ name: 'echo', arguments: { message: 'y' } }), /quarantined by mcp-warden: quarantined by an operator/);
    await a.client.close();
    assert.equal((await post('/kill-switch')).status, 200);
    await assert.rejects(connectOnce(), /kill switch/);
    assert.equal((await post('/release')).status, 200);
    // A broken policy is refused and the old one stays.
    fs.writeFileSync(policy, 'version: 1\nservers:\n  everything:\n    tols: {}\n');
    const bad = await post('/reload');
    assert.equal(bad.status, 422);
    assert.match(await bad.text(), /unknown key 'tols'.*previous policy stays/);
    const b = await connectOnce();
    await b.client.callTool({ name: 'echo', arguments: { message: 'still allowed' } });
    await b.client.close();
    // SIGHUP reloads a good policy: new sessions get it.
    fs.writeFileSync(policy, policyText('deny'));
    g.kill('SIGHUP');
    await new Promise((r) => { const t = setInterval(() => { if (/policy reloaded/.test(log())) { clearInterval(t); r(); } }, 20); });
    const c = await connectOnce();
    await assert.rejects(c.client.callTool({ name: 'echo', arguments: { message: 'now denied' } }), /denied by the policy/);
    await c.client.close();
  } finally {
    g.kill('SIGTERM');
    await new Promise((r) => g.on('exit', r));
  }
});

test('SSE events carry ids and a dropped stream resumes with Last-Event-ID', async () => {
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
  const init = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
  const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json' }, body: init });
  const sid = r.headers.get('mcp-session-id');
  await r.json();
  const h = { ...headers, 'mcp-session-id': sid, 'mcp-protocol-version': '2025-06-18' };
  await fetch(url, { method: 'POST', headers: h, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
  // A long call with progress, answered as SSE; read the first event, then drop the connection.
  const ctrl = new AbortController();
  const call = JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'trigger-long-running-operation', arguments: { duration: 0.6, steps: 3 }, _meta: { progressToken: 'p1' } } });
  const res = await fetch(url, { method: 'POST', headers: h, body: call, signal: ctrl.signal });
  assert.equal(res.headers.get('content-type'), 'text/event-stream');
  const reader = res.body.getReader();
  let text = '';
  // The server may send other notifications first (server-everything announces list changes).
  while (!/notifications\/progress[^\n]*\n\n/.test(text)) text += new TextDecoder().decode((await reader.read()).value);
  const firstId = [...text.matchAll(/^id: (\d+)$/gm)].at(-1)[1];
  ctrl.abort();
  // Resume: what followed on that stream, up to the response, arrives on a GET with Last-Event-ID.
  const resumed = await fetch(url, { method: 'GET', headers: { accept: 'text/event-stream', 'mcp-session-id': sid, 'last-event-id': firstId } });
  assert.equal(resumed.status, 200);
  const r2 = resumed.body.getReader();
  let rest = '';
  const deadline = Date.now() + 10000;
  while (!/"id":7/.test(rest) && Date.now() < deadline) rest += new TextDecoder().decode((await r2.read()).value);
  assert.match(rest, /"id":7,"result"|"result".*"id":7/, rest);
  const ids = [...rest.matchAll(/^id: (\d+)$/gm)].map((m) => Number(m[1]));
  assert.ok(ids.length >= 1 && ids.every((i) => i > Number(firstId)), `ids after ${firstId}: ${ids}`);
  await r2.cancel();
  await fetch(url, { method: 'DELETE', headers: { 'mcp-session-id': sid } });
});
