// Raw protocol through the warden: what a parser trick or a broken message can and cannot do.
// A tee wrapper records every line the server receives, to prove refused messages never reach it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { NODE, EVERYTHING, fixture, tempDir, writePolicy, wardenArgs, RawSession, readAudit } from './lib.mjs';

function setup() {
  const dir = tempDir();
  const seen = path.join(dir, 'server-stdin.log');
  const audit = path.join(dir, 'audit.jsonl');
  const policy = writePolicy(dir, `version: 1
audit: {path: ${audit}}
servers:
  everything:
    sandbox: {fs: {write: [${dir}]}}
    tools:
      get-env: {action: deny}
      "*": {action: allow}
`);
  const session = new RawSession(wardenArgs({ policy, server: 'everything' },
    [NODE, fixture('tee-server.mjs'), seen, ...EVERYTHING]));
  return { dir, seen, audit, session, serverSaw: () => fs.existsSync(seen) ? fs.readFileSync(seen, 'utf8') : '' };
}

test('duplicate keys, an escaped method name, and every malformed message stop at the warden', async () => {
  const { session, serverSaw, audit } = setup();
  try {
    await session.initialize();
    const cases = [
      // Duplicate key: one parser sees echo, another get-env.
      ['dup', '{"jsonrpc":"2.0","id":"dup","method":"tools/call","params":{"name":"echo","name":"get-env","arguments":{}}}', -32600, /duplicate key "name"/],
      // The denied tool spelled with JSON escapes, method and name both.
      ['esc', '{"jsonrpc":"2.0","id":"esc","method":"tools\\u002fcall","params":{"name":"get\\u002denv","arguments":{}}}', -32001, /denied by the policy/],
      ['surrogate', '{"jsonrpc":"2.0","id":"surrogate","method":"tools/call","params":{"name":"echo","arguments":{"message":"\\ud800"}}}', -32700, /surrogate/],
      ['deep', '{"jsonrpc":"2.0","id":"deep","method":"tools/call","params":{"name":"echo","arguments":{"message":' + '['.repeat(200) + ']'.repeat(200) + '}}}', -32600, /deeper than the limit of 128/],
      [null, '{"jsonrpc":"2.0","id":1.5,"method":"ping"}', -32600, /fraction/],
      [null, '{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}', -32600, /string or an integer/],
      [null, 'this is not json', -32700, /invalid JSON/],
    ];
    for (const [id, line, code, re] of cases) {
      session.send(line);
      const answer = await session.waitFor((m) => m.error && (id ? m.id === id : m.id === null && re.test(m.error.message)));
      assert.equal(answer.error.code, code, line);
      assert.match(answer.error.message, re);
    }
    // Invalid UTF-8 bytes inside a string.
    session.sendBytes(Buffer.concat([Buffer.from('{"jsonrpc":"2.0","id":"utf8","method":"tools/call","params":{"name":"echo","arguments":{"message":"'), Buffer.from([0xff, 0xfe]), Buffer.from('"}}}')]));
    const bad = await session.waitFor('utf8');
    assert.match(bad.error.message, /not valid UTF-8/);
    assert.equal(bad.error.code, -32700);
    // A normal call still works afterwards, and is the only tools/call the server ever saw.
    session.send('{"jsonrpc":"2.0","id":"ok","method":"tools/call","params":{"name":"echo","arguments":{"message":"still fine"}}}');
    const ok = await session.waitFor('ok');
    assert.equal(ok.result.content[0].text, 'Echo: still fine');
    const saw = serverSaw();
    assert.equal(saw.split('\n').filter((l) => l.includes('tools')).length, 1, `server saw:\n${saw}`);
    assert.ok(!saw.includes('get-env') && !saw.includes('get\\u002denv') && !saw.includes('\\ud800'));
  } finally {
    await session.close();
  }
  const blocked = readAudit(audit).filter((r) => r.decision === 'block');
  assert.ok(blocked.length >= 8, `expected the refusals in the audit log, got ${blocked.length}`);
});

test('an oversized message is refused without being buffered whole', async () => {
  const dir = tempDir();
  const session = new RawSession(['run', '--audit', path.join(dir, 'a.jsonl'), '--max-message-bytes', '65536', '--', ...EVERYTHING]);
  try {
    await session.initialize();
    session.send('{"jsonrpc":"2.0","id":"big","method":"tools/call","params":{"name":"echo","arguments":{"message":"' + 'x'.repeat(200000) + '"}}}');
    const r = await session.waitFor((m) => m.error && /exceeds the limit of 65536 bytes/.test(m.error.message));
    assert.equal(r.error.code, -32600);
    session.send('{"jsonrpc":"2.0","id":"after","method":"ping"}');
    assert.deepEqual((await session.waitFor('after')).result, {});
  } finally {
    await session.close();
  }
});

test('batches are refused outside protocol 2025-03-26 (relaying inside it: tests/unit/gateway)', async () => {
  const dir = tempDir();
  const args = ['run', '--audit', path.join(dir, 'a.jsonl'), '--', ...EVERYTHING];
  const modern = new RawSession(args);
  try {
    await modern.initialize('2025-06-18');
    modern.send('[{"jsonrpc":"2.0","id":"b1","method":"ping"},{"jsonrpc":"2.0","id":"b2","method":"ping"}]');
    const r = await modern.waitFor((m) => m.error && /batches are not allowed/.test(m.error.message));
    assert.equal(r.error.code, -32600);
  } finally {
    await modern.close();
  }
});
