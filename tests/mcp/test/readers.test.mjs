// Every reader is the same reader: the CLI, the MCP server, the Python
// package and the Node package all run core/reader (natively or inside the
// module), so they must agree on what a key can read, see a secret pushed
// from another clone on their next list and get, name a missing
// repository, and never print the credentials of a repository URL.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { root, binDir, requireBinaries, workspace, buildVault, secretValue } from '../lib/vault.mjs';

const python = join(root, 'bindings', 'python', '.venv', 'bin', 'python');
const MISSING = '/nonexistent/agent-vault-readers-test/repo';
const SECRET_URL = 'http://deploy:TOKEN@127.0.0.1:9/x.git';

// A long-lived Python reader: one Vault, driven line by line over stdin,
// so a push between two requests must be picked up by the same object.
const PY_READER = String.raw`
import json, sys, warnings
warnings.simplefilter("ignore")
from agent_vault import Vault, VaultError
args = json.loads(sys.argv[1])
try:
    v = Vault(args["repo"], key_path=args["key"])
except VaultError as e:
    print(json.dumps({"error": str(e), "code": e.code})); sys.exit(0)
print(json.dumps({"ok": True}), flush=True)
for line in sys.stdin:
    req = json.loads(line)
    try:
        if req["op"] == "list":
            out = [m.name for m in v.list_secrets()]
        else:
            out = v.get(req["secret"])
        print(json.dumps({"result": out}), flush=True)
    except VaultError as e:
        print(json.dumps({"error": str(e), "code": e.code}), flush=True)
`;

function startPython(env, repo, key) {
  if (!existsSync(python)) throw new Error(`missing ${python}: run bindings/python/venv.sh (make test does)`);
  const child = spawn(python, ['-c', PY_READER, JSON.stringify({ repo, key })], { env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (c) => { stderr += c; });
  const lines = createInterface({ input: child.stdout })[Symbol.asyncIterator]();
  const next = async () => {
    const { value, done } = await lines.next();
    if (done) throw new Error(`python reader exited: ${stderr}`);
    return JSON.parse(value);
  };
  return {
    first: next,
    async ask(req) {
      child.stdin.write(JSON.stringify(req) + '\n');
      return next();
    },
    stderr: () => stderr,
    close() { child.stdin.end(); },
  };
}

async function nodeVault() {
  const mod = await import(pathToFileURL(join(root, 'bindings', 'node', 'index.js')).href).catch(() => null)
    ?? await import(pathToFileURL(join(root, 'bindings', 'node', 'src', 'index.js')).href);
  return mod;
}

function cli(env, args) {
  try {
    return { code: 0, stdout: execFileSync(join(binDir, 'agent-vault'), args, { env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }), stderr: '' };
  } catch (err) {
    return { code: err.status, stdout: err.stdout ?? '', stderr: err.stderr ?? '' };
  }
}

async function connectMCP(env, repo, key) {
  const transport = new StdioClientTransport({ command: join(binDir, 'agent-vault-mcp'), args: ['--repo', repo, '--key', key], env, stderr: 'pipe' });
  const client = new Client({ name: 'agent-vault-readers', version: '0.0.0' });
  await client.connect(transport);
  return client;
}

function toolText(result) {
  return result.content.filter((c) => c.type === 'text').map((c) => c.text).join('\n');
}

describe('every reader', () => {
  let ws, vault, readerRepo, py, mcp, nodeMod, node, prevHome;

  before(async () => {
    requireBinaries();
    ws = workspace();
    vault = buildVault(ws);
    // The readers share one clone of the remote; the owner pushes from
    // another, as in real use.
    readerRepo = join(ws.dir, 'reader-clone');
    execFileSync('git', ['clone', '--quiet', vault.remote, readerRepo], { env: ws.env });
    py = startPython(ws.env, readerRepo, vault.keyFile);
    assert.deepEqual(await py.first(), { ok: true });
    mcp = await connectMCP(ws.env, readerRepo, vault.keyFile);
    nodeMod = await nodeVault();
    // The Node package runs in this process: give it the test's HOME, so a
    // URL clone lands in the throwaway cache.
    prevHome = process.env.HOME;
    process.env.HOME = ws.home;
    node = new nodeMod.Vault({ repoPath: readerRepo, keyPath: vault.keyFile });
  });

  after(async () => {
    process.env.HOME = prevHome;
    py?.close();
    await mcp?.close();
    node?.close?.();
  });

  async function lists() {
    const cliOut = cli(ws.env, ['list', '--json', '--repo', readerRepo, '--key', vault.keyFile]);
    assert.equal(cliOut.code, 0, cliOut.stderr);
    const pyOut = await py.ask({ op: 'list' });
    assert.ok(pyOut.result, JSON.stringify(pyOut));
    const mcpOut = JSON.parse(toolText(await mcp.callTool({ name: 'agent_vault_list', arguments: {} })));
    const nodeOut = await node.listSecrets();
    return {
      cli: JSON.parse(cliOut.stdout).map((m) => m.name),
      python: pyOut.result,
      mcp: mcpOut.secrets.map((s) => s.name),
      node: nodeOut.map((m) => m.name),
    };
  }

  it('list the same secrets for the same key: what the agent was granted, nothing else', async () => {
    const got = await lists();
    const want = Object.keys(vault.values).filter((p) => p.startsWith('stripe/')).sort();
    for (const [reader, names] of Object.entries(got)) {
      assert.deepEqual(names, want, `${reader} lists ${names}`);
    }
  });

  it('see a secret pushed from another clone in their next list and get', async () => {
    const value = secretValue('sk_pushed');
    vault.publish('stripe/pushed', value);
    for (const [reader, names] of Object.entries(await lists())) {
      assert.ok(names.includes('stripe/pushed'), `${reader} does not list the pushed secret: ${names}`);
    }
    const cliGet = cli(ws.env, ['get', 'stripe/pushed', '--repo', readerRepo, '--key', vault.keyFile]);
    assert.equal(cliGet.stdout, value, cliGet.stderr);
    assert.equal((await py.ask({ op: 'get', secret: 'stripe/pushed' })).result, value);
    assert.equal(toolText(await mcp.callTool({ name: 'agent_vault_get', arguments: { secret: 'stripe/pushed' } })), value);
    assert.equal(await node.get('stripe/pushed'), value);
    // A second push, read first by get rather than list.
    const second = secretValue('sk_second');
    vault.publish('stripe/second', second);
    assert.equal(await node.get('stripe/second'), second);
    assert.equal((await py.ask({ op: 'get', secret: 'stripe/second' })).result, second);
    assert.equal(toolText(await mcp.callTool({ name: 'agent_vault_get', arguments: { secret: 'stripe/second' } })), second);
  });

  it('name the path of a missing repository', async () => {
    const c = cli(ws.env, ['list', '--repo', MISSING]);
    assert.equal(c.code, 3);
    assert.ok(c.stderr.includes(MISSING), c.stderr);
    const p = startPython(ws.env, MISSING, vault.keyFile);
    const pr = await p.first();
    p.close();
    assert.equal(pr.code, 'vault_not_found');
    assert.ok(pr.error.includes(MISSING), pr.error);
    assert.throws(() => new nodeMod.Vault({ repoPath: MISSING, keyPath: vault.keyFile }),
      (e) => e.code === 'vault_not_found' && e.message.includes(MISSING));
    const m = cli(ws.env, ['mcp', '--repo', MISSING, '--key', vault.keyFile]);
    assert.equal(m.code, 3);
    assert.ok(m.stderr.includes(MISSING), m.stderr);
  });

  it('never print the credentials of a repository URL', async () => {
    const outputs = [];
    const c = cli(ws.env, ['get', 'stripe/api-key', '--repo', SECRET_URL, '--key', vault.keyFile]);
    assert.equal(c.code, 3, c.stderr);
    outputs.push(['cli', c.stdout + c.stderr]);
    const m = cli(ws.env, ['mcp', '--repo', SECRET_URL, '--key', vault.keyFile]);
    assert.equal(m.code, 3, m.stderr);
    outputs.push(['mcp', m.stdout + m.stderr]);
    const p = startPython(ws.env, SECRET_URL, vault.keyFile);
    const pr = await p.first();
    p.close();
    assert.equal(pr.code, 'vault_not_found');
    outputs.push(['python', JSON.stringify(pr) + p.stderr()]);
    let nodeErr;
    try { new nodeMod.Vault({ repoPath: SECRET_URL, keyPath: vault.keyFile }); } catch (e) { nodeErr = e; }
    assert.equal(nodeErr?.code, 'vault_not_found');
    outputs.push(['node', `${nodeErr.message} ${nodeErr.hint ?? ''}`]);
    for (const [reader, text] of outputs) {
      assert.ok(!text.includes('TOKEN'), `${reader} printed the URL's credentials: ${text}`);
      assert.ok(text.includes('127.0.0.1:9/x.git'), `${reader} does not name the URL: ${text}`);
    }
  });
});
