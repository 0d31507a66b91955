// The Node host's file operations (src/host.js) and what the reader makes of
// them: symlinks are reported, never followed, and refused inside a vault;
// reads stop at limit+1 bytes; the reader's own writes are private and
// atomic; a get reads only the files it needs.

import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { serveHost } from "../shared/glue.js";
import { nodeHost } from "../src/host.js";
import { Vault, VaultError } from "../src/index.js";
import { VECTORS, tempDir } from "./helpers.js";

const OWNER_KEY = path.join(VECTORS, "keys/owner.key");
const CONN = "postgres://app:fixture-password@localhost:5432/app";
delete process.env.AGENT_VAULT_KEY;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A private copy of the fixture vault, plus a directory outside it. */
function copyFixture() {
  const base = tempDir();
  const vault = path.join(base, "vault");
  fs.cpSync(path.join(VECTORS, "vault"), vault, { recursive: true });
  const outside = path.join(base, "outside");
  fs.mkdirSync(outside);
  return { vault, outside, secrets: path.join(vault, ".agent-vault/secrets") };
}

async function getAsOwner(vault, name) {
  const v = new Vault({ repoPath: vault, keyPath: OWNER_KEY, autoPull: false });
  try {
    return await v.get(name);
  } finally {
    v.close();
  }
}

test("the copied fixture reads normally (control for the symlink tests)", async () => {
  const { vault } = copyFixture();
  assert.equal(await getAsOwner(vault, "postgres/conn"), CONN);
});

test("a secret file symlinked to a valid ciphertext outside the vault is refused", async () => {
  const { vault, secrets, outside } = copyFixture();
  // The target decrypts fine, so following the link would return a value.
  const target = path.join(outside, "conn.enc");
  fs.copyFileSync(path.join(secrets, "postgres/conn.enc"), target);
  fs.rmSync(path.join(secrets, "stripe/api-key.enc"));
  fs.symlinkSync(target, path.join(secrets, "stripe/api-key.enc"));
  await assert.rejects(getAsOwner(vault, "stripe/api-key"), VaultError);
});

test("a secrets directory symlinked outside the vault is refused", async () => {
  const { vault, secrets, outside } = copyFixture();
  fs.cpSync(path.join(secrets, "postgres"), path.join(outside, "postgres"), { recursive: true });
  fs.rmSync(path.join(secrets, "postgres"), { recursive: true });
  fs.symlinkSync(path.join(outside, "postgres"), path.join(secrets, "postgres"));
  await assert.rejects(getAsOwner(vault, "postgres/conn"), VaultError);
});

test("a symlinked manifest is refused", () => {
  const { vault, outside } = copyFixture();
  const manifest = path.join(vault, ".agent-vault/manifest.yaml");
  fs.copyFileSync(manifest, path.join(outside, "manifest.yaml"));
  fs.rmSync(manifest);
  fs.symlinkSync(path.join(outside, "manifest.yaml"), manifest);
  assert.throws(() => new Vault({ repoPath: vault, keyPath: OWNER_KEY, autoPull: false }).listAgents(), {
    code: "corrupt_vault",
    message: /symlink/,
  });
});

test("lstat and readdir report a symlink as a symlink and never follow it", () => {
  const { secrets, outside } = copyFixture();
  fs.writeFileSync(path.join(outside, "target"), "outside");
  fs.symlinkSync(path.join(outside, "target"), path.join(secrets, "link"));
  fs.symlinkSync(outside, path.join(secrets, "dirlink"));
  assert.equal(nodeHost.lstat({ path: path.join(secrets, "link") }).type, "symlink");
  assert.equal(nodeHost.lstat({ path: path.join(secrets, "dirlink") }).type, "symlink");
  const byName = Object.fromEntries(nodeHost.readdir({ path: secrets }).entries.map((e) => [e.name, e.type]));
  assert.deepEqual([byName.link, byName.dirlink, byName.postgres], ["symlink", "symlink", "dir"]);
  const st = nodeHost.lstat({ path: path.join(secrets, "postgres/conn.enc") });
  assert.equal(st.type, "file");
  assert.equal(st.size, fs.statSync(path.join(secrets, "postgres/conn.enc")).size);
  assert.equal(st.mode, fs.statSync(path.join(secrets, "postgres/conn.enc")).mode & 0o777);
  assert.throws(() => nodeHost.lstat({ path: path.join(secrets, "missing") }), { kind: "not_found" });
});

test("read returns at most limit+1 bytes", () => {
  const dir = tempDir();
  const f = path.join(dir, "f");
  fs.writeFileSync(f, Buffer.alloc(1000, 7));
  assert.equal(nodeHost.read({ path: f, limit: 10 }).length, 11);
  assert.equal(nodeHost.read({ path: f, limit: 999 }).length, 1000);
  assert.equal(nodeHost.read({ path: f, limit: 5000 }).length, 1000);
  fs.writeFileSync(f, "");
  assert.equal(nodeHost.read({ path: f, limit: 10 }).length, 0);
});

test("a key file larger than the reader allows is refused without being read whole", () => {
  const dir = tempDir();
  const big = path.join(dir, "big.key");
  fs.writeFileSync(big, Buffer.alloc(200_000, 0x41));
  const realRead = nodeHost.read;
  const limits = [];
  nodeHost.read = (req) => {
    const data = realRead(req);
    if (req.path === big) limits.push([req.limit, data.length]);
    return data;
  };
  try {
    assert.throws(() => new Vault({ repoPath: path.join(VECTORS, "vault"), keyPath: big, autoPull: false }), {
      code: "invalid_key",
      message: /larger than/,
    });
  } finally {
    nodeHost.read = realRead;
  }
  assert.deepEqual(limits, [[limits[0][0], limits[0][0] + 1]], "the key file was read past limit+1");
});

test("write is atomic and private, mkdir is 0700, remove_all and rename work", () => {
  const dir = tempDir();
  const state = path.join(dir, "a/b/state.json");
  nodeHost.write({ path: state, data: Buffer.from("one").toString("base64") });
  nodeHost.write({ path: state, data: Buffer.from("two").toString("base64") });
  assert.equal(fs.readFileSync(state, "utf8"), "two");
  assert.equal(fs.statSync(state).mode & 0o777, 0o600);
  assert.equal(fs.statSync(path.join(dir, "a/b")).mode & 0o777, 0o700);
  assert.deepEqual(fs.readdirSync(path.join(dir, "a/b")), ["state.json"], "a temporary file was left behind");
  nodeHost.mkdir({ path: path.join(dir, "c/d") });
  assert.equal(fs.statSync(path.join(dir, "c/d")).mode & 0o777, 0o700);
  nodeHost.rename({ from: path.join(dir, "c"), to: path.join(dir, "e") });
  assert.ok(fs.existsSync(path.join(dir, "e/d")));
  nodeHost.remove_all({ path: path.join(dir, "e") });
  assert.ok(!fs.existsSync(path.join(dir, "e")));
});

test("create makes a private file only where nothing is, a symlink included; remove_all removes a file", () => {
  const dir = tempDir();
  const lock = path.join(dir, "read.lock");
  const serve = (req) => {
    const out = serveHost(nodeHost, encoder.encode(JSON.stringify(req)));
    return [out[0], JSON.parse(decoder.decode(out.subarray(1)))];
  };
  assert.deepEqual(serve({ op: "create", path: lock, data: Buffer.from("stamp\n").toString("base64") }), [0, {}]);
  assert.equal(fs.readFileSync(lock, "utf8"), "stamp\n");
  assert.equal(fs.statSync(lock).mode & 0o777, 0o600);
  assert.equal(serve({ op: "create", path: lock, data: "" })[1].error, "exists");
  assert.equal(fs.readFileSync(lock, "utf8"), "stamp\n");
  fs.symlinkSync(path.join(dir, "nowhere"), path.join(dir, "link.lock"));
  assert.equal(serve({ op: "create", path: path.join(dir, "link.lock"), data: "" })[1].error, "exists");
  assert.ok(!fs.existsSync(path.join(dir, "nowhere")), "create followed the symlink");
  assert.equal(serve({ op: "create", path: path.join(dir, "missing", "read.lock"), data: "" })[1].error, "not_found");
  assert.deepEqual(serve({ op: "remove_all", path: lock }), [0, {}]);
  assert.ok(!fs.existsSync(lock));
});

test("opening a vault with thousands of secret files reads only what it needs", async () => {
  const { vault, secrets } = copyFixture();
  const bulk = path.join(secrets, "bulk");
  fs.mkdirSync(bulk);
  const enc = fs.readFileSync(path.join(secrets, "postgres/conn.enc"));
  for (let i = 0; i < 3000; i++) fs.writeFileSync(path.join(bulk, `s${i}.enc`), enc);
  const realOpen = fs.openSync;
  let opened = 0;
  fs.openSync = (...args) => {
    opened++;
    return realOpen(...args);
  };
  try {
    assert.equal(await getAsOwner(vault, "postgres/conn"), CONN);
  } finally {
    fs.openSync = realOpen;
  }
  assert.ok(opened > 0, "the Node host was not used");
  assert.ok(opened < 30, `${opened} files opened for one open and one get`);
});

test("a Vault whose instance trapped re-opens in a fresh instance", async () => {
  const v = new Vault({ repoPath: path.join(VECTORS, "vault"), keyPath: OWNER_KEY, autoPull: false });
  try {
    const first = v._wasm;
    first.broken = true;
    assert.equal(await v.get("postgres/conn"), CONN);
    assert.notEqual(v._wasm, first);
  } finally {
    v.close();
  }
  assert.throws(() => v.listAgents(), { code: "invalid_input", message: /closed/ });
});
