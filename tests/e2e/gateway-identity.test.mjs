// `mcp-warden gateway` with agent identities: TLS on the listener, JWT bearer tokens (RS256 and
// ES256, signed here with Node crypto against a JWKS file) and mutual-TLS client certificates
// (made here with the openssl CLI). The official SDK client connects over https with the test CA
// trusted, through a fetch built on node:https (so it can present a client certificate).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import { Readable } from 'node:stream';
import { spawnSync } from 'node:child_process';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { EVERYTHING, tempDir, writePolicy, readAudit, runWarden, startGateway, yamlArgv, stopGateway } from './lib.mjs';

const ISSUER = 'https://idp.test/';
const AUDIENCE = 'https://gw.test/mcp';
let dir, pki, keys, audit, gw, url;

// ---- certificates (openssl CLI) and keys (Node crypto) --------------------------------------------

function openssl(args) {
  const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
}
function makeCa(name) {
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`,
           '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`,
           '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
}
function makeLeaf(name, ca, subj, ext) {
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', `${name}.key`,
           '-out', `${name}.csr`, '-subj', subj]);
  fs.writeFileSync(path.join(dir, `${name}.ext`), ext);
  openssl(['x509', '-req', '-in', `${name}.csr`, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial',
           '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`]);
  fs.chmodSync(path.join(dir, `${name}.key`), 0o600);
  return { cert: fs.readFileSync(path.join(dir, `${name}.pem`)), key: fs.readFileSync(path.join(dir, `${name}.key`)) };
}

const b64u = (v) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');
function jwt({ alg = 'RS256', kid, key, claims = {} }) {
  const now = Math.floor(Date.now() / 1000);
  const body = { iss: ISSUER, aud: AUDIENCE, sub: 'ci-app', scope: 'mcp:tools mcp:read', iat: now, exp: now + 300, ...claims };
  const input = `${b64u({ alg, typ: 'JWT', kid })}.${b64u(body)}`;
  const sig = crypto.sign('sha256', Buffer.from(input), alg === 'ES256' ? { key, dsaEncoding: 'ieee-p1363' } : key);
  return `${input}.${sig.toString('base64url')}`;
}

// ---- fetch over node:https, with the test CA and optionally a client certificate ------------------

function tlsFetch(tls = {}) {
  const agent = new https.Agent({ ca: pki.ca, ...tls, keepAlive: false });
  return (input, init = {}) => new Promise((resolve, reject) => {
    const u = new URL(input instanceof Request ? input.url : String(input));
    const headers = Object.fromEntries(new Headers(init.headers ?? {}).entries());
    const req = https.request(u, { method: init.method ?? 'GET', headers, agent, signal: init.signal }, (res) => {
      const h = new Headers();
      for (const [k, v] of Object.entries(res.headers)) h.set(k, Array.isArray(v) ? v.join(', ') : v);
      const empty = res.statusCode === 204 || res.statusCode === 304;
      resolve(new Response(empty ? null : Readable.toWeb(res), { status: res.statusCode, headers: h }));
    });
    req.on('error', reject);
    req.end(init.body ?? undefined);
  });
}

const INIT = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } });
const post = (f, headers = {}) => f(url, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'application/json', ...headers }, body: INIT });

async function connect(f, headers = {}) {
  const client = new Client({ name: 'e2e-identity', version: '1' });
  const transport = new StreamableHTTPClientTransport(url, { fetch: f, requestInit: { headers } });
  await client.connect(transport);
  return { client, transport };
}

const sha = (s) => crypto.createHash('sha256').update(s).digest('hex');

function policyYaml({ clientCert = 'optional', auditPath = audit } = {}) {
  return `version: 1
audit: {path: ${auditPath}}
gateway:
  tls: {cert: ${path.join(dir, 'server.pem')}, key: ${path.join(dir, 'server.key')}, client_ca: ${path.join(dir, 'agents-ca.pem')}, client_cert: ${clientCert}}
  auth:
    jwt: {issuer: "${ISSUER}", audience: "${AUDIENCE}", jwks: ${path.join(dir, 'jwks.json')}}
servers:
  everything:
    command: ${yamlArgv(EVERYTHING)}
    tools: {"*": {action: allow}}
agents:
  ci-bot: {jwt: {subject: ci-app, scopes: [mcp:tools]}, servers: [everything], tools: [echo]}
  es-bot: {jwt: {subject: es-app}, servers: [everything]}
  deploy: {mtls: {cn: deploy-bot, uri: "spiffe://example.org/deploy"}, servers: [everything]}
  keyed: {api_key_sha256: "${sha('keyed-key')}", servers: [everything]}
`;
}

before(async () => {
  dir = tempDir();
  audit = path.join(dir, 'audit.jsonl');
  makeCa('server-ca');
  makeCa('agents-ca');
  makeCa('rogue-ca');
  makeLeaf('server', 'server-ca', '/CN=127.0.0.1', 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  pki = {
    ca: fs.readFileSync(path.join(dir, 'server-ca.pem')),
    deploy: makeLeaf('deploy', 'agents-ca', '/CN=deploy-bot/O=Example', 'subjectAltName=URI:spiffe://example.org/deploy\n'),
    stranger: makeLeaf('stranger', 'agents-ca', '/CN=stranger', 'subjectAltName=URI:spiffe://example.org/stranger\n'),
    rogue: makeLeaf('rogue', 'rogue-ca', '/CN=deploy-bot/O=Example', 'subjectAltName=URI:spiffe://example.org/deploy\n'),
  };
  const rsa = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  const ec = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const other = crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
  keys = { rsa: rsa.privateKey, ec: ec.privateKey, other: other.privateKey };
  fs.writeFileSync(path.join(dir, 'jwks.json'), JSON.stringify({ keys: [
    { ...rsa.publicKey.export({ format: 'jwk' }), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
    { ...ec.publicKey.export({ format: 'jwk' }), kid: 'ec-1', alg: 'ES256', use: 'sig' },
  ] }));
  ({ proc: gw, url } = await startGateway(['--config', writePolicy(dir, policyYaml()), '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0']));
});

after(() => stopGateway(gw));

test('TLS: the SDK client connects over https; an RS256 JWT selects its agent, whose tool list applies', async () => {
  assert.equal(url.protocol, 'https:');
  const token = jwt({ kid: 'rsa-1', key: keys.rsa });
  const { client, transport } = await connect(tlsFetch(), { Authorization: `Bearer ${token}` });
  const echo = await client.callTool({ name: 'echo', arguments: { message: 'over tls' } });
  assert.match(JSON.stringify(echo.content), /over tls/);
  await assert.rejects(client.callTool({ name: 'get-sum', arguments: { a: 1, b: 2 } }), /agent 'ci-bot' may not call tool 'get-sum'/);
  await transport.terminateSession();
  await client.close();
  const text = fs.readFileSync(audit, 'utf8');
  assert.ok(readAudit(audit).some((r) => r.agent === 'ci-bot' && r.tool === 'get-sum' && r.decision === 'block'));
  assert.ok(!text.includes(token) && !text.includes(token.split('.')[2]), 'tokens never reach the audit log');
  // Plain HTTP to the TLS port gets nowhere.
  await assert.rejects(fetch(url.href.replace('https:', 'http:'), { method: 'POST', body: INIT }));
});

test('an ES256 JWT is accepted for its agent', async () => {
  const { client, transport } = await connect(tlsFetch(), { Authorization: `Bearer ${jwt({ alg: 'ES256', kid: 'ec-1', key: keys.ec, claims: { sub: 'es-app' } })}` });
  const sum = await client.callTool({ name: 'get-sum', arguments: { a: 2, b: 3 } });
  assert.match(JSON.stringify(sum.content), /5/);
  await transport.terminateSession();
  await client.close();
  assert.ok(readAudit(audit).some((r) => r.agent === 'es-bot' && r.tool === 'get-sum' && r.decision === 'allow'));
});

test('expired, wrong-audience, wrong-signature and unmapped JWTs get 401 with error_description; https metadata', async () => {
  const f = tlsFetch();
  const now = Math.floor(Date.now() / 1000);
  const cases = [
    [jwt({ kid: 'rsa-1', key: keys.rsa, claims: { exp: now - 3600 } }), /error="invalid_token", error_description="[^"]*expired[^"]*"/],
    [jwt({ kid: 'rsa-1', key: keys.rsa, claims: { aud: 'https://elsewhere.test/' } }), /error="invalid_token", error_description="[^"]*aud[^"]*"/],
    [jwt({ kid: 'rsa-1', key: keys.other }), /error="invalid_token", error_description="[^"]*signature[^"]*"/],
    [jwt({ alg: 'ES256', kid: 'ec-1', key: keys.ec, claims: { sub: 'nobody' } }), /error="invalid_token", error_description="the token names no agent of this gateway"/],
  ];
  for (const [token, challenge] of cases) {
    const res = await post(f, { authorization: `Bearer ${token}` });
    assert.equal(res.status, 401);
    const www = res.headers.get('www-authenticate');
    assert.match(www, /^Bearer realm="mcp-warden", /);
    assert.match(www, challenge);
    assert.match(www, /resource_metadata="https:\/\/127\.0\.0\.1:\d+\/\.well-known\/oauth-protected-resource"$/);
    assert.match((await res.json()).error.message, /^mcp-warden: /);
  }
  const anon = await post(f);
  assert.equal(anon.status, 401);
  assert.doesNotMatch(anon.headers.get('www-authenticate'), /error=/);
  const meta = await (await f(new URL('/.well-known/oauth-protected-resource', url))).json();
  assert.equal(meta.resource, url.href);
  assert.deepEqual(meta.authorization_servers, [ISSUER]);
});

test('mTLS: a client certificate maps to its agent; unmapped, ambiguous and foreign-CA certificates are refused', async () => {
  const { client, transport } = await connect(tlsFetch(pki.deploy));
  const echo = await client.callTool({ name: 'echo', arguments: { message: 'by certificate' } });
  assert.match(JSON.stringify(echo.content), /by certificate/);
  await transport.terminateSession();
  await client.close();
  assert.ok(readAudit(audit).some((r) => r.agent === 'deploy' && r.tool === 'echo'));
  // A certificate of the right CA that no agent names: 401 (an API key still works with it... for another agent: 403).
  assert.equal((await post(tlsFetch(pki.stranger))).status, 401);
  const both = await post(tlsFetch(pki.deploy), { authorization: 'Bearer keyed-key' });
  assert.equal(both.status, 403);
  assert.match((await both.json()).error.message, /match several agents \(deploy, keyed\)/);
  assert.equal((await post(tlsFetch(pki.stranger), { authorization: 'Bearer keyed-key' })).status, 200);
  // The same names under another CA: no handshake.
  await assert.rejects(post(tlsFetch(pki.rogue)));
});

test('client_cert: required refuses connections without a certificate; TLS files are checked at start', async () => {
  const d2 = tempDir();
  const { proc, url: u2 } = await startGateway(['--config', writePolicy(d2, policyYaml({ clientCert: 'required', auditPath: path.join(d2, 'audit.jsonl') })), '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0']);
  try {
    const saved = url;
    url = u2;
    try {
      await assert.rejects(post(tlsFetch(), { authorization: 'Bearer keyed-key' }));
      const ok = await post(tlsFetch(pki.deploy));
      assert.equal(ok.status, 200);
    } finally {
      url = saved;
    }
  } finally {
    proc.kill('SIGTERM');
    await new Promise((r) => proc.on('exit', r));
  }
  fs.chmodSync(path.join(dir, 'server.key'), 0o644);
  try {
    const d3 = tempDir();
    const r = await runWarden(['gateway', '--config', writePolicy(d3, policyYaml({ auditPath: path.join(d3, 'a.jsonl') })), '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0'], { timeoutMs: 10000 });
    assert.equal(r.code, 2);
    assert.match(r.stderr, /gateway\.tls\.key: .*server\.key is readable by group or others \(mode 644\); chmod 600 it/);
  } finally {
    fs.chmodSync(path.join(dir, 'server.key'), 0o600);
  }
  const d4 = tempDir();
  const missing = policyYaml({ auditPath: path.join(d4, 'a.jsonl') }).replace(path.join(dir, 'jwks.json'), path.join(dir, 'no-such-jwks.json'));
  const r = await runWarden(['gateway', '--config', writePolicy(d4, missing), '--listen', '127.0.0.1:0', '--admin', '127.0.0.1:0'], { timeoutMs: 10000 });
  assert.equal(r.code, 2);
  assert.match(r.stderr, /agents\.ci-bot\.jwt\.jwks: .*no-such-jwks\.json/);
});
