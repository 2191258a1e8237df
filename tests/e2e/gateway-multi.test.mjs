// `mcp-warden gateway` with several servers behind one endpoint: the official SDK client sees one
// MCP server whose tools, prompts and resources are the servers' own under SERVER__NAME, each call
// goes to the right server under that server's policy, server requests (sampling) and progress
// still reach the client, and look-alike tools across servers are audited as shadowing.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { WARDEN, NODE, EVERYTHING, FILESYSTEM, fixture, here, tempDir, writePolicy, readAudit, runWarden, startGateway, yamlArgv, stopGateway } from './lib.mjs';

let gw, url, admin, audit, data, stderr;
const TOKEN = 'e2e-admin-token-0123456789';

before(async () => {
  const dir = tempDir();
  audit = path.join(dir, 'audit.jsonl');
  data = path.join(dir, 'data');
  fs.mkdirSync(data);
  fs.writeFileSync(path.join(data, 'notes.txt'), 'hello from the files server\n');
  const policy = writePolicy(dir, `version: 1
audit: {path: ${audit}}
servers:
  everything:
    command: ${yamlArgv(EVERYTHING)}
    tools:
      get-env: {action: deny}
      get-sum: {action: approve}
      "*": {action: allow}
    prompts: {"*": {action: allow}}
    resources: {"*": {action: allow}}
  files:
    command: ${yamlArgv(FILESYSTEM(data))}
    sandbox: {fs: {read: [${data}, ${here}], write: [${dir}]}}
    tools:
      read_text_file: {args: {path: {path_under: [${data}]}}}
      list_directory: {args: {path: {path_under: [${data}]}}}
      write_file: {action: deny}
      "*": {action: deny}
  shadow:
    command: [${JSON.stringify(NODE)}, ${JSON.stringify(fixture('shadow-server.mjs'))}]
    tools: {"*": {action: allow}}
`);
  let log;
  ({ proc: gw, url, admin, log } = await startGateway(['--config', policy, '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0',
    '--approval-timeout-s', '8', '--state-dir', path.join(dir, 'state')], { MCP_WARDEN_ADMIN_TOKEN: TOKEN }));
  stderr = log;
});

after(() => stopGateway(gw));

async function connect() {
  const client = new Client({ name: 'e2e-gateway-multi', version: '1' }, { capabilities: { sampling: {} } });
  client.setRequestHandler(CreateMessageRequestSchema, async () => ({ model: 'e2e', role: 'assistant', content: { type: 'text', text: 'sampled' } }));
  const transport = new StreamableHTTPClientTransport(url);
  await client.connect(transport);
  return { client, transport };
}

test('one endpoint, three servers: merged capabilities and lists under SERVER__NAME', async () => {
  assert.match(stderr(), /servers 'everything', 'files', 'shadow', names as SERVER__NAME/);
  const { client, transport } = await connect();
  assert.equal(client.getServerVersion().name, 'mcp-warden-gateway');
  const caps = client.getServerCapabilities();
  assert.ok(caps.tools && caps.prompts && caps.resources, JSON.stringify(caps));
  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name);
  assert.ok(names.includes('everything__echo'), names.join(' '));
  assert.ok(names.includes('files__read_text_file'), names.join(' '));
  assert.ok(names.includes('shadow__read_fi1e'), names.join(' '));
  assert.ok(names.every((n) => /^(everything|files|shadow)__/.test(n)));
  const { prompts } = await client.listPrompts();
  assert.ok(prompts.length > 0 && prompts.every((p) => p.name.startsWith('everything__')));
  const { resources } = await client.listResources();
  assert.ok(resources.length > 0);
  await transport.terminateSession();
  await client.close();
});

test('calls go to the right server, under that server\'s policy', async () => {
  const { client, transport } = await connect();
  await client.listTools();
  const echo = await client.callTool({ name: 'everything__echo', arguments: { message: 'to everything' } });
  assert.match(JSON.stringify(echo.content), /to everything/);
  const read = await client.callTool({ name: 'files__read_text_file', arguments: { path: path.join(data, 'notes.txt') } });
  assert.match(read.content[0].text, /hello from the files server/);
  const shadow = await client.callTool({ name: 'shadow__read_fi1e', arguments: { path: '/x' } });
  assert.match(shadow.content[0].text, /shadow read \/x/);
  // Each server's own policy: files denies write_file, everything denies get-env.
  await assert.rejects(client.callTool({ name: 'files__write_file', arguments: { path: path.join(data, 'x'), content: 'x' } }), /denied/);
  assert.ok(!fs.existsSync(path.join(data, 'x')));
  await assert.rejects(client.callTool({ name: 'everything__get-env', arguments: {} }), /denied by the policy/);
  // Names without a server, or of no server, are refused with the reason.
  await assert.rejects(client.callTool({ name: 'echo', arguments: {} }), /SERVER__NAME/);
  // A server's request (sampling) and progress still reach the client through the merge.
  const sampled = await client.callTool({ name: 'everything__trigger-sampling-request', arguments: { prompt: 'hi', maxTokens: 5 } });
  assert.match(JSON.stringify(sampled.content), /sampled/);
  const progress = [];
  await client.callTool({ name: 'everything__trigger-long-running-operation', arguments: { duration: 0.3, steps: 3 } },
    undefined, { onprogress: (p) => progress.push(p.progress), timeout: 15000 });
  assert.ok(progress.length >= 2, `progress: ${progress}`);
  const { contents } = await client.readResource({ uri: 'demo://resource/static/document/architecture.md' }).catch(async () => {
    const { resources } = await client.listResources();
    return client.readResource({ uri: resources[0].uri });
  });
  assert.ok(contents.length > 0);
  const sid = transport.sessionId;
  await transport.terminateSession();
  await client.close();
  const recs = readAudit(audit).filter((r) => r.session === sid);
  // Audit records carry the real server and the tool name that server knows.
  assert.ok(recs.some((r) => r.server === 'files' && r.tool === 'write_file' && r.decision === 'block'));
  assert.ok(recs.some((r) => r.server === 'everything' && r.tool === 'echo' && r.decision === 'allow'));
  assert.ok(recs.some((r) => r.server === 'shadow' && r.tool === 'read_fi1e'));
});

test('a look-alike tool on another server is audited as shadowing, on both sides', async () => {
  const { client, transport } = await connect();
  await client.listTools();
  const sid = transport.sessionId;
  await transport.terminateSession();
  await client.close();
  const shadow = readAudit(audit).filter((r) => r.session === sid && r.kind === 'lifecycle' && r.method === 'shadowing');
  const rules = shadow.flatMap((r) => r.findings.map((f) => `${r.server}:${f.detector}`));
  assert.ok(rules.includes('shadow:shadow.cross_reference'), rules.join(' '));
  assert.ok(rules.some((x) => /^(files|shadow):shadow\.confusable_name$/.test(x)), rules.join(' '));
});

const approvals = (args) => runWarden(['approvals', ...args, '--admin', admin, '--token', TOKEN]);

async function waitForApproval(tool) {
  for (let i = 0; i < 100; i++) {
    const r = await approvals(['list', '--format', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const held = JSON.parse(r.stdout).find((a) => a.tool === tool);
    if (held) return held;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`no pending approval for ${tool}`);
}

test('action: approve holds the call until a person approves, denies, or the wait times out', async () => {
  const { client, transport } = await connect();
  await client.listTools();
  // Approved: the call goes through and the server answers.
  const call = client.callTool({ name: 'everything__get-sum', arguments: { a: 2, b: 3 } });
  const held = await waitForApproval('get-sum');
  assert.equal(held.server, 'everything');
  assert.match(held.arguments, /"a":2/);
  assert.ok(held.expires_in_s <= 8);
  const table = await approvals(['list']);
  assert.match(table.stdout, new RegExp(`${held.id}  tools/call 'get-sum' on server 'everything'`));
  const ok = await approvals(['approve', held.id, '--by', 'alice']);
  assert.equal(ok.code, 0, ok.stderr);
  assert.match(JSON.stringify((await call).content), /5/);
  assert.equal((await approvals(['approve', held.id])).code, 1, 'a decided approval is gone');
  // Denied, with the reason in the error.
  const call2 = assert.rejects(client.callTool({ name: 'everything__get-sum', arguments: { a: 1, b: 1 } }),
    /not approved: denied by bob \(admin API\): not today/);
  const held2 = await waitForApproval('get-sum');
  assert.equal((await approvals(['deny', held2.id, '--by', 'bob', '--reason', 'not today'])).code, 0);
  await call2;
  // Nobody decides: denied after --approval-timeout-s.
  await assert.rejects(client.callTool({ name: 'everything__get-sum', arguments: { a: 0, b: 0 } }),
    /not approved: nobody decided within 8 s/);
  const sid = transport.sessionId;
  await transport.terminateSession();
  await client.close();
  const recs = readAudit(audit).filter((r) => r.session === sid && r.tool === 'get-sum' && r.kind === 'request');
  assert.deepEqual(recs.map((r) => r.decision), ['approve', 'approve', 'approve', 'block', 'approve', 'block'],
    'held (approve), then forwarded (approve) / refused (block)');
  assert.match(JSON.stringify(recs[1].findings), /approved by alice/);
  assert.match(stderr(), /APPROVAL NEEDED/);
});
