// Git sync: auto-pull before get (re-opening when HEAD moves), the offline
// warning, concurrent gets, and remote URLs served by a local git daemon.

import { test, after } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawn, spawnSync } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import path from "node:path";
import { ConflictError, GitSyncError, Vault } from "../src/index.js";
import { PKG, VECTORS, cli, git, tempDir, testEnv } from "./helpers.js";

const KEYS = path.join(VECTORS, "keys");
const HOME = tempDir("av-node-home-");
// Clones of remote URLs go under $HOME/.agent-vault/cache.
process.env.HOME = HOME;
delete process.env.AGENT_VAULT_KEY;
const env = testEnv(HOME);
Object.assign(process.env, env);

const EXPECT = {
  "stripe/api-key": "sk_test_fixture_4eC39HqLyjWDarjtT1zdp7dc",
  "stripe/webhook-secret": "whsec_fixture_0123456789",
  "postgres/conn": "postgres://app:fixture-password@localhost:5432/app",
};

/** A bare repo holding the fixture vault, and a writer clone of it. */
function upstream() {
  // Every test's vault is a fresh copy of the one fixture, with the same
  // vault id: what an earlier test's readers remembered of its signed
  // versions is not this test's history.
  fs.rmSync(path.join(HOME, ".agent-vault", "seen"), { recursive: true, force: true });
  const base = tempDir();
  const work = path.join(base, "writer");
  fs.cpSync(path.join(VECTORS, "vault"), work, { recursive: true });
  git(["init", "--quiet", "-b", "main"], { cwd: work, env });
  git(["add", "-A", "--force"], { cwd: work, env });
  git(["commit", "--quiet", "-m", "fixture"], { cwd: work, env });
  const bare = path.join(base, "vault.git");
  git(["clone", "--quiet", "--bare", work, bare], { env });
  git(["remote", "add", "origin", bare], { cwd: work, env });
  git(["fetch", "--quiet", "origin"], { cwd: work, env });
  git(["branch", "--quiet", "-u", "origin/main"], { cwd: work, env });
  return { base, work, bare };
}

/** Replaces one secret's ciphertext with another's and pushes. */
function pushSwap(work, dst, src) {
  const s = path.join(work, ".agent-vault/secrets");
  fs.copyFileSync(path.join(s, `${src}.enc`), path.join(s, `${dst}.enc`));
  git(["commit", "--quiet", "-am", `swap ${dst}`], { cwd: work, env });
  // The owner accepts the swap, so readers with the pin take the new
  // value. The owner works on another machine: a HOME of its own.
  cli(["seal", "--yes", "--key", path.join(KEYS, "owner.key"), "--insecure-key-permissions"],
    { cwd: work, env: testEnv(tempDir("av-node-owner-home-")) });
  git(["push", "--quiet", "origin", "main"], { cwd: work, env });
}

test("autoPull fast-forwards before get and re-opens on a new HEAD", async () => {
  const { base, work, bare } = upstream();
  const reader = path.join(base, "reader");
  git(["clone", "--quiet", bare, reader], { env });
  const v = new Vault({ repoPath: reader, keyPath: path.join(KEYS, "owner.key") });
  const still = new Vault({ repoPath: reader, keyPath: path.join(KEYS, "owner.key"), autoPull: false });
  try {
    assert.equal(await v.get("stripe/api-key"), EXPECT["stripe/api-key"]);
    pushSwap(work, "stripe/api-key", "stripe/webhook-secret");
    assert.equal(await v.get("stripe/api-key"), EXPECT["stripe/webhook-secret"]);
    assert.equal(git(["rev-parse", "HEAD"], { cwd: reader, env }), git(["rev-parse", "HEAD"], { cwd: work, env }));
    // autoPull: false never runs git: the checkout stays where it was.
    const other = path.join(base, "other");
    git(["clone", "--quiet", bare, other], { env });
    const before = git(["rev-parse", "HEAD"], { cwd: other, env });
    // Its own HOME: this machine has seen the newer version the next push
    // makes, and would rightly refuse the older checkout as a rollback.
    const home = process.env.HOME;
    process.env.HOME = tempDir("av-node-other-home-");
    const o = new Vault({ repoPath: other, keyPath: path.join(KEYS, "owner.key"), autoPull: false });
    process.env.HOME = home;
    pushSwap(work, "stripe/api-key", "postgres/conn");
    assert.equal(await o.get("stripe/api-key"), EXPECT["stripe/webhook-secret"]);
    assert.equal(git(["rev-parse", "HEAD"], { cwd: other, env }), before);
    o.close();
  } finally {
    v.close();
    still.close();
  }
});

test("an unreachable upstream warns once per streak of failures and serves the local copy", async () => {
  const { base, bare } = upstream();
  const reader = path.join(base, "reader");
  git(["clone", "--quiet", bare, reader], { env });
  const warnings = [];
  const v = new Vault({ repoPath: reader, keyPath: path.join(KEYS, "owner.key"), onWarning: (m) => warnings.push(m) });
  try {
    fs.renameSync(bare, `${bare}.gone`);
    assert.equal(await v.get("postgres/conn"), EXPECT["postgres/conn"]);
    assert.equal(await v.get("stripe/api-key"), EXPECT["stripe/api-key"]);
    v.listSecrets();
    assert.equal(warnings.length, 1, JSON.stringify(warnings));
    assert.match(warnings[0], /could not update/);
    assert.ok(warnings[0].includes(reader), warnings[0]);
    // Back online: no warning; offline again: a new streak, one more warning.
    fs.renameSync(`${bare}.gone`, bare);
    assert.equal(await v.get("stripe/api-key"), EXPECT["stripe/api-key"]);
    assert.equal(warnings.length, 1, JSON.stringify(warnings));
    fs.renameSync(bare, `${bare}.gone`);
    await v.get("stripe/api-key");
    await v.get("stripe/api-key");
    assert.equal(warnings.length, 2, JSON.stringify(warnings));
  } finally {
    v.close();
  }
});

test("diverged history warns and serves the local copy, like the Python package", async () => {
  const { base, work, bare } = upstream();
  const reader = path.join(base, "reader");
  git(["clone", "--quiet", bare, reader], { env });
  fs.writeFileSync(path.join(reader, "local.txt"), "local");
  git(["add", "local.txt"], { cwd: reader, env });
  git(["commit", "--quiet", "-m", "local"], { cwd: reader, env });
  pushSwap(work, "stripe/api-key", "postgres/conn");
  const warnings = [];
  const v = new Vault({ repoPath: reader, keyPath: path.join(KEYS, "owner.key"), onWarning: (m) => warnings.push(m) });
  try {
    assert.equal(await v.get("stripe/api-key"), EXPECT["stripe/api-key"]);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0], /could not update/);
  } finally {
    v.close();
  }
});

test("concurrent gets on one vault all return the right values while pulls happen", async () => {
  const { base, bare } = upstream();
  const reader = path.join(base, "reader");
  git(["clone", "--quiet", bare, reader], { env });
  const v = new Vault({ repoPath: reader, keyPath: path.join(KEYS, "billing.key") });
  try {
    const names = Object.keys(EXPECT);
    const jobs = [];
    for (let i = 0; i < 60; i++) {
      const name = names[i % names.length];
      jobs.push(v.get(name).then((value) => [name, value]));
      if (i % 20 === 0) await new Promise((r) => setImmediate(r));
    }
    const results = await Promise.all(jobs);
    assert.equal(results.length, 60);
    for (const [name, value] of results) assert.equal(value, EXPECT[name], name);
  } finally {
    v.close();
  }
});

test("several auto-pulling vaults on one checkout stay consistent across a push", async () => {
  const { base, work, bare } = upstream();
  const reader = path.join(base, "reader");
  git(["clone", "--quiet", bare, reader], { env });
  const vaults = [0, 1, 2].map(() => new Vault({ repoPath: reader, keyPath: path.join(KEYS, "owner.key") }));
  try {
    const round = () =>
      Promise.all(Array.from({ length: 30 }, (_, i) => vaults[i % 3].get("stripe/api-key")));
    const first = round();
    pushSwap(work, "stripe/api-key", "postgres/conn");
    const second = round();
    for (const value of [...(await first), ...(await second)]) {
      assert.ok([EXPECT["stripe/api-key"], EXPECT["postgres/conn"]].includes(value), value);
    }
    // Once a pull has completed after the push, every vault sees the new value.
    for (const x of vaults) assert.equal(await x.get("stripe/api-key"), EXPECT["postgres/conn"]);
  } finally {
    vaults.forEach((x) => x.close());
  }
});

test("autoPull waits for another reader's lock on the checkout, sleeping meanwhile", async () => {
  const { base, work, bare } = upstream();
  const reader = path.join(base, "reader");
  git(["clone", "--quiet", bare, reader], { env });
  const lock = path.join(reader, ".git", "agent-vault", "read.lock");
  const v = new Vault({ repoPath: reader, keyPath: path.join(KEYS, "owner.key") });
  try {
    assert.equal(await v.get("stripe/api-key"), EXPECT["stripe/api-key"]);
    assert.ok(!fs.existsSync(lock), "the lock outlived the read");
    pushSwap(work, "stripe/api-key", "postgres/conn");
    // Another process's lock, as the reader stamps it; that process lets go after 500 ms.
    fs.writeFileSync(lock, `${new Date().toISOString()} 0123456789abcdef pull\n`, { mode: 0o600 });
    const released = path.join(base, "released");
    const holder = spawn(process.execPath, ["-e",
      "const fs = require('fs'); setTimeout(() => { fs.writeFileSync(process.argv[2], ''); fs.unlinkSync(process.argv[1]); }, 500)",
      lock, released]);
    const exited = new Promise((resolve) => holder.on("exit", resolve));
    const cpu = process.cpuUsage();
    const start = process.hrtime.bigint();
    const value = await v.get("stripe/api-key");
    const wall = Number(process.hrtime.bigint() - start) / 1e6;
    const used = process.cpuUsage(cpu);
    assert.equal(value, EXPECT["postgres/conn"]);
    assert.ok(fs.existsSync(released), "the get did not wait for the lock");
    assert.ok((used.user + used.system) / 1000 < wall / 2, `${(used.user + used.system) / 1000} ms of CPU in a ${wall} ms get: the module spins`);
    await exited;
    assert.ok(!fs.existsSync(lock));
  } finally {
    v.close();
  }
});

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

async function startDaemon(baseDir) {
  const port = await freePort();
  const daemon = spawn(
    "git",
    ["daemon", "--export-all", `--base-path=${baseDir}`, "--reuseaddr", "--listen=127.0.0.1", `--port=${port}`, baseDir],
    { env, stdio: ["ignore", "ignore", "pipe"] },
  );
  let stderr = "";
  daemon.stderr.on("data", (d) => (stderr += d));
  after(() => daemon.kill());
  const url = `git://127.0.0.1:${port}/vault.git`;
  for (let i = 0; i < 100; i++) {
    if (daemon.exitCode !== null) throw new Error(`git daemon exited: ${stderr}`);
    try {
      git(["ls-remote", url], { env });
      return url;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`git daemon did not come up: ${stderr}`);
}

test("pullInterval limits how often git runs; pull() pulls at once", async () => {
  const { base, work, bare } = upstream();
  const reader = path.join(base, "reader");
  git(["clone", "--quiet", bare, reader], { env });
  const v = new Vault({ repoPath: reader, keyPath: path.join(KEYS, "owner.key"), pullInterval: 3600 });
  try {
    assert.equal(await v.get("stripe/api-key"), EXPECT["stripe/api-key"]);
    pushSwap(work, "stripe/api-key", "postgres/conn");
    assert.equal(await v.get("stripe/api-key"), EXPECT["stripe/api-key"]);
    v.pull();
    assert.equal(await v.get("stripe/api-key"), EXPECT["postgres/conn"]);
  } finally {
    v.close();
  }
});

test("pull() fails with GitSyncError (ConflictError) where a pull before a read only warns", async () => {
  const { base, work, bare } = upstream();
  const reader = path.join(base, "reader");
  git(["clone", "--quiet", bare, reader], { env });
  fs.writeFileSync(path.join(reader, "local.txt"), "local");
  git(["add", "local.txt"], { cwd: reader, env });
  git(["commit", "--quiet", "-m", "local"], { cwd: reader, env });
  pushSwap(work, "stripe/api-key", "postgres/conn");
  const warnings = [];
  const v = new Vault({ repoPath: reader, keyPath: path.join(KEYS, "owner.key"), onWarning: (m) => warnings.push(m) });
  try {
    assert.throws(() => v.pull(), (e) => e instanceof GitSyncError && e instanceof ConflictError && e.code === "conflict");
    assert.deepEqual(warnings, []);
  } finally {
    v.close();
  }
  // A plain directory has no upstream to pull from.
  const plain = new Vault({ repoPath: path.join(VECTORS, "vault"), keyPath: path.join(KEYS, "owner.key") });
  assert.throws(() => plain.pull(), { code: "conflict", message: /upstream/ });
  plain.close();
});

test("a vault given as its .agent-vault folder is still pulled from the repo", async () => {
  const { base, work, bare } = upstream();
  const reader = path.join(base, "reader");
  git(["clone", "--quiet", bare, reader], { env });
  const v = new Vault({ repoPath: path.join(reader, ".agent-vault"), keyPath: path.join(KEYS, "owner.key") });
  try {
    assert.equal(await v.get("stripe/api-key"), EXPECT["stripe/api-key"]);
    pushSwap(work, "stripe/api-key", "postgres/conn");
    assert.equal(await v.get("stripe/api-key"), EXPECT["postgres/conn"]);
  } finally {
    v.close();
  }
});

test("a git:// URL is cloned into the cache and pulled on get", async () => {
  const { base, work } = upstream();
  const url = await startDaemon(base);
  const v = new Vault({ repoPath: url, keyPath: path.join(KEYS, "deploy.key") });
  try {
    assert.ok(v.path.startsWith(path.join(HOME, ".agent-vault", "cache")), v.path);
    assert.ok(fs.existsSync(path.join(v.path, ".agent-vault/manifest.yaml")));
    assert.equal(v.identity, "deploy");
    assert.equal(await v.get("postgres/conn"), EXPECT["postgres/conn"]);
    pushSwap(work, "postgres/conn", "stripe/api-key");
    // deploy is not a recipient of the swapped-in ciphertext.
    await assert.rejects(v.get("postgres/conn"), { code: "not_authorized" });
  } finally {
    v.close();
  }
  // A second Vault reuses the cache clone.
  const again = new Vault({ repoPath: url, keyPath: path.join(KEYS, "owner.key"), autoPull: false });
  assert.equal(await again.get("postgres/conn"), EXPECT["stripe/api-key"]);
  again.close();
});

test("a file:// URL works too, and a bad URL is VaultNotFoundError", async () => {
  const { bare } = upstream();
  const v = new Vault({ repoPath: `file://${bare}`, keyPath: path.join(KEYS, "owner.key") });
  assert.equal(await v.get("stripe/api-key"), EXPECT["stripe/api-key"]);
  v.close();
  assert.throws(
    () => new Vault({ repoPath: `file://${bare}.missing`, keyPath: path.join(KEYS, "owner.key") }),
    { code: "vault_not_found" },
  );
});

test("credentials in a repository URL are never printed", () => {
  // Nothing listens on port 9; the URL's user and token must not show
  // anywhere: not in the error, its hint, nor on stdout or stderr.
  const url = "http://deploy:TOKEN@127.0.0.1:9/x.git";
  const code = `
    import { Vault } from "agent-vault";
    try { new Vault({ repoPath: ${JSON.stringify(url)}, keyPath: ${JSON.stringify(path.join(KEYS, "owner.key"))} }); }
    catch (e) { console.log(JSON.stringify({ code: e.code, message: e.message, hint: e.hint, stack: e.stack })); }`;
  const r = spawnSync(process.execPath, ["--input-type=module", "-e", code], { cwd: PKG, env, encoding: "utf8" });
  const out = JSON.parse(r.stdout);
  assert.equal(out.code, "vault_not_found", r.stdout);
  assert.match(out.message, /127\.0\.0\.1:9\/x\.git/);
  for (const text of [r.stdout, r.stderr]) {
    assert.ok(!text.includes("TOKEN") && !text.includes("deploy:"), text);
  }
});

test("git runs without AGENT_VAULT_KEY or AGENT_VAULT_OWNER in its environment, and without a terminal", async () => {
  const { base, work, bare } = upstream();
  const reader = path.join(base, "reader");
  git(["clone", "--quiet", bare, reader], { env });
  // A git first on PATH that records its environment and stdin, then runs the real one.
  const realGit = execFileSync("sh", ["-c", "command -v git"], { encoding: "utf8" }).trim();
  const bin = path.join(base, "bin");
  const records = path.join(base, "records");
  fs.mkdirSync(bin);
  fs.mkdirSync(records);
  fs.writeFileSync(
    path.join(bin, "git"),
    `#!/bin/sh\nenv > "${records}/env.$$"\nreadlink /proc/self/fd/0 > "${records}/stdin.$$"\nexec "${realGit}" "$@"\n`,
    { mode: 0o755 },
  );
  const raw = fs.readFileSync(path.join(KEYS, "owner.key"), "utf8").split("\n").find((l) => l.startsWith("AGE-SECRET-KEY-"));
  // The real pin: a wrong one would stop the read before git runs.
  const ownerPin = cli(["owner-key", "--key", path.join(KEYS, "owner.key"), "--insecure-key-permissions"], { env }).stdout.trim();
  const saved = { PATH: process.env.PATH, AGENT_VAULT_KEY: process.env.AGENT_VAULT_KEY, AGENT_VAULT_OWNER: process.env.AGENT_VAULT_OWNER };
  try {
    Object.assign(process.env, { PATH: `${bin}:${process.env.PATH}`, AGENT_VAULT_KEY: raw, AGENT_VAULT_OWNER: ownerPin });
    const v = new Vault({ repoPath: reader });
    // The owner's push runs its own git, which is not the reader's to record.
    process.env.PATH = saved.PATH;
    pushSwap(work, "stripe/api-key", "postgres/conn");
    process.env.PATH = `${bin}:${saved.PATH}`;
    assert.equal(await v.get("stripe/api-key"), EXPECT["postgres/conn"]);
    v.close();
  } finally {
    for (const [k, val] of Object.entries(saved)) {
      if (val === undefined) delete process.env[k];
      else process.env[k] = val;
    }
  }
  const envs = fs.readdirSync(records).filter((f) => f.startsWith("env."));
  assert.ok(envs.length >= 2, `git ran ${envs.length} times`);
  for (const f of envs) {
    const text = fs.readFileSync(path.join(records, f), "utf8");
    assert.ok(!/^AGENT_VAULT_(KEY|OWNER)=/m.test(text), `${f} has AGENT_VAULT_*`);
    assert.ok(!text.includes(raw.slice(16)), `${f} holds the key`);
    assert.match(text, /^GIT_TERMINAL_PROMPT=0$/m);
    assert.equal(fs.readFileSync(path.join(records, f.replace("env.", "stdin.")), "utf8").trim(), "/dev/null");
  }
});
