// A Streamable HTTP MCP echo server on the official SDK (no gateway in front): the "direct (SDK)"
// row of bench/gateway_load.sh. Stateful sessions, JSON responses (enableJsonResponse), one tool
// `echo` answering arguments.text as text content, like warden_echo_server.
//   node bench/http_echo_server.mjs [PORT]   (0: any free port; prints "listening on URL")
import http from 'node:http';
import { randomUUID } from 'node:crypto';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// The SDK and zod come from tests/e2e/node_modules (pinned by its package-lock.json).
const here = path.dirname(fileURLToPath(import.meta.url));
const require = createRequire(path.join(here, '../tests/e2e/package.json'));
const { McpServer } = await import(require.resolve('@modelcontextprotocol/sdk/server/mcp.js'));
const { StreamableHTTPServerTransport } = await import(require.resolve('@modelcontextprotocol/sdk/server/streamableHttp.js'));
const { z } = await import(require.resolve('zod'));

const transports = new Map();

function newServer() {
  const server = new McpServer({ name: 'echo', version: '1' });
  server.registerTool('echo', { description: 'Echo text', inputSchema: { text: z.string().optional() } },
    async ({ text }) => ({ content: [{ type: 'text', text: text ?? '' }] }));
  return server;
}

function readBody(req) {
  return new Promise((resolve, reject) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

const httpServer = http.createServer(async (req, res) => {
  try {
    const sid = req.headers['mcp-session-id'];
    let body;
    if (req.method === 'POST') {
      const text = await readBody(req);
      try { body = JSON.parse(text); } catch { res.writeHead(400).end('bad JSON'); return; }
    }
    let transport = sid ? transports.get(sid) : undefined;
    if (!transport) {
      if (sid) { res.writeHead(404, { 'content-type': 'application/json' }).end('{"jsonrpc":"2.0","id":null,"error":{"code":-32001,"message":"Session not found"}}'); return; }
      if (req.method !== 'POST' || body?.method !== 'initialize') { res.writeHead(400).end('no session'); return; }
      transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        enableJsonResponse: true,
        onsessioninitialized: (id) => transports.set(id, transport),
      });
      transport.onclose = () => { if (transport.sessionId) transports.delete(transport.sessionId); };
      await newServer().connect(transport);
    }
    await transport.handleRequest(req, res, body);
  } catch (e) {
    if (!res.headersSent) res.writeHead(500).end(String(e));
  }
});
httpServer.keepAliveTimeout = 60000;
httpServer.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  console.log(`listening on http://127.0.0.1:${httpServer.address().port}/mcp`);
});
for (const s of ['SIGINT', 'SIGTERM']) process.on(s, () => process.exit(0));
