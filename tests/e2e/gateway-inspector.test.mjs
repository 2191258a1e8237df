// The MCP inspector (@modelcontextprotocol/inspector, CLI mode) against `mcp-warden gateway`: what
// a newcomer does to look at a gateway by hand works, with an agent's API key as a header.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { NODE, EVERYTHING, WARDEN, here, tempDir, writePolicy, startGateway, yamlArgv, stopGateway } from './lib.mjs';
import { spawn } from 'node:child_process';

const INSPECTOR = path.join(here, 'node_modules/@modelcontextprotocol/inspector/clients/launcher/build/index.js');
const KEY = 'inspector-agent-key-0123456789';
let gw, url, home;

before(async () => {
  const dir = tempDir();
  home = dir;
  const sha = crypto.createHash('sha256').update(KEY).digest('hex');
  const policy = writePolicy(dir, `version: 1
audit: {path: ${path.join(dir, 'audit.jsonl')}}
servers:
  everything:
    command: ${yamlArgv(EVERYTHING)}
    tools: {get-env: {action: deny}, "*": {action: allow}}
agents:
  human: {api_key_sha256: "${sha}", servers: [everything]}
`);
  ({ proc: gw, url } = await startGateway(['--config', policy, '--listen', '127.0.0.1:0', '--state-dir', path.join(dir, 'state')]));
});

after(() => stopGateway(gw));

async function inspector(...args) {
  return inspectorAt(url, ...args);
}

async function inspectorAt(at, ...args) {
  try {
    const { stdout } = await promisify(execFile)(NODE, [INSPECTOR, '--cli', at.href, ...args],
      { env: { ...process.env, HOME: home }, timeout: 60000 });
    return { ok: true, out: stdout };
  } catch (e) {
    return { ok: false, out: `${e.stdout}${e.stderr}` };
  }
}

test('the inspector lists and calls tools through the gateway, and needs the key', async () => {
  const auth = ['--header', `Authorization: Bearer ${KEY}`];
  const list = await inspector('--method', 'tools/list', ...auth);
  assert.ok(list.ok, list.out);
  assert.ok(JSON.parse(list.out).tools.some((t) => t.name === 'echo'), list.out);
  const call = await inspector('--method', 'tools/call', '--tool-name', 'echo', '--tool-arg', 'message=inspected', ...auth);
  assert.ok(call.ok, call.out);
  assert.equal(JSON.parse(call.out).content[0].text, 'Echo: inspected');
  const denied = await inspector('--method', 'tools/call', '--tool-name', 'get-env', ...auth);
  assert.match(denied.out, /denied by the policy/);
  // Without the key the gateway's 401 challenge sends the inspector to OAuth, which it cannot do
  // here: refused either way.
  const anonymous = await inspector('--method', 'tools/list');
  assert.match(anonymous.out, /auth_required|401/);
});

test("the README's example gateway (examples/gateway.yaml) serves both servers", async () => {
  const repo = path.resolve(here, '../..');
  const dir = tempDir();
  const proc = spawn(WARDEN, ['gateway', '--config', 'examples/gateway.yaml', '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0',
    '--audit', path.join(dir, 'audit.jsonl'), '--state-dir', path.join(dir, 'state')], { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const at = await new Promise((resolve, reject) => {
    proc.stderr.on('data', (d) => { err += d; const m = /listening on (http:\/\/\S+)/.exec(err); if (m) resolve(new URL(m[1])); });
    proc.on('exit', (code) => reject(new Error(`gateway exited ${code}: ${err}`)));
  });
  try {
    const list = await inspectorAt(at, '--method', 'tools/list');
    assert.ok(list.ok, list.out);
    const names = JSON.parse(list.out).tools.map((t) => t.name);
    assert.ok(names.includes('everything__echo') && names.includes('files__list_directory'), names.join(' '));
    const denied = await inspectorAt(at, '--method', 'tools/call', '--tool-name', 'files__write_file', '--tool-arg', 'path=x', 'content=y');
    assert.match(denied.out, /denied by the policy/);
  } finally {
    await stopGateway(proc);
  }
});
