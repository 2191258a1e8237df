// The warden's lifecycle with real servers: a crash mid-call, non-JSON output, EOF and SIGTERM,
// monitor mode, and a tampered audit log.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { WARDEN, NODE, EVERYTHING, fixture, tempDir, writePolicy, wardenArgs, RawSession, runWarden, readAudit, withTimeout } from './lib.mjs';

test('a server that crashes mid-call: the pending request gets an error and the warden exits with its status', async () => {
  const dir = tempDir();
  const audit = path.join(dir, 'audit.jsonl');
  const session = new RawSession(['run', '--audit', audit, '--', NODE, fixture('crashy-server.mjs')]);
  await session.initialize();
  session.send('{"jsonrpc":"2.0","id":"e","method":"tools/call","params":{"name":"echo","arguments":{"message":"x"}}}');
  assert.equal((await session.waitFor('e')).result.content[0].text, 'x');
  session.send('{"jsonrpc":"2.0","id":"c","method":"tools/call","params":{"name":"crash","arguments":{}}}');
  const err = await session.waitFor('c');
  assert.equal(err.error.code, -32002);
  assert.match(err.error.message, /the server exited with status 7 before answering this tools\/call request/);
  const { code } = await withTimeout(session.exited, 10000, 'warden exit');
  assert.equal(code, 7);
  // The server's non-JSON banner was dropped, not forwarded, and recorded.
  assert.ok(!session.lines.some((l) => l.includes('crashy-server starting')), session.lines.join('\n'));
  const dropped = readAudit(audit).find((r) => r.findings.some((f) => f.detector === 'codec.non_json_output'));
  assert.ok(dropped, 'the dropped banner is in the audit log');
  assert.match(JSON.stringify(dropped), /crashy-server starting/);
});

test('EOF on stdin: the server is asked to exit and the warden exits cleanly', async () => {
  const dir = tempDir();
  const session = new RawSession(['run', '--audit', path.join(dir, 'a.jsonl'), '--', ...EVERYTHING]);
  await session.initialize();
  const started = Date.now();
  const { code } = await session.close();
  assert.equal(code, 0);
  assert.ok(Date.now() - started < 8000);
});

test('SIGTERM: the server is terminated and the warden exits', async () => {
  const dir = tempDir();
  const audit = path.join(dir, 'a.jsonl');
  const session = new RawSession(['run', '--grace-ms', '500', '--audit', audit, '--', ...EVERYTHING]);
  await session.initialize();
  session.child.kill('SIGTERM');
  const { code, signal } = await withTimeout(session.exited, 8000, 'exit after SIGTERM');
  assert.equal(signal, null);
  assert.ok(code === 0 || code === 143, `exit code ${code}`);
  const stop = readAudit(audit).find((r) => r.kind === 'lifecycle' && r.method === 'stop');
  assert.ok(stop, 'a stop record was written');
});

test('monitor mode lets a denied call through and records what enforce would block', async () => {
  const dir = tempDir();
  const audit = path.join(dir, 'audit.jsonl');
  const policy = writePolicy(dir, `version: 1
audit: {path: ${audit}}
servers:
  everything:
    tools:
      get-sum: {action: deny}
      "*": {action: allow}
`);
  const client = new Client({ name: 'e2e-monitor', version: '1' });
  await client.connect(new StdioClientTransport({ command: WARDEN, args: wardenArgs({ policy, mode: 'monitor', server: 'everything' }, EVERYTHING), stderr: 'pipe' }));
  try {
    const r = await client.callTool({ name: 'get-sum', arguments: { a: 1, b: 2 } });
    assert.match(r.content[0].text, /3/);
  } finally {
    await client.close();
  }
  const rec = readAudit(audit).find((x) => x.tool === 'get-sum' && x.kind === 'request');
  assert.equal(rec.decision, 'allow');
  assert.equal(rec.findings[0].detector, 'policy.denied');
  assert.match(rec.findings[0].message, /^monitor: would block: /);
});

test('a broken policy file is refused at start with file, line, column and the fix', async () => {
  const dir = tempDir();
  const policy = writePolicy(dir, 'version: 1\nservers:\n  s:\n    tools:\n      echo: {acton: deny}\n');
  const r = await runWarden(['run', '--policy', policy, '--', ...EVERYTHING]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, new RegExp(`${policy.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:5:14: error: unknown key 'acton'.*Did you mean 'action'`));
});

test('audit verify detects an edited record and names its seq', async () => {
  const dir = tempDir();
  const audit = path.join(dir, 'audit.jsonl');
  const session = new RawSession(['run', '--audit', audit, '--', ...EVERYTHING]);
  await session.initialize();
  session.send('{"jsonrpc":"2.0","id":"p","method":"ping"}');
  await session.waitFor('p');
  await session.close();
  const ok = await runWarden(['audit', 'verify', audit]);
  assert.equal(ok.code, 0, ok.stdout);
  const lines = fs.readFileSync(audit, 'utf8').split('\n');
  const i = lines.findIndex((l) => l.includes('"method":"ping"'));
  lines[i] = lines[i].replace('"decision":"allow"', '"decision":"block"');
  fs.writeFileSync(audit, lines.join('\n'));
  const seq = JSON.parse(lines[i]).seq;
  const bad = await runWarden(['audit', 'verify', audit]);
  assert.equal(bad.code, 1);
  assert.match(bad.stdout, new RegExp(`seq ${seq}: hash mismatch`));
});
