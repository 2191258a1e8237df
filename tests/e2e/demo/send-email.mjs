// The agent of `mcp-warden demo`: the official MCP SDK client starts an email server (directly, or
// through mcp-warden), lists its tools, sends one email, then tries a second one.
//   node send-email.mjs CMD [ARGS...]
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';

const [command, ...args] = process.argv.slice(2);
const client = new Client({ name: 'demo-agent', version: '1.0.0' });
const transport = new StdioClientTransport({ command, args, env: process.env, stderr: 'inherit' });
await client.connect(transport);
const { tools } = await client.listTools();
console.log(`  agent: the server offers ${tools.map((t) => t.name).join(', ')}`);

async function send(n) {
  const request = { to: 'alice@example.com', subject: `Password reset #${n}`, textBody: 'Your reset code is 483920.' };
  console.log(`  agent: sendEmail ${JSON.stringify(request)}`);
  try {
    const r = await client.callTool({ name: 'sendEmail', arguments: request });
    console.log(`  agent: ${r.isError ? 'tool error' : 'result'}: ${r.content.map((c) => c.text).join(' ')}`);
  } catch (e) {
    console.log(`  agent: refused: ${e.message}`);
  }
}
await send(1);
await new Promise((r) => setTimeout(r, 300));  // let a quarantine land before the next call
await send(2);
await client.close();
