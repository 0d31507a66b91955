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

/** The snippet without --no-reveal, for the tests of agent_vault_get. */
function revealing(server) {
  return { ...server, args: server.args.filter((a) => a !== '--no-reveal') };
}

describe('agent-vault MCP server over stdio', () => {
  let ws, vault, snippets, desktop, code, documented, auditLog;

  before(async () => {
    requireBinaries();
    snippets = loadSnippets(root);
    ws = workspace();
    vault = buildVault(ws);
    auditLog = join(ws.dir, 'audit.jsonl');
    // Desktop serves the owner's working copy; Code serves a clone of the
    // remote, so both a local path and a Git URL go through the server.
    const desktopArgs = { [REPO_PLACEHOLDER]: vault.repo, [AUDIT_PLACEHOLDER]: auditLog };
    const codeArgs = { [REPO_PLACEHOLDER]: `file://${vault.remote}` };
    // The snippets as documented (--no-reveal), and the same without it for
    // the tests of agent_vault_get.
    documented = {
      desktop: await connect(substitute(snippets.desktop, desktopArgs), ws.env),
      code: await connect(substitute(snippets.code, codeArgs), ws.env),
    };
    desktop = await connect(substitute(revealing(snippets.desktop), desktopArgs), ws.env);
    code = await connect(substitute(revealing(snippets.code), codeArgs), ws.env);
  });

  after(async () => {
    await desktop?.client.close();
    await code?.client.close();
    await documented?.desktop.client.close();
    await documented?.code.client.close();
    if (ws) rmSync(ws.dir, { recursive: true, force: true });
  });

  it('runs the snippets of the README section (or docs/mcp.md until it exists)', (t) => {
    t.diagnostic(`MCP snippets taken from ${snippets.source}`);
    console.log(`# MCP snippets taken from ${snippets.source}`);
    assert.ok(snippets.desktop.args.includes('--allow'), 'the Desktop snippet is expected to show --allow');
    assert.ok(snippets.desktop.args.some((a) => a.startsWith('~/.agent-vault/agents/')), 'the snippets use an agent key');
    for (const s of [snippets.desktop, snippets.code]) assert.ok(s.args.includes('--no-reveal'), 'the snippets are expected to show --no-reveal');
  });

  it('reports its name and the release version', () => {
    const version = execFileSync(join(binDir, 'agent-vault-mcp'), ['--version'], { encoding: 'utf8' }).trim().split(' ').pop();
    for (const { client } of [desktop, code]) {
      const info = client.getServerVersion();
      assert.equal(info.name, 'agent-vault');
      assert.equal(info.version, version);
    }
  });

  it('lists the tools with described input schemas', async () => {
    const want = new Map([[desktop, ['agent_vault_get', 'agent_vault_http', 'agent_vault_list']],
      [code, ['agent_vault_get', 'agent_vault_list', 'agent_vault_run']]]);
    for (const [{ client }, names] of want) {
      const { tools } = await client.listTools();
      const byName = Object.fromEntries(tools.map((t) => [t.name, t]));
      assert.deepEqual(Object.keys(byName).sort(), names);
      assert.deepEqual(byName.agent_vault_get.inputSchema.required, ['secret']);
      assert.ok(byName.agent_vault_get.inputSchema.properties.secret.description);
      assert.ok(byName.agent_vault_list.inputSchema.properties.group.description);
      assert.ok(!byName.agent_vault_list.inputSchema.required?.length, 'group is optional');
      for (const tool of tools) {
        assert.ok(tool.description, `${tool.name} lacks a description`);
        const reads = tool.name === 'agent_vault_get' || tool.name === 'agent_vault_list';
        assert.equal(Boolean(tool.annotations?.readOnlyHint), reads, `${tool.name} readOnlyHint`);
        assert.equal(Boolean(tool.annotations?.openWorldHint), !reads, `${tool.name} openWorldHint`);
      }
    }
  });

  it('the documented --no-reveal setup uses secrets without returning them', async () => {
    const names = async (c) => (await c.client.listTools()).tools.map((t) => t.name).sort();
    assert.deepEqual(await names(documented.desktop), ['agent_vault_http', 'agent_vault_list']);
    assert.deepEqual(await names(documented.code), ['agent_vault_list', 'agent_vault_run']);
    const refused = await documented.code.client.callTool({ name: 'agent_vault_get', arguments: { secret: 'stripe/api-key' } })
      .catch((e) => ({ isError: true, content: [{ type: 'text', text: String(e) }] }));
    assert.equal(refused.isError, true, 'agent_vault_get answered under --no-reveal');

    // npm runs with the key in its environment; the value never comes back.
    const script = 'process.stdout.write(process.env.STRIPE_KEY)';
    const ran = await documented.code.client.callTool({ name: 'agent_vault_run',
      arguments: { command: ['npm', 'exec', '--offline', '--', 'node', '-e', script], env: { STRIPE_KEY: 'stripe/api-key' } } });
    assert.ok(!ran.isError, text(ran));
    assert.equal(ran.structuredContent.exit_code, 0, text(ran));
    assert.equal(ran.structuredContent.stdout, '<agent-vault:stripe/api-key>');
    for (const value of Object.values(vault.values)) assert.ok(!JSON.stringify(ran).includes(value), 'run leaked a value');
    assertToolError(await documented.code.client.callTool({ name: 'agent_vault_run', arguments: { command: ['node', '-e', script] } }),
      'not_authorized', '--allow-exec');

    // The key is bound to api.stripe.com only: any other host is refused before sending.
    const sent = await documented.desktop.client.callTool({ name: 'agent_vault_http',
      arguments: { method: 'GET', url: 'https://example.com/', headers: { Authorization: 'Bearer {{stripe/api-key}}' } } });
    assertToolError(sent, 'not_authorized', '--bind');
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
    for (const { stderr } of [desktop, code, documented.desktop, documented.code]) {
      assert.match(stderr(), /serving .* as "claude"/);
      for (const secret of [...Object.values(vault.values), ...keys]) assert.ok(!stderr().includes(secret), 'stderr leaked a secret');
    }
  });
});
