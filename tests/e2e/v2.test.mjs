// A 2026-07-28 client (@modelcontextprotocol/client v2, version pinned to 2026-07-28) through the
// warden to a v2 server: server/discover and per-request `_meta` protocol fields pass, policy applies.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/client';
import { StdioClientTransport } from '@modelcontextprotocol/client/stdio';
import { WARDEN, NODE, fixture, tempDir, writePolicy, wardenArgs, readAudit } from './lib.mjs';

test('2026-07-28 sessionless client through the warden', async () => {
  const dir = tempDir();
  const audit = path.join(dir, 'audit.jsonl');
  const policy = writePolicy(dir, `version: 1
audit: {path: ${audit}}
servers:
  v2:
    tools:
      delete_all: {action: deny}
      "*": {action: allow}
`);
  const client = new Client({ name: 'e2e-v2', version: '1' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
  await client.connect(new StdioClientTransport({ command: WARDEN, args: wardenArgs({ policy, server: 'v2' }, [NODE, fixture('v2-server.mjs')]), stderr: 'pipe' }));
  try {
    assert.equal(client.getNegotiatedProtocolVersion(), '2026-07-28');
    const r = await client.callTool({ name: 'echo', arguments: { message: 'sessionless' } });
    assert.equal(r.content[0].text, 'Echo: sessionless');
    await assert.rejects(client.callTool({ name: 'delete_all', arguments: {} }), (e) => /denied by the policy/.test(e.message));
  } finally {
    await client.close();
  }
  const records = readAudit(audit);
  assert.ok(records.some((r) => r.method === 'server/discover'), 'server/discover passed through');
  const call = records.find((r) => r.method === 'tools/call' && r.tool === 'echo' && r.kind === 'request');
  assert.equal(call.decision, 'allow');
  assert.equal(records.find((r) => r.tool === 'delete_all' && r.kind === 'request').decision, 'block');
});
