// Extra Streamable HTTP probes of a running gateway, for what the conformance suite (0.1.16) does not
// check strictly: SEP-1699 priming event, Last-Event-ID resumption of a POST stream, routing of
// notifications between two concurrent SSE POSTs, Content-Length on 202, DELETE, Accept handling,
// one GET stream per session. Prints one line per probe; it does not fail (a diagnostic, not a test).
// Usage: node gateway-probes.mjs http://127.0.0.1:PORT/mcp   (the gateway in front of fixture-server.mjs)
const URL_ = process.argv[2];
const H = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
const V = '2025-11-25';
async function init() {
  const r = await fetch(URL_, { method: 'POST', headers: H, body: JSON.stringify({ jsonrpc: '2.0', id: 0, method: 'initialize', params: { protocolVersion: V, capabilities: { sampling: {}, elicitation: {} }, clientInfo: { name: 'p', version: '1' } } }) });
  const sid = r.headers.get('mcp-session-id'); await r.text();
  const n = await fetch(URL_, { method: 'POST', headers: { ...H, 'mcp-session-id': sid, 'mcp-protocol-version': V }, body: JSON.stringify({ jsonrpc: '2.0', method: 'notifications/initialized' }) });
  await n.body?.cancel();
  return sid;
}
const post = (sid, msg, extra = {}) => fetch(URL_, { method: 'POST', headers: { ...H, 'mcp-session-id': sid, 'mcp-protocol-version': V, ...extra }, body: JSON.stringify(msg) });
async function readEvents(res, { max = 100, ms = 3000 } = {}) {
  const out = []; const dec = new TextDecoder(); let buf = '';
  const reader = res.body.getReader(); const t0 = Date.now();
  while (out.length < max && Date.now() - t0 < ms) {
    const r = await Promise.race([reader.read(), new Promise((r) => setTimeout(() => r({ timeout: true }), ms))]);
    if (r.timeout || r.done) break;
    buf += dec.decode(r.value, { stream: true });
    let i; while ((i = buf.indexOf('\n\n')) >= 0) { const block = buf.slice(0, i); buf = buf.slice(i + 2);
      const ev = {}; for (const l of block.split('\n')) { const m = /^(\w+): ?(.*)$/.exec(l); if (m) ev[m[1]] = (ev[m[1]] ?? '') + m[2]; }
      if (Object.keys(ev).length) out.push(ev); if (out.length >= max) break; }
  }
  await reader.cancel().catch(() => {});
  return out;
}
const short = (e) => { try { const d = JSON.parse(e.data); return `id=${e.id ?? '-'} ${d.method ?? ('resp ' + d.id)}${d.params?.progress !== undefined ? ' ' + d.params.progress : ''}${d.params?.data ? ' ' + d.params.data : ''}`; } catch { return `id=${e.id ?? '-'} data=${JSON.stringify(e.data)} retry=${e.retry}`; } };

// (1) priming event and retry on a 2025-11-25 POST SSE stream
{ const sid = await init();
  const r = await post(sid, { jsonrpc: '2.0', id: 1, method: 'ping' });
  const ev = await readEvents(r);
  console.log('1 priming: first event', JSON.stringify(ev[0]), '->', ev[0]?.data === '' && ev[0]?.id ? 'PRIMED' : 'NO PRIMING EVENT / NO RETRY'); }

// (2) resumption of a POST stream with Last-Event-ID
{ const sid = await init();
  const r = await post(sid, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'test_tool_with_logging', arguments: {} } });
  const first = await readEvents(r, { max: 1 });
  console.log('2 resume: got first', first.map(short));
  const g = await fetch(URL_, { method: 'GET', headers: { accept: 'text/event-stream', 'mcp-session-id': sid, 'mcp-protocol-version': V, 'last-event-id': first[0]?.id ?? '' } });
  console.log('2 resume: GET status', g.status, g.headers.get('content-type'));
  const rest = g.ok ? await readEvents(g, { ms: 1500 }) : [];
  console.log('2 resume: replayed/continued', rest.map(short), rest.some((e) => /"id":2/.test(e.data) && /result/.test(e.data)) ? 'OK (response arrived)' : 'MISSING RESPONSE'); }

// (3) two concurrent SSE POSTs: the older one's progress must stay on its own stream
{ const sid = await init();
  const a = post(sid, { jsonrpc: '2.0', id: 3, method: 'tools/call', params: { name: 'test_tool_with_progress', arguments: {}, _meta: { progressToken: 'A' } } });
  await new Promise((r) => setTimeout(r, 20));
  const b = post(sid, { jsonrpc: '2.0', id: 4, method: 'tools/call', params: { name: 'test_simple_text', arguments: {} } });
  const [ea, eb] = await Promise.all([a.then((r) => readEvents(r)), b.then((r) => readEvents(r))]);
  console.log('3 concurrent: stream A', ea.map(short));
  console.log('3 concurrent: stream B', eb.map(short));
  const progA = ea.filter((e) => /notifications\/progress/.test(e.data)).length;
  console.log('3 concurrent:', progA === 3 ? 'OK all 3 progress on A' : `ONLY ${progA}/3 progress notifications on A's stream`); }

// (4) 202 for a notification: has Content-Length: 0?
{ const sid = await init();
  const r = await post(sid, { jsonrpc: '2.0', method: 'notifications/roots/list_changed' });
  console.log('4 202:', r.status, 'content-length', r.headers.get('content-length'), 'transfer-encoding', r.headers.get('transfer-encoding'));
  await r.body?.cancel(); }

// (5) DELETE then reuse
{ const sid = await init();
  const d = await fetch(URL_, { method: 'DELETE', headers: { 'mcp-session-id': sid, 'mcp-protocol-version': V } });
  const again = await post(sid, { jsonrpc: '2.0', id: 5, method: 'ping' });
  console.log('5 delete:', d.status, 'then POST', again.status); await again.body?.cancel(); }

// (6) Accept: text/event-stream only ... and Accept without either: is the request executed anyway?
{ const sid = await init();
  const r = await fetch(URL_, { method: 'POST', headers: { 'content-type': 'application/json', accept: 'text/html', 'mcp-session-id': sid, 'mcp-protocol-version': V }, body: JSON.stringify({ jsonrpc: '2.0', id: 6, method: 'tools/call', params: { name: 'test_simple_text', arguments: {} } }) });
  console.log('6 accept text/html:', r.status, (await r.text()).slice(0, 120)); }

// (7) GET stream: server-initiated messages outside a request (none expected from fixture) and 409 for a second
{ const sid = await init();
  const g1 = await fetch(URL_, { method: 'GET', headers: { accept: 'text/event-stream', 'mcp-session-id': sid, 'mcp-protocol-version': V } });
  const g2 = await fetch(URL_, { method: 'GET', headers: { accept: 'text/event-stream', 'mcp-session-id': sid, 'mcp-protocol-version': V } });
  console.log('7 GET:', g1.status, g1.headers.get('content-type'), 'second GET', g2.status);
  await g1.body?.cancel(); await g2.body?.cancel(); }
process.exit(0);
