// What a user sees from a fresh process: no ExperimentalWarning or other
// noise on stderr, warnings on stderr once, and the package resolves by its
// own name.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import path from "node:path";
import { createHash } from "node:crypto";
import fs from "node:fs";
import { PKG, VECTORS, git, tempDir, testEnv } from "./helpers.js";

const table = JSON.parse(fs.readFileSync(path.join(VECTORS, "cases.json"), "utf8"));
const binary = table.cases.find((c) => c.op === "get" && c.key === "owner" && c.secret === "blobs/binary");

function runNode(code, env = {}) {
  const e = { ...process.env, ...env };
  delete e.NODE_OPTIONS;
  return spawnSync(process.execPath, ["--input-type=module", "-e", code], { cwd: PKG, env: e, encoding: "utf8" });
}

test("a get in a fresh process prints nothing on stderr (no ExperimentalWarning)", () => {
  const code = `
    import { Vault } from "agent-vault";
    const v = new Vault({ repoPath: ${JSON.stringify(path.join(VECTORS, "vault"))} });
    const { createHash } = await import("node:crypto");
    process.stdout.write(createHash("sha256").update(await v.getBytes("blobs/binary")).digest("hex"));
    v.listSecrets(); v.listAgents(); v.close();
  `;
  const r = runNode(code, { AGENT_VAULT_KEY: path.join(VECTORS, "keys/owner.key") });
  assert.equal(r.status, 0, r.stderr);
  assert.ok(binary, "the table has no blobs/binary case");
  assert.equal(r.stdout, createHash("sha256").update(Buffer.from(binary.expect.value_b64, "base64")).digest("hex"));
  assert.equal(r.stderr, "");
});

test("errors surface as the exported classes with code, number and hint", () => {
  const code = `
    import { Vault, VaultNotFoundError, VaultError } from "agent-vault";
    try { new Vault({ repoPath: "/nonexistent/vault", keyString: "AGE-SECRET-KEY-1QQQ" }); }
    catch (e) { console.log(JSON.stringify([e instanceof VaultNotFoundError, e instanceof VaultError, e.code, e.number, typeof e.hint])); }
  `;
  const r = runNode(code);
  assert.equal(r.stderr, "");
  assert.deepEqual(JSON.parse(r.stdout), [true, true, "vault_not_found", 3, "string"]);
});

test("warnings go to stderr once per streak, as agent-vault: warning: lines", () => {
  const base = tempDir();
  const env = testEnv(base);
  const work = path.join(base, "work");
  fs.cpSync(path.join(VECTORS, "vault"), work, { recursive: true });
  git(["init", "--quiet", "-b", "main"], { cwd: work, env });
  git(["add", "-A", "--force"], { cwd: work, env });
  git(["commit", "--quiet", "-m", "fixture"], { cwd: work, env });
  const bare = path.join(base, "vault.git");
  git(["clone", "--quiet", "--bare", work, bare], { env });
  const reader = path.join(base, "reader");
  git(["clone", "--quiet", bare, reader], { env });
  fs.rmSync(bare, { recursive: true });
  const code = `
    import { Vault } from "agent-vault";
    const v = new Vault({ repoPath: ${JSON.stringify(reader)} });
    for (let i = 0; i < 3; i++) process.stdout.write((await v.get("postgres/conn")).length + ";");`;
  const r = runNode(code, { ...env, AGENT_VAULT_KEY: path.join(VECTORS, "keys/owner.key") });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stdout, "50;50;50;");
  assert.equal(r.stderr.split("agent-vault: warning:").length - 1, 1, r.stderr);
  assert.match(r.stderr, /^agent-vault: warning: could not update .*reader/);
});
