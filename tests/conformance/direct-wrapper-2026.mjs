// The 2026-07-28 comparison baseline for tests/conformance/run.sh: fixture-server-2026.mjs's server
// definitions served over Streamable HTTP by the v2 SDK's own handler (createMcpHandler: per-request
// instances, header/body validation incl. Mcp-Param-*, subscriptions/listen over SSE, stateless
// 2025-era fallback) instead of by mcp-warden gateway. A scenario that passes here and fails through
// the gateway is a gateway bug (or a translation the gateway does not do).
//
// In front of the SDK handler: only the /mcp path, and DNS-rebinding protection (Host must be a
// loopback name with our port; an Origin, if present, must be http://<such a host>; else 403).
//
// Usage: node direct-wrapper-2026.mjs   (prints "direct-wrapper-2026: listening on http://127.0.0.1:PORT/mcp" on stderr)
import http from 'node:http';
import { Readable } from 'node:stream';
import { createFixtureServer, sdk } from './fixture-server-2026.mjs';

const { createMcpHandler } = sdk;

let handler;
handler = createMcpHandler(
  (ctx) => createFixtureServer({ era: ctx?.era, onListChanged: (kind) => (kind === 'tools' ? handler.notify.toolsChanged() : handler.notify.promptsChanged()) }),
  { legacy: 'stateless', onerror: (e) => process.env.DIRECT_WRAPPER_DEBUG && console.error('direct-wrapper-2026:', e.message) },
);

let port = 0;
const loopback = () => ['127.0.0.1', 'localhost', '[::1]'].map((h) => `${h}:${port}`);

function forbidden(res, why) {
  res.writeHead(403, { 'content-type': 'application/json' }).end(
    JSON.stringify({ jsonrpc: '2.0', id: null, error: { code: -32600, message: `Forbidden: ${why}` } }),
  );
}

const server = http.createServer(async (req, res) => {
  try {
    if (new URL(req.url, 'http://x').pathname !== '/mcp') {
      res.writeHead(404).end();
      return;
    }
    const host = (req.headers.host ?? '').toLowerCase();
    if (!loopback().includes(host)) return forbidden(res, `Host ${host || '(none)'} is not allowed`);
    const origin = req.headers.origin;
    if (origin !== undefined && !loopback().map((h) => `http://${h}`).includes(origin.toLowerCase())) {
      return forbidden(res, `Origin ${origin} is not allowed`);
    }
    // node:http -> Web Request (the handler's fetch face) -> node:http, streaming both ways.
    const ac = new AbortController();
    res.on('close', () => ac.abort());
    const headers = new Headers();
    for (const [k, v] of Object.entries(req.headers)) {
      if (Array.isArray(v)) v.forEach((x) => headers.append(k, x));
      else if (v !== undefined) headers.set(k, v);
    }
    const hasBody = req.method !== 'GET' && req.method !== 'HEAD';
    const request = new Request(`http://${host}${req.url}`, {
      method: req.method,
      headers,
      body: hasBody ? Readable.toWeb(req) : undefined,
      duplex: hasBody ? 'half' : undefined,
      signal: ac.signal,
    });
    const response = await handler.fetch(request);
    const out = {};
    response.headers.forEach((v, k) => { out[k] = v; });
    if (out['content-type']?.includes('text/event-stream')) out['x-accel-buffering'] = 'no';
    res.writeHead(response.status, out);
    if (res.flushHeaders) res.flushHeaders();
    if (!response.body) return res.end();
    const reader = response.body.getReader();
    ac.signal.addEventListener('abort', () => reader.cancel().catch(() => {}));
    for (;;) {
      const { value, done } = await reader.read().catch(() => ({ done: true }));
      if (done) break;
      res.write(value);
    }
    res.end();
  } catch (e) {
    if (e?.name !== 'AbortError') console.error('direct-wrapper-2026:', e);
    if (!res.headersSent) res.writeHead(500).end();
    else res.end();
  }
});

server.listen(0, '127.0.0.1', () => {
  port = server.address().port;
  console.error(`direct-wrapper-2026: listening on http://127.0.0.1:${port}/mcp`);
});
const stop = () => {
  handler.close().catch(() => {});
  server.close();
  server.closeAllConnections?.();
  setTimeout(() => process.exit(0), 200).unref();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
