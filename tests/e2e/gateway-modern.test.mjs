// A 2026-07-28 server behind `mcp-warden gateway`, and a 2026-07-28 client in front: the gateway
// finds out with server/discover that the upstream speaks the sessionless era and passes its
// requests through in that era (no initialize, the server's own results), policy and audit as
// always. The client is the official SDK v2 pinned to 2026-07-28; the server tests/e2e's v2
// fixture (SDK v2 server over stdio, in the sandbox).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { NODE, EVERYTHING, fixture, here, tempDir, writePolicy, readAudit, startGateway, stopGateway, yamlArgv } from './lib.mjs';

let gw, url, audit;

before(async () => {
  const dir = tempDir();
  audit = path.join(dir, 'audit.jsonl');
  const nodepkg = path.dirname(path.dirname(NODE));
  const policy = writePolicy(dir, `version: 1
audit: {path: ${audit}}
servers:
  v2:
    command: [${JSON.stringify(NODE)}, ${JSON.stringify(fixture('v2-server.mjs'))}]
    sandbox: {fs: {read: [${JSON.stringify(here)}, ${JSON.stringify(nodepkg)}], write: []}}
    tools:
      delete_all: {action: deny}
      "*": {action: allow}
`);
  ({ proc: gw, url } = await startGateway(['--config', policy, '--listen', '127.0.0.1:0', '--state-dir', path.join(dir, 'state')]));
});

after(() => stopGateway(gw));

test('a 2026-07-28 upstream is served in its own era, under the policy', async () => {
  const client = new Client({ name: 'e2e-gateway-modern', version: '1' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
  await client.connect(new StreamableHTTPClientTransport(url));
  try {
    assert.equal(client.getNegotiatedProtocolVersion(), '2026-07-28');
    const names = (await client.listTools()).tools.map((t) => t.name);
    assert.deepEqual(names.sort(), ['delete_all', 'echo']);
    const r = await client.callTool({ name: 'echo', arguments: { message: 'modern' } });
    assert.equal(r.content[0].text, 'Echo: modern');
    await assert.rejects(client.callTool({ name: 'delete_all', arguments: {} }), /denied by the policy/);
  } finally {
    await client.close();
  }
  const records = readAudit(audit);
  assert.ok(records.some((r) => r.method === 'server/discover' && r.kind === 'request'), 'the gateway asked server/discover');
  assert.ok(!records.some((r) => r.method === 'initialize'), 'and never initialized it');
  assert.ok(records.some((r) => r.tool === 'delete_all' && r.decision === 'block'), 'the refusal is audited');
});

// A 2026-07-28 client and a 2025-era server: the server's sampling and elicitation requests during
// a call become input_required rounds the client answers (the SDK v2 client does so through its
// handlers and retries with the requestState); a forged state is refused.
test('a 2025-era server\'s sampling and elicitation reach a 2026-07-28 client as input_required rounds', async () => {
  const dir = tempDir();
  const policy = writePolicy(dir, `version: 1
audit: {path: ${path.join(dir, 'audit.jsonl')}}
servers:
  everything:
    command: ${yamlArgv(EVERYTHING)}
    tools: {"*": {action: allow}}
`);
  const { proc, url: at } = await startGateway(['--config', policy, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0',
    '--state-dir', path.join(dir, 'state')]);
  const client = new Client({ name: 'e2e-mrtr', version: '1' },
    { versionNegotiation: { mode: { pin: '2026-07-28' } }, capabilities: { sampling: {}, elicitation: {} } });
  client.setRequestHandler('sampling/createMessage', async () => ({ model: 'e2e', role: 'assistant', content: { type: 'text', text: 'sampled through a round' } }));
  client.setRequestHandler('elicitation/create', async () => ({ action: 'accept', content: { color: 'blue', number: 7, pets: ['cats'] } }));
  await client.connect(new StreamableHTTPClientTransport(at));
  try {
    const sampled = await client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'hi', maxTokens: 5 } });
    assert.match(JSON.stringify(sampled.content), /sampled through a round/);
    const elicited = await client.callTool({ name: 'trigger-elicitation-request', arguments: {} });
    assert.match(JSON.stringify(elicited.content), /accept/);
    // A requestState the gateway did not issue is refused.
    const res = await fetch(at, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream',
      'mcp-protocol-version': '2026-07-28', 'mcp-method': 'tools/call', 'mcp-name': 'trigger-sampling-request' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: { name: 'trigger-sampling-request', arguments: { prompt: 'x' },
        requestState: 'mcp-warden.1.0000', inputResponses: {}, _meta: { 'io.modelcontextprotocol/protocolVersion': '2026-07-28',
          'io.modelcontextprotocol/clientCapabilities': { sampling: {} } } } }) });
    assert.equal(res.status, 400);
    assert.equal((await res.json()).error.code, -32602);
  } finally {
    await client.close();
    await stopGateway(proc);
  }
});
