// End to end with vaults made by the real CLI (bin/agent-vault) in a
// throwaway HOME with real Git: key resolution, errors, revocation seen
// through autoPull.

import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import {
  Vault,
  NotAuthorizedError,
  SecretNotFoundError,
  VaultNotFoundError,
  VaultError,
} from "../src/index.js";
import { cli, git, tempDir, testEnv } from "./helpers.js";

const HOME = tempDir("av-node-home-");
const env = testEnv(HOME);
Object.assign(process.env, env);
delete process.env.AGENT_VAULT_KEY;

const base = tempDir();
const bare = path.join(base, "vault.git");
const owner = path.join(base, "owner");
const PEM = "-----BEGIN CERTIFICATE-----\nMIIBfake\nLINE2==\n-----END CERTIFICATE-----\n";
const BLOB = new Uint8Array([0, 1, 2, 0xff, 0xfe, 0x0a, 0x0d, 0, 0x80]);

// One vault for the whole file: owner working copy with a bare upstream.
git(["init", "--quiet", "--bare", "-b", "main", bare], { env });
git(["clone", "--quiet", bare, owner], { env });
cli(["init"], { env, cwd: owner });
cli(["add-agent", "bot"], { env, cwd: owner });
cli(["add-agent", "other"], { env, cwd: owner });
cli(["set", "stripe/api-key", "sk_live_e2e_value", "--agents", "bot"], { env, cwd: owner });
fs.writeFileSync(path.join(base, "cert.pem"), PEM);
cli(["set", "certs/tls", "--from-file", path.join(base, "cert.pem"), "--agents", "bot,other"], { env, cwd: owner });
cli(["set", "blobs/raw", "-"], { env, cwd: owner, input: Buffer.from(BLOB) });
cli(["set", "postgres/url", "postgres://e2e", "--agents", "other"], { env, cwd: owner });
git(["push", "--quiet", "origin", "HEAD:main"], { env, cwd: owner });

const botKey = path.join(HOME, ".agent-vault/agents/bot.key");
const agentClone = path.join(base, "agent");
git(["clone", "--quiet", bare, agentClone], { env });

async function withVault(opts, fn) {
  const v = new Vault({ autoPull: false, ...opts });
  try {
    return await fn(v);
  } finally {
    v.close();
  }
}

test("the owner reads everything with the default key (~/.agent-vault/owner.key)", async () => {
  await withVault({ repoPath: owner }, async (v) => {
    assert.equal(v.identity, "owner");
    assert.equal(await v.get("stripe/api-key"), "sk_live_e2e_value");
    assert.equal(await v.get("certs/tls"), PEM);
    assert.deepEqual(await v.getBytes("blobs/raw"), BLOB);
    assert.equal(await v.get("postgres/url"), "postgres://e2e");
  });
});

test("an agent key given as ~/ path reads its groups only", async () => {
  await withVault({ repoPath: agentClone, keyPath: "~/.agent-vault/agents/bot.key" }, async (v) => {
    assert.equal(v.identity, "bot");
    assert.equal(await v.get("stripe/api-key"), "sk_live_e2e_value");
    await assert.rejects(v.get("postgres/url"), NotAuthorizedError);
    await assert.rejects(v.get("stripe/nope"), SecretNotFoundError);
  });
});

test("AGENT_VAULT_KEY as a path and as a raw key; explicit keys win over it", async () => {
  const raw = fs.readFileSync(botKey, "utf8").split("\n").find((l) => l.startsWith("AGE-SECRET-KEY-"));
  assert.ok(raw, "the bot key file has no AGE-SECRET-KEY line");
  try {
    process.env.AGENT_VAULT_KEY = botKey;
    await withVault({ repoPath: agentClone }, async (v) => assert.equal(v.identity, "bot"));
    process.env.AGENT_VAULT_KEY = raw;
    await withVault({ repoPath: agentClone }, async (v) => {
      assert.equal(v.identity, "bot");
      assert.equal(await v.get("stripe/api-key"), "sk_live_e2e_value");
    });
    const otherKey = path.join(HOME, ".agent-vault/agents/other.key");
    await withVault({ repoPath: agentClone, keyPath: otherKey }, async (v) => assert.equal(v.identity, "other"));
    await withVault({ repoPath: agentClone, keyString: raw }, async (v) => assert.equal(v.identity, "bot"));
    // keyStr is the original SDK's name for keyString.
    await withVault({ repoPath: agentClone, keyStr: raw }, async (v) => assert.equal(v.identity, "bot"));
    process.env.AGENT_VAULT_KEY = path.join(HOME, "missing.key");
    assert.throws(() => new Vault({ repoPath: agentClone, autoPull: false }), VaultError);
  } finally {
    delete process.env.AGENT_VAULT_KEY;
  }
});

test("metadata lists what the key can read, or everything with all", async () => {
  await withVault({ repoPath: agentClone, keyPath: botKey }, async (v) => {
    assert.deepEqual(v.listSecrets().map((s) => s.name), ["certs/tls", "stripe/api-key"]);
    const secrets = v.listSecrets({ all: true });
    assert.deepEqual(
      secrets.map((s) => s.name),
      ["blobs/raw", "certs/tls", "postgres/url", "stripe/api-key"],
    );
    const tls = secrets.find((s) => s.name === "certs/tls");
    assert.equal(tls.group, "certs");
    assert.deepEqual(tls.authorizedAgents, ["bot", "other"]);
    assert.ok(tls.createdAt instanceof Date && !Number.isNaN(tls.createdAt.getTime()));
    assert.ok(tls.rotatedAt instanceof Date && tls.expiresAt === undefined);
    assert.deepEqual(v.listSecrets("stripe").map((s) => s.name), ["stripe/api-key"]);
    assert.deepEqual(v.listSecrets("postgres").map((s) => s.name), []);
    assert.deepEqual(v.listSecrets("postgres", { all: true }).map((s) => s.name), ["postgres/url"]);
    assert.deepEqual(v.listAgents().map((a) => [a.name, a.hasEscrow]), [["bot", true], ["other", true]]);
  });
  await withVault({ repoPath: owner }, async (v) => assert.equal(v.listSecrets().length, 4));
});

test("no vault at the path is VaultNotFoundError naming the path as given; no key at all is an error too", () => {
  const empty = tempDir();
  assert.throws(() => new Vault({ repoPath: empty, keyPath: botKey, autoPull: false }), VaultNotFoundError);
  const saved = process.cwd();
  try {
    process.chdir(base);
    assert.throws(() => new Vault({ repoPath: "no/such/dir", keyPath: botKey }), (e) =>
      e instanceof VaultNotFoundError && e.message.includes("no/such/dir") && !e.message.includes(base));
    // A relative path is taken from the working directory.
    assert.equal(new Vault({ repoPath: "agent", keyPath: botKey, autoPull: false }).path, agentClone);
    // No path at all: the vault around the working directory.
    process.chdir(path.join(agentClone, ".agent-vault/secrets"));
    assert.equal(new Vault({ keyPath: botKey, autoPull: false }).path, agentClone);
  } finally {
    process.chdir(saved);
  }
  const bareHome = tempDir();
  const savedHome = process.env.HOME;
  try {
    process.env.HOME = bareHome;
    assert.throws(() => new Vault({ repoPath: agentClone, autoPull: false }), VaultNotFoundError);
  } finally {
    process.env.HOME = savedHome;
  }
});

test("a revoke pushed by the owner is seen by a running agent through autoPull", async () => {
  const v = new Vault({ repoPath: agentClone, keyPath: botKey });
  try {
    assert.equal(await v.get("stripe/api-key"), "sk_live_e2e_value");
    cli(["revoke", "bot", "stripe"], { env, cwd: owner });
    git(["push", "--quiet", "origin", "HEAD:main"], { env, cwd: owner });
    await assert.rejects(v.get("stripe/api-key"), NotAuthorizedError);
    assert.equal(await v.get("certs/tls"), PEM);
    // The CLI agrees: exit code 5 is not_authorized.
    const r = cli(["get", "stripe/api-key", "--key", botKey, "--no-pull"], { env, cwd: agentClone, allowFail: true });
    assert.equal(r.status, 5, r.stderr);
  } finally {
    v.close();
  }
});
