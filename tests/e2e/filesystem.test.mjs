// The official SDK client through the warden to @modelcontextprotocol/server-filesystem.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { WARDEN, NODE, FILESYSTEM, fixture, here, tempDir, writePolicy, wardenArgs, readAudit } from './lib.mjs';

test('reads are allowed under the data dir; write_file is denied and the file is never created', async () => {
  const dir = tempDir();
  const data = path.join(dir, 'data');
  fs.mkdirSync(data);
  fs.writeFileSync(path.join(data, 'notes.txt'), 'hello from disk\n');
  const audit = path.join(dir, 'audit.jsonl');
  const seen = path.join(dir, 'server-stdin.log');
  const policy = writePolicy(dir, `version: 1
audit: {path: ${audit}}
servers:
  files:
    sandbox: {fs: {read: [${data}, ${here}], write: [${dir}]}}
    tools:
      read_text_file: {args: {path: {path_under: [${data}]}}}
      read_file: {args: {path: {path_under: [${data}]}}}
      list_directory: {args: {path: {path_under: [${data}]}}}
      write_file: {action: deny}
      "*": {action: deny}
`);
  const client = new Client({ name: 'e2e-files', version: '1' });
  await client.connect(new StdioClientTransport({
    command: WARDEN,
    args: wardenArgs({ policy, server: 'files' }, [NODE, fixture('tee-server.mjs'), seen, ...FILESYSTEM(data)]),
    stderr: 'pipe',
  }));
  try {
    const list = await client.callTool({ name: 'list_directory', arguments: { path: data } });
    assert.match(list.content[0].text, /notes\.txt/);
    const read = await client.callTool({ name: 'read_text_file', arguments: { path: path.join(data, 'notes.txt') } });
    assert.match(read.content[0].text, /hello from disk/);
    // A path that escapes the data dir with .. is refused by path_under.
    await assert.rejects(client.callTool({ name: 'read_text_file', arguments: { path: `${data}/../policy.yaml` } }),
      (e) => e.code === -32001 && /path/.test(e.message));
    await assert.rejects(client.callTool({ name: 'write_file', arguments: { path: path.join(data, 'evil.txt'), content: 'pwned' } }),
      (e) => e.code === -32001 && /denied by the policy/.test(e.message));
  } finally {
    await client.close();
  }
  assert.equal(fs.existsSync(path.join(data, 'evil.txt')), false, 'the denied write must not happen');
  const saw = fs.readFileSync(seen, 'utf8');
  assert.ok(!saw.includes('write_file') && !saw.includes('policy.yaml'), 'refused calls never reached the server');
  const blocked = readAudit(audit).filter((r) => r.decision === 'block').map((r) => r.tool);
  assert.deepEqual(blocked.sort(), ['read_text_file', 'write_file']);
});
