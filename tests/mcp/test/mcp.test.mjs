// End-to-end tests of the MCP server through the official TypeScript SDK
// client, spawning the documented commands over stdio against a vault made
// by the real CLI.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { root, binDir, requireBinaries, workspace, buildVault, secretValue } from '../lib/vault.mjs';
import { loadSnippets, substitute, REPO_PLACEHOLDER, AUDIT_PLACEHOLDER } from '../lib/snippets.mjs';

/** Starts a server exactly as a host would from a snippet, and connects. */
async function connect(spec, env) {
  const transport = new StdioClientTransport({
    command: spec.command,
    args: spec.args,
    env: { ...env, ...spec.env },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr.on('data', (chunk) => { stderr += chunk; });
  const client = new Client({ name: 'agent-vault-e2e', version: '0.0.0' });
  await client.connect(transport);
  return { client, stderr: () => stderr };
}

function text(result) {
  return result.content.filter((c) => c.type === 'text').map((c) => c.text).join('\n');
}

async function get(client, secret) {
  return client.callTool({ name: 'agent_vault_get', arguments: { secret } });
}

/** Asserts a tool error whose text starts with code. */
function assertToolError(result, code, ...fragments) {
  assert.equal(result.isError, true, `expected ${code}, got success`);
  assert.ok(text(result).startsWith(`${code}: `), `expected ${code}, got: ${text(result)}`);
  for (const f of fragments) assert.ok(text(result).includes(f), `"${f}" missing from: ${text(result)}`);
}

describe('agent-vault MCP server over stdio', () => {
  let ws, vault, snippets, desktop, code, auditLog;

  before(async () => {
    requireBinaries();
    snippets = loadSnippets(root);
    ws = workspace();
    vault = buildVault(ws);
    auditLog = join(ws.dir, 'audit.jsonl');
    // Desktop serves the owner's working copy; Code serves a clone of the
    // remote, so both a local path and a Git URL go through the server.
    desktop = await connect(substitute(snippets.desktop, { [REPO_PLACEHOLDER]: vault.repo, [AUDIT_PLACEHOLDER]: auditLog }), ws.env);
    code = await connect(substitute(snippets.code, { [REPO_PLACEHOLDER]: `file://${vault.remote}` }), ws.env);
  });

  after(async () => {
    await desktop?.client.close();
    await code?.client.close();
    if (ws) rmSync(ws.dir, { recursive: true, force: true });
  });

  it('runs the snippets of the README section (or docs/mcp.md until it exists)', (t) => {
    t.diagnostic(`MCP snippets taken from ${snippets.source}`);
    console.log(`# MCP snippets taken from ${snippets.source}`);
    assert.ok(snippets.desktop.args.includes('--allow'), 'the Desktop snippet is expected to show --allow');
    assert.ok(snippets.desktop.args.some((a) => a.startsWith('~/.agent-vault/agents/')), 'the snippets use an agent key');
  });

  it('reports its name and the release version', () => {
    const version = execFileSync(join(binDir, 'agent-vault-mcp'), ['--version'], { encoding: 'utf8' }).trim().split(' ').pop();
    for (const { client } of [desktop, code]) {
      const info = client.getServerVersion();
      assert.equal(info.name, 'agent-vault');
      assert.equal(info.version, version);
    }
  });

  it('lists both tools with described input schemas', async () => {
    for (const { client } of [desktop, code]) {
      const { tools } = await client.listTools();
      const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
      assert.deepEqual(Object.keys(byName).sort(), ['agent_vault_get', 'agent_vault_list']);
      assert.deepEqual(byName.agent_vault_get.inputSchema.required, ['secret']);
      assert.ok(byName.agent_vault_get.inputSchema.properties.secret.description);
      assert.ok(byName.agent_vault_list.inputSchema.properties.group.description);
      assert.ok(!byName.agent_vault_list.inputSchema.required?.length, 'group is optional');
      for (const tool of tools) assert.ok(tool.description && tool.annotations?.readOnlyHint, `${tool.name} lacks description or readOnlyHint`);
    }
  });

  it('agent_vault_get returns values', async () => {
    for (const path of ['stripe/api-key', 'stripe/cert']) {
      const result = await get(desktop.client, path);
      assert.ok(!result.isError, text(result));
      assert.equal(text(result), vault.values[path]);
    }
    // Not under stripe/*, but the Code snippet has no --allow.
    const nested = await get(code.client, 'stripe/live/api-key');
    assert.equal(text(nested), vault.values['stripe/live/api-key']);
  });

  it('agent_vault_list shows granted secrets with metadata and no values', async () => {
    const result = await code.client.callTool({ name: 'agent_vault_list', arguments: {} });
    assert.ok(!result.isError, text(result));
    const listed = JSON.parse(text(result));
    assert.deepEqual(result.structuredContent, listed);
    assert.equal(listed.identity, 'claude');
    assert.deepEqual(listed.secrets.map((s) => s.name), ['stripe/api-key', 'stripe/cert', 'stripe/live/api-key']);
    for (const s of listed.secrets) {
      assert.equal(s.group, 'stripe');
      assert.ok(!Number.isNaN(Date.parse(s.rotated)), `rotated ${s.rotated}`);
    }
    for (const value of Object.values(vault.values)) assert.ok(!text(result).includes(value), 'list leaked a value');

    const allowed = JSON.parse(text(await desktop.client.callTool({ name: 'agent_vault_list', arguments: { group: 'stripe' } })));
    assert.deepEqual(allowed.secrets.map((s) => s.name), ['stripe/api-key', 'stripe/cert'], '--allow stripe/* hides the nested secret');
  });

  it('refuses a secret the agent was not granted, naming the grant to ask for', async () => {
    for (const { client } of [desktop, code]) {
      const result = await get(client, 'postgres/conn');
      if (client === desktop.client) {
        assertToolError(result, 'not_authorized', '--allow');
      } else {
        assertToolError(result, 'not_authorized', 'agent-vault grant claude postgres');
      }
      assert.ok(!text(result).includes(vault.values['postgres/conn']));
    }
  });

  it('refuses a path outside --allow without revealing whether it exists', async () => {
    for (const path of ['stripe/live/api-key', 'stripe/live/no-such-secret']) {
      const result = await get(desktop.client, path);
      assertToolError(result, 'not_authorized', '--allow', 'stripe/*');
      assert.ok(!text(result).includes(vault.values['stripe/live/api-key']));
    }
  });

  it('maps other failures to error codes with hints', async () => {
    assertToolError(await get(code.client, 'stripe/missing'), 'secret_not_found', 'hint: ', 'agent_vault_list');
    assertToolError(await get(code.client, '../../etc/passwd'), 'invalid_input', 'hint: ');
    assertToolError(await code.client.callTool({ name: 'agent_vault_list', arguments: { group: 'nope' } }), 'invalid_input');
  });

  it('pulls before each call: a secret pushed after start is served', async () => {
    const value = secretValue('sk_rotated');
    vault.publish('stripe/rotated', value);
    const result = await get(code.client, 'stripe/rotated');
    assert.ok(!result.isError, text(result));
    assert.equal(text(result), value);
    const listed = JSON.parse(text(await code.client.callTool({ name: 'agent_vault_list', arguments: {} })));
    assert.ok(listed.secrets.some((s) => s.name === 'stripe/rotated'));
  });

  it('writes one audit line per call, without values', async () => {
    const before = readFileSync(auditLog, 'utf8').split('\n').filter(Boolean).length;
    await get(desktop.client, 'stripe/api-key');
    await get(desktop.client, 'postgres/conn');
    await desktop.client.callTool({ name: 'agent_vault_list', arguments: { group: 'stripe' } });
    const data = readFileSync(auditLog, 'utf8');
    const lines = data.split('\n').filter(Boolean).map((l) => JSON.parse(l));
    assert.equal(lines.length, before + 3);
    const last = lines.slice(-3).map(({ tool, secret, group, outcome, identity }) => ({ tool, secret, group, outcome, identity }));
    assert.deepEqual(last, [
      { tool: 'agent_vault_get', secret: 'stripe/api-key', group: undefined, outcome: 'ok', identity: 'claude' },
      { tool: 'agent_vault_get', secret: 'postgres/conn', group: undefined, outcome: 'not_authorized', identity: 'claude' },
      { tool: 'agent_vault_list', secret: undefined, group: 'stripe', outcome: 'ok', identity: 'claude' },
    ]);
    for (const line of lines) assert.ok(!Number.isNaN(Date.parse(line.time)), `time ${line.time}`);
    for (const value of Object.values(vault.values)) {
      assert.ok(!data.includes(value) && !data.includes(Buffer.from(value).toString('base64')), 'audit log leaked a value');
    }
    assert.equal(statSync(auditLog).mode & 0o777, 0o600);
  });

  it('never writes a value or key to stderr', () => {
    const keys = readFileSync(vault.keyFile, 'utf8').match(/AGE-SECRET-KEY-1\S+/g);
    assert.ok(keys?.length, 'agent key not found');
    for (const { stderr } of [desktop, code]) {
      assert.match(stderr(), /serving .* as "claude"/);
      for (const secret of [...Object.values(vault.values), ...keys]) assert.ok(!stderr().includes(secret), 'stderr leaked a secret');
    }
  });
});
