// The comparison baseline for tests/conformance/run.sh: the same fixture server, served over
// Streamable HTTP by the official SDK's transport instead of mcp-warden gateway. Like the gateway,
// each session starts its own `node fixture-server.mjs` over stdio and messages are relayed both
// ways, so a scenario that passes here and fails through the gateway is a gateway bug.
//
// Usage: node direct-wrapper.mjs   (prints "direct-wrapper: listening on http://127.0.0.1:PORT/mcp" on stderr)
import http from 'node:http';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const FIXTURE = path.join(here, 'fixture-server.mjs');

// Resumability (Last-Event-ID): a small in-memory event store, per session stream.
class EventStore {
  #events = new Map(); // eventId -> {streamId, message}
  async storeEvent(streamId, message) {
    const id = `${streamId}_${Date.now()}_${randomUUID().slice(0, 8)}`;
    this.#events.set(id, { streamId, message });
    if (this.#events.size > 1000) this.#events.delete(this.#events.keys().next().value);
    return id;
  }
  async getStreamIdForEventId(eventId) {
    return this.#events.get(eventId)?.streamId;
  }
  async replayEventsAfter(lastEventId, { send }) {
    const first = this.#events.get(lastEventId);
    if (!first) return '';
    let after = false;
    for (const [id, { streamId, message }] of this.#events) {
      if (id === lastEventId) { after = true; continue; }
      if (after && streamId === first.streamId) await send(id, message);
    }
    return first.streamId;
  }
}

const sessions = new Map(); // session id -> {http, child}
let port = 0;
const loopbackNames = () => ['127.0.0.1', 'localhost', '[::1]'].map((h) => `${h}:${port}`);

async function newSession() {
  const child = new StdioClientTransport({ command: process.execPath, args: [FIXTURE], stderr: 'inherit' });
  const inflight = []; // client request ids, oldest first
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    eventStore: new EventStore(),
    enableDnsRebindingProtection: true,
    allowedHosts: loopbackNames(),
    allowedOrigins: loopbackNames().map((h) => `http://${h}`),
    onsessioninitialized: (id) => sessions.set(id, { transport, child }),
  });
  transport.onmessage = (msg) => {
    if ('method' in msg && 'id' in msg) inflight.push(msg.id);
    child.send(msg).catch((e) => console.error('direct-wrapper: to fixture:', e.message));
  };
  child.onmessage = (msg) => {
    let relatedRequestId;
    if ('id' in msg && !('method' in msg)) {
      const i = inflight.indexOf(msg.id);
      if (i >= 0) inflight.splice(i, 1);
    } else {
      // A notification or a server request during a call goes on that call's stream (the newest).
      relatedRequestId = inflight.at(-1);
    }
    transport.send(msg, relatedRequestId !== undefined ? { relatedRequestId } : undefined)
      .catch((e) => console.error('direct-wrapper: to client:', e.message));
  };
  const end = () => {
    if (transport.sessionId) sessions.delete(transport.sessionId);
    child.close().catch(() => {});
  };
  transport.onclose = end;
  child.onclose = () => transport.close().catch(() => {});
  await child.start();
  return transport;
}

async function readBody(req) {
  const chunks = [];
  for await (const c of req) chunks.push(c);
  const s = Buffer.concat(chunks).toString('utf8');
  return s ? JSON.parse(s) : undefined;
}

const server = http.createServer(async (req, res) => {
  try {
    if (new URL(req.url, 'http://x').pathname !== '/mcp') {
      res.writeHead(404).end();
      return;
    }
    const sid = req.headers['mcp-session-id'];
    const body = req.method === 'POST' ? await readBody(req) : undefined;
    let transport = sid ? sessions.get(sid)?.transport : undefined;
    let fresh = false;
    if (!transport) {
      if (!sid && req.method === 'POST' && isInitializeRequest(body)) {
        transport = await newSession();
        fresh = true;
      } else {
        res.writeHead(sid ? 404 : 400, { 'content-type': 'application/json' }).end(
          JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message: sid ? 'Session not found' : 'No session' }, id: null }),
        );
        return;
      }
    }
    await transport.handleRequest(req, res, body);
    if (fresh && !transport.sessionId) await transport.close(); // refused (Host/Origin): no session
  } catch (e) {
    console.error('direct-wrapper:', e);
    if (!res.headersSent) res.writeHead(500).end();
  }
});

server.listen(0, '127.0.0.1', () => {
  port = server.address().port;
  console.error(`direct-wrapper: listening on http://127.0.0.1:${port}/mcp`);
});
const stop = () => {
  for (const { transport } of sessions.values()) transport.close().catch(() => {});
  server.close();
  setTimeout(() => process.exit(0), 200).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
