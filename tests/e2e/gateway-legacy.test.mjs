// The legacy HTTP+SSE transport (protocol 2024-11-05) on `mcp-warden gateway`: clients that predate
// Streamable HTTP (the SDK's SSEClientTransport) reach the same sandboxed, policed servers.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
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
    tools:
      get-env: {action: deny}
      "*": {action: allow}
`);
  ({ proc: gw, url } = await startGateway(['--config', policy, '--listen', '127.0.0.1:0', '--state-dir', path.join(dir, 'state')]));
});

after(() => stopGateway(gw));

test('the SDK SSE client lists and calls tools over GET /sse + POST /messages, under the policy', async () => {
  const client = new Client({ name: 'e2e-legacy', version: '1' });
  const transport = new SSEClientTransport(new URL('/sse', url));
  await client.connect(transport);
  const { tools } = await client.listTools();
  assert.ok(tools.some((t) => t.name === 'echo'));
  const r = await client.callTool({ name: 'echo', arguments: { message: 'over legacy sse' } });
  assert.match(JSON.stringify(r.content), /over legacy sse/);
  await assert.rejects(client.callTool({ name: 'get-env', arguments: {} }), /denied by the policy/);
  const sid = transport._endpoint.searchParams.get('sessionId');
  await client.close();
  const recs = readAudit(audit).filter((x) => x.session === sid);
  assert.ok(recs.some((x) => x.tool === 'get-env' && x.decision === 'block'));
  assert.ok(recs.some((x) => x.tool === 'echo' && x.decision === 'allow'));
});

test('POST /messages needs a live legacy session; GET /sse needs Accept: text/event-stream', async () => {
  const post = (q) => fetch(new URL(`/messages${q}`, url), { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"jsonrpc":"2.0","id":1,"method":"ping"}' });
  assert.equal((await post('?sessionId=0123456789abcdef0123456789abcdef')).status, 404);
  assert.equal((await post('')).status, 404);
  assert.equal((await fetch(new URL('/sse', url), { headers: { accept: 'application/json' } })).status, 406);
  // DNS rebinding rules apply here too.
  assert.equal((await fetch(new URL('/sse', url), { headers: { accept: 'text/event-stream', origin: 'http://evil.example' } })).status, 403);
});
