// The conformance suite's client mode with mcp-warden gateway as the client under test: the suite
// starts a scenario server and runs this file with its URL; we put `mcp-warden gateway` in front
// of that URL (a remote upstream, `url:`) and drive the official SDK client through the gateway as
// the scenario expects. What the scenario server checks (the initialize it receives, the calls,
// the elicitation answer, SSE reconnection with Last-Event-ID after `retry:`) is then what the
// gateway did as a client.
//
// Usage (by the suite): node client-through-gateway.mjs SERVER_URL, with MCP_CONFORMANCE_SCENARIO
// set; WARDEN_BIN names the mcp-warden binary.
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';

const serverUrl = process.argv[process.argv.length - 1];
const scenario = process.env.MCP_CONFORMANCE_SCENARIO || '';
const warden = process.env.WARDEN_BIN;
if (!warden || !serverUrl.startsWith('http')) {
  console.error('usage: WARDEN_BIN=... node client-through-gateway.mjs SERVER_URL');
  process.exit(2);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'warden-conformance-client-'));
const policy = path.join(dir, 'policy.yaml');
fs.writeFileSync(policy, `version: 1
audit: {path: ${JSON.stringify(path.join(dir, 'audit.jsonl'))}}
servers:
  upstream:
    url: ${JSON.stringify(serverUrl)}
    tools: {"*": {action: allow}}
    prompts: {"*": {action: allow}}
    resources: {"*": {action: allow}}
`);

function startGateway() {
  const proc = spawn(warden, ['gateway', '--config', policy, '--listen', '127.0.0.1:0', '--state-dir', path.join(dir, 'state')],
    { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  return new Promise((resolve, reject) => {
    proc.stderr.on('data', (d) => {
      err += d;
      process.stderr.write(d);
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) resolve({ proc, url: new URL(m[1]) });
    });
    proc.on('exit', (code) => reject(new Error(`gateway exited ${code}`)));
  });
}

const { proc: gateway, url } = await startGateway();
const stop = () => { try { gateway.kill('SIGTERM'); } catch {} };
process.on('exit', stop);

let status = 0;
try {
  const client = new Client({ name: 'mcp-warden-conformance-client', version: '1.0.0' },
    { capabilities: { elicitation: { form: { applyDefaults: true } } } });
  // Accept every elicitation with no fields of our own: the SDK fills in the schema's defaults.
  client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: {} }));
  await client.connect(new StreamableHTTPClientTransport(url));
  const { tools } = await client.listTools();
  if (scenario === 'tools_call') {
    await client.callTool({ name: 'add_numbers', arguments: { a: 5, b: 3 } });
  } else if (scenario.startsWith('elicitation')) {
    await client.callTool({ name: tools[0].name, arguments: {} });
  } else if (scenario === 'sse-retry') {
    await client.callTool({ name: 'test_reconnection', arguments: {} }, undefined, { timeout: 20000 });
  }
  await client.close();
} catch (e) {
  console.error(`client-through-gateway (${scenario}): ${e.stack || e}`);
  status = 1;
}
stop();
await new Promise((r) => gateway.once('exit', r));
fs.rmSync(dir, { recursive: true, force: true });
process.exit(status);
