// The official TypeScript SDK client <-> mcp-warden <-> @modelcontextprotocol/server-everything:
// every MCP feature passes through the warden unchanged.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import {
  CreateMessageRequestSchema, ElicitRequestSchema, ListRootsRequestSchema,
  LoggingMessageNotificationSchema, ResourceUpdatedNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';
import { WARDEN, EVERYTHING, tempDir, writePolicy, wardenArgs, runWarden, readAudit, withTimeout } from './lib.mjs';

const dir = tempDir();
const audit = path.join(dir, 'audit.jsonl');
const policy = writePolicy(dir, `version: 1
mode: enforce
audit: {path: ${audit}, fsync: batch}
alerts: {alert_severity: critical, sinks: [stderr]}
servers:
  everything:
    tools:
      get-env: {action: deny}
      get-sum:
        args:
          a: {max_length: 20}
      "*": {action: allow}
    prompts:
      "*": {action: allow}
    resources:
      "demo://*": {action: allow}
`);

let client;
const seen = { sampling: 0, elicitation: 0, roots: 0, logs: [], updates: [] };

before(async () => {
  client = new Client({ name: 'e2e-everything', version: '1.0.0' },
    { capabilities: { sampling: {}, elicitation: { form: {} }, roots: { listChanged: true } } });
  client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
    seen.sampling++;
    return { model: 'e2e-model', role: 'assistant', content: { type: 'text', text: `sampled: ${req.params.messages.length} message(s)` } };
  });
  client.setRequestHandler(ElicitRequestSchema, async () => {
    seen.elicitation++;
    return { action: 'decline' };
  });
  client.setRequestHandler(ListRootsRequestSchema, async () => {
    seen.roots++;
    return { roots: [{ uri: 'file:///tmp/e2e-root', name: 'e2e root' }] };
  });
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => seen.logs.push(n.params));
  client.setNotificationHandler(ResourceUpdatedNotificationSchema, (n) => seen.updates.push(n.params.uri));
  const transport = new StdioClientTransport({
    command: WARDEN, args: wardenArgs({ policy, server: 'everything' }, EVERYTHING), stderr: 'pipe',
  });
  await withTimeout(client.connect(transport), 20000, 'connect');
});

after(async () => {
  await client?.close();
});

test('initialize negotiates through the warden', () => {
  assert.match(client.getServerVersion().name, /everything/);
  const caps = client.getServerCapabilities();
  assert.ok(caps.tools && caps.prompts && caps.resources && caps.logging);
});

test('tools: list and call echo, get-sum, structured content, image', async () => {
  const { tools } = await client.listTools();
  const names = tools.map((t) => t.name);
  for (const n of ['echo', 'get-sum', 'trigger-long-running-operation', 'trigger-sampling-request', 'get-roots-list'])
    assert.ok(names.includes(n), `missing tool ${n} in ${names}`);
  const echo = await client.callTool({ name: 'echo', arguments: { message: 'through the warden' } });
  assert.equal(echo.content[0].text, 'Echo: through the warden');
  const sum = await client.callTool({ name: 'get-sum', arguments: { a: 2, b: 40 } });
  assert.match(sum.content[0].text, /42/);
  const structured = await client.callTool({ name: 'get-structured-content', arguments: { location: 'New York' } });
  assert.ok(structured.structuredContent, 'structuredContent passes through');
  const image = await client.callTool({ name: 'get-tiny-image', arguments: {} });
  assert.ok(image.content.some((c) => c.type === 'image' && c.data.length > 100));
});

test('a denied tool is refused with a JSON-RPC error naming the policy', async () => {
  await assert.rejects(client.callTool({ name: 'get-env', arguments: {} }), (e) => {
    assert.equal(e.code, -32001);
    assert.match(e.message, /denied by the policy/);
    return true;
  });
});

test('progress notifications reach the client during a long call', async () => {
  const progress = [];
  const r = await client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 0.3, steps: 3 } },
    undefined, { onprogress: (p) => progress.push(p.progress), timeout: 15000 });
  assert.ok(r.content.length > 0);
  // The SDK client dispatches notifications a microtask late but settles responses at once, so a
  // last progress notification that lands in the same read as the response can be lost inside the
  // client (whether or not a proxy sits in between). Steps 1 and 2 must arrive; the audit log then
  // shows the warden forwarded all three, in order, before the response.
  assert.deepEqual(progress.slice(0, 2), [1, 2]);
  await new Promise((res) => setTimeout(res, 250));  // audit batch flush
  const recs = readAudit(audit);
  const resp = recs.findLast((x) => x.tool === 'trigger-long-running-operation' && x.kind === 'response');
  const req = recs.findLast((x) => x.tool === 'trigger-long-running-operation' && x.kind === 'request');
  const notes = recs.filter((x) => x.method === 'notifications/progress' && x.seq > req.seq && x.seq < resp.seq);
  assert.equal(notes.length, 3);
  assert.ok(notes.every((x) => x.decision === 'allow' && x.direction === 's2c'));
});

test('sampling/createMessage from the server reaches the client and back', async () => {
  const r = await client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'hello', maxTokens: 10 } });
  assert.equal(seen.sampling, 1);
  assert.match(JSON.stringify(r.content), /sampled: 1 message/);
});

test('elicitation/create from the server reaches the client and back', async () => {
  const r = await client.callTool({ name: 'trigger-elicitation-request', arguments: {} });
  assert.equal(seen.elicitation, 1);
  assert.match(JSON.stringify(r.content), /decline/i);
});

test('roots/list from the server reaches the client and back', async () => {
  const r = await client.callTool({ name: 'get-roots-list', arguments: {} });
  assert.ok(seen.roots >= 1);
  assert.match(JSON.stringify(r.content), /e2e-root/);
});

test('resources: list, templates, read, subscribe', async () => {
  const { resources } = await client.listResources();
  assert.ok(resources.length > 0);
  const { resourceTemplates } = await client.listResourceTemplates();
  assert.ok(resourceTemplates.length > 0);
  const uri = resources[0].uri;
  const read = await client.readResource({ uri });
  assert.equal(read.contents[0].uri, uri);
  await client.subscribeResource({ uri });
  await client.unsubscribeResource({ uri });
});

test('prompts: list and get with arguments; completion', async () => {
  const { prompts } = await client.listPrompts();
  const names = prompts.map((p) => p.name);
  assert.ok(names.includes('simple-prompt') && names.includes('args-prompt'), names.join(','));
  const simple = await client.getPrompt({ name: 'simple-prompt' });
  assert.ok(simple.messages.length > 0);
  const args = await client.getPrompt({ name: 'args-prompt', arguments: { city: 'Lisbon', state: 'Lisboa' } });
  assert.match(JSON.stringify(args.messages), /Lisbon/);
  const c = await client.complete({ ref: { type: 'ref/prompt', name: 'completable-prompt' }, argument: { name: 'department', value: 'E' } });
  assert.ok(Array.isArray(c.completion.values));
});

test('logging: setLevel and notifications/message', async () => {
  await client.setLoggingLevel('debug');
  await client.callTool({ name: 'toggle-simulated-logging', arguments: {} });
  const deadline = Date.now() + 8000;
  while (seen.logs.length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  await client.callTool({ name: 'toggle-simulated-logging', arguments: {} });
  assert.ok(seen.logs.length > 0, 'no notifications/message arrived');
});

test('cancellation: an aborted call sends notifications/cancelled and the client sees the abort', async () => {
  const ac = new AbortController();
  const call = client.callTool({ name: 'trigger-long-running-operation', arguments: { duration: 5, steps: 5 } },
    undefined, { signal: ac.signal, timeout: 20000 });
  setTimeout(() => ac.abort('e2e abort'), 200);
  await assert.rejects(call, /abort/i);
  // The warden forwarded the cancellation: the audit log holds the notification.
  await client.ping();
});

test('ping both ways, and the audit log holds every exchange and verifies', async () => {
  await client.ping();
  await new Promise((r) => setTimeout(r, 300));  // batch flush
  const records = readAudit(audit);
  const methods = new Set(records.map((r) => r.method));
  for (const m of ['initialize', 'tools/list', 'tools/call', 'sampling/createMessage', 'elicitation/create', 'roots/list',
                   'resources/read', 'resources/subscribe', 'prompts/get', 'completion/complete', 'logging/setLevel',
                   'notifications/progress', 'notifications/cancelled', 'notifications/message', 'ping'])
    assert.ok(methods.has(m), `audit log has no ${m} record`);
  const denied = records.find((r) => r.tool === 'get-env' && r.kind === 'request');
  assert.equal(denied.decision, 'block');
  assert.equal(denied.findings[0].detector, 'policy.denied');
  // The denied call never reached the server: no response from the server for it.
  assert.equal(records.filter((r) => r.tool === 'get-env' && r.direction === 's2c').length, 0);
  const v = await runWarden(['audit', 'verify', audit]);
  assert.equal(v.code, 0, v.stdout + v.stderr);
  assert.match(v.stdout, /^OK: \d+ records verified/);
});
