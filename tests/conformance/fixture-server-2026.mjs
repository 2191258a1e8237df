// mcp-warden's conformance fixture for MCP 2026-07-28 (modern, sessionless): a stdio MCP server with
// every tool, prompt and resource the @modelcontextprotocol/conformance 0.2.0-alpha.12 server
// scenarios look for, including the 2026-07-28 diagnostic tools (test_missing_capability,
// test_streaming_elicitation, test_logging_tool, test_trigger_*_change, the
// test_input_required_result_* tools and prompt, and a tool with an `x-mcp-header` parameter).
// Written for this project from the scenario requirements, on the official v2 SDK
// (@modelcontextprotocol/server, installed in tests/e2e/node_modules by scripts/setup.sh).
//
// Dual-era: serveStdio answers per-request `_meta` (2026-07-28, server/discover,
// subscriptions/listen, input_required results) and a legacy `initialize` (2025-11-25) on the same
// stdio connection; for a legacy connection the SDK turns input_required results into real
// elicitation/sampling/roots requests (its legacy shim).
//
// requestState is HMAC-SHA256 protected with a per-process random key (the SDK's
// createRequestStateCodec, bound to method and tool/prompt name); a state that fails verification
// is answered with JSON-RPC error -32602 before the handler runs.
//
// Usage: node fixture-server-2026.mjs          (stdio server)
//        import { createFixtureServer } ...    (direct-wrapper-2026.mjs serves it over HTTP)
// SDK location: $MCP_SDK2_DIR or ../e2e/node_modules (needs @modelcontextprotocol/server and zod).
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const modules = process.env.MCP_SDK2_DIR ?? path.join(here, '..', 'e2e', 'node_modules');
const load = (p) => import(pathToFileURL(path.join(modules, p)).href);
export const sdk = await load('@modelcontextprotocol/server/dist/index.mjs');
const { default: z } = await load('zod/index.js').then((m) => ({ default: m.z ?? m }));
const {
  McpServer,
  ResourceTemplate,
  ProtocolError,
  completable,
  createRequestStateCodec,
  fromJsonSchema,
  inputRequired,
} = sdk;

export const SERVER_INFO = { name: 'mcp-warden-conformance-fixture-2026', version: '1.0.0' };

// A 1x1 PNG and a 1-sample 8 kHz mono WAV, built here rather than stored.
const PNG_1X1 =
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8DwHwAFBQIAX8jx0gAAAABJRU5ErkJggg==';
function wavBase64() {
  const buf = Buffer.alloc(45);
  buf.write('RIFF', 0);
  buf.writeUInt32LE(37, 4);
  buf.write('WAVE', 8);
  buf.write('fmt ', 12);
  buf.writeUInt32LE(16, 16);
  buf.writeUInt16LE(1, 20); // PCM
  buf.writeUInt16LE(1, 22); // mono
  buf.writeUInt32LE(8000, 24);
  buf.writeUInt32LE(8000, 28);
  buf.writeUInt16LE(1, 32);
  buf.writeUInt16LE(8, 34);
  buf.write('data', 36);
  buf.writeUInt32LE(1, 40);
  buf.writeUInt8(128, 44);
  return buf.toString('base64');
}
const WAV = wavBase64();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const text = (t) => ({ type: 'text', text: t });
const CAPS_KEY = 'io.modelcontextprotocol/clientCapabilities';
const LOG_LEVEL_KEY = 'io.modelcontextprotocol/logLevel';

// requestState: one key per process; the gateway runs one fixture process per upstream, so every
// round of a flow reaches the process that minted its state.
const stateCodec = createRequestStateCodec({
  key: randomBytes(32),
  ttlSeconds: 600,
  bind: (ctx) => ctx.mcpReq.method,
});

// ---------------------------------------------------------------- helpers
const elicitation = (message, properties, required = Object.keys(properties)) =>
  inputRequired.elicit({ message, requestedSchema: { type: 'object', properties, required } });
const sampling = (prompt, maxTokens = 100) =>
  inputRequired.createMessage({ messages: [{ role: 'user', content: text(prompt) }], maxTokens });
const roots = () => inputRequired.listRoots();

// The client's answer for `key`: undefined when absent; -32602 when present but not an object
// (a protocol-level error in the retry, not a missing answer).
function answer(ctx, key) {
  const v = ctx.mcpReq.inputResponses?.[key];
  if (v === undefined) return undefined;
  if (v === null || typeof v !== 'object' || Array.isArray(v)) {
    throw new ProtocolError(-32602, `inputResponses.${key} must be an object`);
  }
  return v;
}
const accepted = (ctx, key, field) => {
  const v = answer(ctx, key);
  if (!v || v.action !== 'accept' || typeof v.content !== 'object' || v.content === null) return undefined;
  return field === undefined ? v.content : v.content[field];
};
const samplingText = (v) => (v?.content?.type === 'text' ? v.content.text : undefined);
// Modern: the per-request envelope; legacy: what the client declared in initialize.
const clientCaps = (ctx, server) =>
  (ctx.mcpReq.envelope ? ctx.mcpReq.envelope[CAPS_KEY] : server.server.getClientCapabilities?.()) ?? {};
// The verified requestState payload (the SDK verified the HMAC before the handler ran), or undefined.
async function verifiedState(ctx) {
  const s = await ctx.mcpReq.requestState();
  return s && typeof s === 'object' ? s : undefined;
}
const mint = (payload, ctx) => stateCodec.mint(payload, ctx);

// ---------------------------------------------------------------- server factory
// onListChanged(kind): publishes a tools/prompts list change to open subscriptions/listen streams
// (HTTP: the handler's bus); by default the instance's own sendToolListChanged/sendPromptListChanged
// (stdio: serveStdio routes those to the connection's listen streams).
// era ('modern' | 'legacy', from the SDK's factory context): resources/subscribe and
// resources/unsubscribe exist only in 2025-era serving (2026-07-28 removed them: -32601 there).
export function createFixtureServer({ onListChanged, era = 'modern' } = {}) {
  const legacy = era === 'legacy';
  const server = new McpServer(SERVER_INFO, {
    capabilities: {
      tools: { listChanged: true },
      resources: { listChanged: true, ...(legacy ? { subscribe: true } : {}) },
      prompts: { listChanged: true },
      logging: {},
      completions: {},
    },
    requestState: { verify: stateCodec.verify },
  });
  const changed =
    onListChanged ??
    ((kind) => (kind === 'tools' ? server.sendToolListChanged() : server.sendPromptListChanged()));

  const tool = (name, description, handler, inputSchema) =>
    server.registerTool(name, { description, ...(inputSchema ? { inputSchema } : {}) }, handler);
  const noArgs = (fn) => (ctx) => fn(ctx); // registerTool without inputSchema calls handler(ctx)

  // ---- 2025-era content tools (also served to modern clients)
  tool('test_simple_text', 'Returns a simple text content item', noArgs(() => ({ content: [text('This is a simple text response for testing.')] })));
  tool('test_image_content', 'Returns a 1x1 PNG image content item', noArgs(() => ({ content: [{ type: 'image', data: PNG_1X1, mimeType: 'image/png' }] })));
  tool('test_audio_content', 'Returns a short WAV audio content item', noArgs(() => ({ content: [{ type: 'audio', data: WAV, mimeType: 'audio/wav' }] })));
  tool('test_embedded_resource', 'Returns an embedded text resource', noArgs(() => ({
    content: [{ type: 'resource', resource: { uri: 'test://embedded-resource', mimeType: 'text/plain', text: 'This is an embedded resource content.' } }],
  })));
  tool('test_multiple_content_types', 'Returns text, image and resource content', noArgs(() => ({
    content: [
      text('Multiple content types test:'),
      { type: 'image', data: PNG_1X1, mimeType: 'image/png' },
      { type: 'resource', resource: { uri: 'test://mixed-content-resource', mimeType: 'application/json', text: JSON.stringify({ test: 'data', value: 123 }) } },
    ],
  })));
  tool('test_tool_with_logging', 'Sends three info log notifications while it runs', noArgs(async (ctx) => {
    for (const [i, msg] of ['Tool execution started', 'Tool processing data', 'Tool execution completed'].entries()) {
      if (i > 0) await sleep(50);
      await ctx.mcpReq.log('info', msg, 'fixture');
    }
    return { content: [text('Tool with logging executed successfully')] };
  }));
  tool('test_tool_with_progress', 'Reports progress 0, 50, 100 of 100', noArgs(async (ctx) => {
    const token = ctx.mcpReq._meta?.progressToken;
    for (const [i, progress] of [0, 50, 100].entries()) {
      if (i > 0) await sleep(50);
      if (token !== undefined) {
        await ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken: token, progress, total: 100, message: `Completed step ${progress} of 100` } });
      }
    }
    return { content: [text(String(token ?? 'no progress token'))] };
  }));
  tool('test_error_handling', 'Always fails with isError: true', noArgs(() => ({
    isError: true,
    content: [text('This tool intentionally returns an error for testing')],
  })));
  tool('test_reconnection', 'Slow call for SSE polling and resumption tests', noArgs(async () => {
    await sleep(500);
    return { content: [text('Reconnection test completed')] };
  }));
  server.registerTool('json_schema_2020_12_tool', {
    description: 'Tool with JSON Schema 2020-12 features',
    inputSchema: fromJsonSchema({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      $defs: { address: { $anchor: 'addressDef', type: 'object', properties: { street: { type: 'string' }, city: { type: 'string' } } } },
      properties: {
        name: { type: 'string' },
        address: { $ref: '#/$defs/address' },
        contactMethod: { type: 'string', enum: ['phone', 'email'] },
        phone: { type: 'string' },
        email: { type: 'string' },
      },
      // SEP-2106: composition and conditional keywords must survive tools/list.
      allOf: [{ anyOf: [{ required: ['phone'] }, { required: ['email'] }] }],
      if: { properties: { contactMethod: { const: 'phone' } }, required: ['contactMethod'] },
      then: { required: ['phone'] },
      else: { required: ['email'] },
      additionalProperties: false,
    }),
  }, async (args) => ({ content: [text(`Received: ${JSON.stringify(args)}`)] }));

  // Sampling and elicitation, written MRTR-style: a modern client gets input_required results,
  // a legacy (initialize) client real server-to-client requests through the SDK's legacy shim.
  server.registerTool('test_sampling', {
    description: 'Asks the client for an LLM completion (sampling/createMessage)',
    inputSchema: z.object({ prompt: z.string().describe('Prompt for the LLM') }),
  }, async ({ prompt }, ctx) => {
    const r = answer(ctx, 'llm');
    if (!r) return inputRequired({ inputRequests: { llm: sampling(prompt) } });
    return { content: [text(`LLM response: ${samplingText(r) ?? JSON.stringify(r.content)}`)] };
  });
  server.registerTool('test_elicitation', {
    description: 'Asks the user for a username and email (elicitation/create)',
    inputSchema: z.object({ message: z.string().describe('Message shown to the user') }),
  }, async ({ message }, ctx) => {
    const r = answer(ctx, 'user');
    if (!r) {
      return inputRequired({
        inputRequests: {
          user: elicitation(message, {
            username: { type: 'string', description: "User's response" },
            email: { type: 'string', description: "User's email address" },
          }),
        },
      });
    }
    return { content: [text(`User response: action=${r.action}, content=${JSON.stringify(r.content ?? {})}`)] };
  });
  const elicitTool = (name, description, message, properties) =>
    tool(name, description, noArgs((ctx) => {
      const r = answer(ctx, 'form');
      if (!r) return inputRequired({ inputRequests: { form: elicitation(message, properties, []) } });
      return { content: [text(`Elicitation completed: action=${r.action}, content=${JSON.stringify(r.content ?? {})}`)] };
    }));
  elicitTool('test_elicitation_sep1034_defaults', 'Elicitation whose schema has defaults for every primitive type',
    'Please review your profile (every field has a default)', {
      name: { type: 'string', description: 'Name', default: 'John Doe' },
      age: { type: 'integer', description: 'Age', default: 30 },
      score: { type: 'number', description: 'Score', default: 95.5 },
      status: { type: 'string', description: 'Status', enum: ['active', 'inactive', 'pending'], default: 'active' },
      verified: { type: 'boolean', description: 'Verified', default: true },
    });
  elicitTool('test_elicitation_sep1330_enums', 'Elicitation whose schema has all five enum variants', 'Pick some options', {
    untitledSingle: { type: 'string', description: 'Untitled single-select', enum: ['option1', 'option2', 'option3'] },
    titledSingle: {
      type: 'string',
      description: 'Titled single-select',
      oneOf: [
        { const: 'value1', title: 'First Option' },
        { const: 'value2', title: 'Second Option' },
        { const: 'value3', title: 'Third Option' },
      ],
    },
    legacyEnum: { type: 'string', description: 'Legacy titled enum', enum: ['opt1', 'opt2', 'opt3'], enumNames: ['Option One', 'Option Two', 'Option Three'] },
    untitledMulti: { type: 'array', description: 'Untitled multi-select', items: { type: 'string', enum: ['option1', 'option2', 'option3'] } },
    titledMulti: {
      type: 'array',
      description: 'Titled multi-select',
      items: { anyOf: [{ const: 'value1', title: 'First Choice' }, { const: 'value2', title: 'Second Choice' }, { const: 'value3', title: 'Third Choice' }] },
    },
  });

  // ---- 2026-07-28 diagnostic tools (server-stateless)
  tool('test_missing_capability', 'Needs the client sampling capability (MissingRequiredClientCapabilityError without it)', noArgs((ctx) => {
    // A handler's throw becomes an isError tool result; an input request for an undeclared
    // capability is what the SDK answers with MissingRequiredClientCapabilityError (-32021,
    // data.requiredCapabilities {sampling: {}}; HTTP 400).
    const r = answer(ctx, 'probe');
    if (r) return { content: [text(`Success: ${samplingText(r) ?? 'sampled'}`)] };
    return inputRequired({ inputRequests: { probe: sampling('Say OK', 10) } });
  }));
  tool('test_streaming_elicitation', 'Streams progress (with a progressToken) and asks for input as an input_required result, never a server request', noArgs(async (ctx) => {
    const token = ctx.mcpReq._meta?.progressToken;
    if (token !== undefined) {
      await ctx.mcpReq.notify({ method: 'notifications/progress', params: { progressToken: token, progress: 50, total: 100 } });
    }
    const r = accepted(ctx, 'confirm');
    if (r) return { content: [text('Streaming complete')] };
    if (!clientCaps(ctx, server).elicitation) return { content: [text('Streaming complete (no elicitation capability declared)')] };
    return inputRequired({ inputRequests: { confirm: elicitation('Continue streaming?', { ok: { type: 'boolean' } }) } });
  }));
  tool('test_logging_tool', 'Logs one info message, only when the request carries a logLevel', noArgs(async (ctx) => {
    // (The SDK also drops notifications/message for a modern request without a logLevel.)
    if (!ctx.mcpReq.envelope || ctx.mcpReq.envelope[LOG_LEVEL_KEY] !== undefined) {
      await ctx.mcpReq.log('info', 'Diagnostic trace logging activated', 'fixture');
    }
    return { content: [text('Logging evaluated')] };
  }));
  tool('test_trigger_tool_change', 'Announces a tool list change to open subscriptions', noArgs(async () => {
    await changed('tools');
    return { content: [text('Tool list change announced')] };
  }));
  tool('test_trigger_prompt_change', 'Announces a prompt list change to open subscriptions', noArgs(async () => {
    await changed('prompts');
    return { content: [text('Prompt list change announced')] };
  }));
  // SEP-2243 custom headers: `region` is mirrored into the Mcp-Param-Region header.
  server.registerTool('test_custom_header', {
    description: 'Echoes its x-mcp-header annotated region argument (Mcp-Param-Region)',
    inputSchema: fromJsonSchema({
      type: 'object',
      properties: { region: { type: 'string', description: 'Region, mirrored in Mcp-Param-Region', 'x-mcp-header': 'Region' } },
      required: ['region'],
    }),
  }, async ({ region }) => ({ content: [text(`region=${region}`)] }));

  // ---- 2026-07-28 MRTR tools (input-required-result-*)
  tool('test_input_required_result_elicitation', 'MRTR: asks for a name by elicitation', noArgs((ctx) => {
    const name = accepted(ctx, 'user_name', 'name');
    if (typeof name === 'string') return { content: [text(`Hello, ${name}!`)] };
    return inputRequired({ inputRequests: { user_name: elicitation('What is your name?', { name: { type: 'string' } }) } });
  }));
  tool('test_input_required_result_sampling', 'MRTR: asks the client LLM a question', noArgs((ctx) => {
    const r = answer(ctx, 'capital_question');
    const t = samplingText(r);
    if (t !== undefined) return { content: [text(`Sampling result: ${t}`)] };
    return inputRequired({ inputRequests: { capital_question: sampling('What is the capital of France?') } });
  }));
  tool('test_input_required_result_list_roots', 'MRTR: asks for the client roots', noArgs((ctx) => {
    const r = answer(ctx, 'client_roots');
    if (r && Array.isArray(r.roots)) {
      return { content: [text(`Found ${r.roots.length} root(s): ${r.roots.map((x) => x?.uri).join(', ')}`)] };
    }
    return inputRequired({ inputRequests: { client_roots: roots() } });
  }));
  tool('test_input_required_result_request_state', 'MRTR: input request plus signed requestState', noArgs(async (ctx) => {
    const state = await verifiedState(ctx);
    const ok = accepted(ctx, 'confirm', 'ok');
    if (state?.kind === 'request-state' && ok !== undefined) {
      return { content: [text(`state-ok: requestState validated (confirmed: ${ok})`)] };
    }
    return inputRequired({
      inputRequests: { confirm: elicitation('Please confirm', { ok: { type: 'boolean' } }) },
      requestState: await mint({ kind: 'request-state', nonce: randomBytes(8).toString('hex') }, ctx),
    });
  }));
  tool('test_input_required_result_multiple_inputs', 'MRTR: elicitation, sampling and roots in one round', noArgs(async (ctx) => {
    const state = await verifiedState(ctx);
    const name = accepted(ctx, 'user_name', 'name');
    const greeting = samplingText(answer(ctx, 'greeting'));
    const r = answer(ctx, 'client_roots');
    if (state?.kind === 'multiple-inputs' && typeof name === 'string' && greeting !== undefined && Array.isArray(r?.roots)) {
      return { content: [text(`Name: ${name}; Greeting: ${greeting}; Roots: ${r.roots.length}`)] };
    }
    return inputRequired({
      inputRequests: {
        user_name: elicitation('What is your name?', { name: { type: 'string' } }),
        greeting: sampling('Generate a greeting', 50),
        client_roots: roots(),
      },
      requestState: await mint({ kind: 'multiple-inputs', nonce: randomBytes(8).toString('hex') }, ctx),
    });
  }));
  tool('test_input_required_result_multi_round', 'MRTR: two rounds of elicitation with evolving requestState', noArgs(async (ctx) => {
    const state = await verifiedState(ctx);
    const nonce = randomBytes(8).toString('hex');
    if (state?.round === 1) {
      const name = accepted(ctx, 'step1', 'name');
      if (typeof name === 'string') {
        return inputRequired({
          inputRequests: { step2: elicitation('Step 2: What is your favorite color?', { color: { type: 'string' } }) },
          requestState: await mint({ round: 2, name, nonce }, ctx),
        });
      }
    }
    if (state?.round === 2) {
      const color = accepted(ctx, 'step2', 'color');
      if (typeof color === 'string') return { content: [text(`Multi-round complete for ${state.name} who likes ${color}`)] };
      return inputRequired({
        inputRequests: { step2: elicitation('Step 2: What is your favorite color?', { color: { type: 'string' } }) },
        requestState: await mint({ round: 2, name: state.name, nonce }, ctx),
      });
    }
    return inputRequired({
      inputRequests: { step1: elicitation('Step 1: What is your name?', { name: { type: 'string' } }) },
      requestState: await mint({ round: 1, nonce }, ctx),
    });
  }));
  tool('test_input_required_result_tampered_state', 'MRTR: HMAC-signed requestState; a tampered one is rejected (-32602)', noArgs(async (ctx) => {
    const state = await verifiedState(ctx);
    if (state?.kind === 'tamper-test' && accepted(ctx, 'confirm') !== undefined) {
      return { content: [text('integrity-ok: state verified')] };
    }
    return inputRequired({
      inputRequests: { confirm: elicitation('Please confirm', { ok: { type: 'boolean' } }) },
      requestState: await mint({ kind: 'tamper-test', nonce: randomBytes(8).toString('hex') }, ctx),
    });
  }));
  tool('test_input_required_result_capabilities', 'MRTR: asks only for what the client capabilities allow', noArgs(async (ctx) => {
    const caps = clientCaps(ctx, server);
    const got = Object.keys(ctx.mcpReq.inputResponses ?? {}).filter((k) => k === 'elicit_input' || k === 'sample_input');
    if (got.length > 0 && (await verifiedState(ctx))?.kind === 'capabilities-test') {
      return { content: [text(`capabilities-ok: received ${got.join(',')}`)] };
    }
    const inputRequests = {};
    if (caps.elicitation) inputRequests.elicit_input = elicitation('Elicitation input', { value: { type: 'string' } });
    if (caps.sampling) inputRequests.sample_input = sampling('Sample request', 50);
    if (caps.roots) inputRequests.roots_input = roots();
    if (Object.keys(inputRequests).length === 0) return { content: [text('No input capabilities declared')] };
    return inputRequired({
      inputRequests,
      requestState: await mint({ kind: 'capabilities-test', nonce: randomBytes(8).toString('hex') }, ctx),
    });
  }));

  // ---------------------------------------------------------------- resources
  const resource = (name, uri, description, mimeType, read) =>
    server.registerResource(name, uri, { description, mimeType }, read);
  resource('static-text', 'test://static-text', 'A static text resource', 'text/plain', async (uri) => ({
    contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'This is the content of the static text resource.' }],
  }));
  resource('static-binary', 'test://static-binary', 'A static binary resource (1x1 PNG)', 'image/png', async (uri) => ({
    contents: [{ uri: uri.href, mimeType: 'image/png', blob: PNG_1X1 }],
  }));
  resource('watched-resource', 'test://watched-resource', 'A resource that can be subscribed to', 'text/plain', async (uri) => ({
    contents: [{ uri: uri.href, mimeType: 'text/plain', text: 'Watched resource content' }],
  }));
  server.registerResource(
    'template-data',
    new ResourceTemplate('test://template/{id}/data', { list: undefined }),
    { description: 'Data for an id', mimeType: 'application/json' },
    async (uri, { id }) => ({
      contents: [{ uri: uri.href, mimeType: 'application/json', text: JSON.stringify({ id, templateTest: true, data: `Data for ID: ${id}` }) }],
    }),
  );

  if (legacy) {
    const subscriptions = new Set();
    server.server.setRequestHandler('resources/subscribe', async (req) => {
      subscriptions.add(req.params.uri);
      return {};
    });
    server.server.setRequestHandler('resources/unsubscribe', async (req) => {
      subscriptions.delete(req.params.uri);
      return {};
    });
  }

  // ---------------------------------------------------------------- prompts
  const COMPLETIONS = { arg1: ['paris', 'park', 'party'], arg2: ['world', 'word', 'work'] };
  const completing = (name, description) =>
    completable(z.string().describe(description), (value) => COMPLETIONS[name].filter((v) => v.startsWith(value ?? '')));
  server.registerPrompt('test_simple_prompt', { description: 'A prompt without arguments' }, async () => ({
    messages: [{ role: 'user', content: text('This is a simple prompt for testing.') }],
  }));
  server.registerPrompt('test_prompt_with_arguments', {
    description: 'A prompt with two required arguments',
    argsSchema: z.object({ arg1: completing('arg1', 'First test argument'), arg2: completing('arg2', 'Second test argument') }),
  }, async ({ arg1, arg2 }) => ({
    messages: [{ role: 'user', content: text(`Prompt with arguments: arg1='${arg1}', arg2='${arg2}'`) }],
  }));
  server.registerPrompt('test_prompt_with_embedded_resource', {
    description: 'A prompt embedding a resource',
    argsSchema: z.object({ resourceUri: z.string().describe('URI of the resource to embed') }),
  }, async ({ resourceUri }) => ({
    messages: [
      { role: 'user', content: { type: 'resource', resource: { uri: resourceUri, mimeType: 'text/plain', text: 'Embedded resource content for testing.' } } },
      { role: 'user', content: text('Please process the embedded resource above.') },
    ],
  }));
  server.registerPrompt('test_prompt_with_image', { description: 'A prompt with an image' }, async () => ({
    messages: [
      { role: 'user', content: { type: 'image', data: PNG_1X1, mimeType: 'image/png' } },
      { role: 'user', content: text('Please analyze the image above.') },
    ],
  }));
  server.registerPrompt('test_input_required_result_prompt', { description: 'MRTR: a prompt that asks for context by elicitation' }, async (ctx) => {
    const context = accepted(ctx, 'user_context', 'context');
    if (typeof context === 'string') return { messages: [{ role: 'user', content: text(`Prompt with context: ${context}`) }] };
    return inputRequired({
      inputRequests: { user_context: elicitation('What context should the prompt use?', { context: { type: 'string' } }) },
    });
  });

  return server;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { serveStdio } = await load('@modelcontextprotocol/server/dist/stdio.mjs');
  serveStdio((ctx) => createFixtureServer({ era: ctx?.era }), {
    legacy: 'serve',
    onerror: (e) => console.error('fixture-server-2026:', e?.message ?? e),
  });
}
