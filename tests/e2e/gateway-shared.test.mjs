// `gateway.upstreams: shared`: the sessions of one agent share one sandboxed server. Each client
// still sees its own MCP session (initialize answered, its own ids, its GET stream); the server is
// started once, a server request (sampling) reaches the session whose call it serves, and ending a
// session leaves the others working. Peers: the official SDK client, server-everything.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { EVERYTHING, tempDir, writePolicy, readAudit, startGateway, yamlArgv, stopGateway } from './lib.mjs';

let gw, url, audit;
const sharedPolicy = (auditPath) => `version: 1
audit: {path: ${auditPath}}
gateway: {upstreams: shared}
servers:
  everything:
    command: ${yamlArgv(EVERYTHING)}
    tools: {get-env: {action: deny}, "*": {action: allow}}
`;

before(async () => {
  const dir = tempDir();
  audit = path.join(dir, 'audit.jsonl');
  ({ proc: gw, url } = await startGateway(['--config', writePolicy(dir, sharedPolicy(audit)), '--listen', '127.0.0.1:0',
    '--admin', '127.0.0.1:0', '--state-dir', path.join(dir, 'state')]));
});

after(() => stopGateway(gw));

async function connect(name) {
  const client = new Client({ name, version: '1' }, { capabilities: { sampling: {} } });
  client.setRequestHandler(CreateMessageRequestSchema, async () => ({ model: name, role: 'assistant', content: { type: 'text', text: `sampled by ${name}` } }));
  const transport = new StreamableHTTPClientTransport(url);
  await client.connect(transport);
  return { client, transport };
}

test('two sessions share one server, each with its own ids and its own server requests', async () => {
  const a = await connect('alice'), b = await connect('bob');
  try {
    assert.notEqual(a.transport.sessionId, b.transport.sessionId);
    const [ra, rb] = await Promise.all([
      a.client.callTool({ name: 'echo', arguments: { message: 'from a' } }),
      b.client.callTool({ name: 'echo', arguments: { message: 'from b' } }),
    ]);
    assert.equal(ra.content[0].text, 'Echo: from a');
    assert.equal(rb.content[0].text, 'Echo: from b');
    // The server's sampling request goes to the session whose call asked for it.
    const sa = await a.client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'hi', maxTokens: 5 } });
    assert.match(JSON.stringify(sa), /sampled by alice/);
    const sb = await b.client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'hi', maxTokens: 5 } });
    assert.match(JSON.stringify(sb), /sampled by bob/);
    await assert.rejects(a.client.callTool({ name: 'get-env', arguments: {} }), /denied by the policy/);
    // One session ends; the other goes on on the same server.
    await a.transport.terminateSession();
    await a.client.close();
    assert.equal((await b.client.callTool({ name: 'echo', arguments: { message: 'still' } })).content[0].text, 'Echo: still');
  } finally {
    await b.client.close();
  }
  const starts = readAudit(audit).filter((r) => r.kind === 'lifecycle' && r.method === 'start' && r.server === 'everything');
  assert.equal(starts.length, 1, 'the server was started once for both sessions');
});
