// File access through the lazy disk-backed WASI directory: symlinks inside
// the vault are reported as symlinks and never followed.

import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import path from "node:path";
import { wasi } from "@bjorn3/browser_wasi_shim";
import { DiskPreopen } from "../src/diskfs.js";
import { instantiate } from "../src/runtime.js";
import { Vault, VaultError } from "../src/index.js";
import { VECTORS, tempDir } from "./helpers.js";

const OWNER_KEY = path.join(VECTORS, "keys/owner.key");
delete process.env.AGENT_VAULT_KEY;

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
  assert.equal(await getAsOwner(vault, "postgres/conn"), "postgres://app:fixture-password@localhost:5432/app");
});

test("a secret file symlinked to a valid ciphertext outside the vault is refused", async () => {
  const { secrets, outside } = copyFixture();
  // The target decrypts fine, so following the link would return a value.
  const target = path.join(outside, "conn.enc");
  fs.copyFileSync(path.join(secrets, "postgres/conn.enc"), target);
  fs.rmSync(path.join(secrets, "stripe/api-key.enc"));
  fs.symlinkSync(target, path.join(secrets, "stripe/api-key.enc"));
  await assert.rejects(getAsOwner(path.dirname(path.dirname(secrets)), "stripe/api-key"), VaultError);
});

test("a secrets directory symlinked outside the vault is refused", async () => {
  const { secrets, outside } = copyFixture();
  fs.cpSync(path.join(secrets, "postgres"), path.join(outside, "postgres"), { recursive: true });
  fs.rmSync(path.join(secrets, "postgres"), { recursive: true });
  fs.symlinkSync(path.join(outside, "postgres"), path.join(secrets, "postgres"));
  await assert.rejects(getAsOwner(path.dirname(path.dirname(secrets)), "postgres/conn"), VaultError);
});

test("a symlinked manifest is refused when opening", () => {
  const { vault, outside } = copyFixture();
  const manifest = path.join(vault, ".agent-vault/manifest.yaml");
  fs.copyFileSync(manifest, path.join(outside, "manifest.yaml"));
  fs.rmSync(manifest);
  fs.symlinkSync(path.join(outside, "manifest.yaml"), manifest);
  assert.throws(() => new Vault({ repoPath: vault, keyPath: OWNER_KEY, autoPull: false }), VaultError);
});

test("lstat reports a symlink as a symlink; follow and open are refused", () => {
  const { secrets, outside } = copyFixture();
  fs.writeFileSync(path.join(outside, "target"), "outside");
  fs.symlinkSync(path.join(outside, "target"), path.join(secrets, "link"));
  const root = new DiskPreopen("/vault", path.dirname(path.dirname(secrets)));
  const lst = root.path_filestat_get(0, ".agent-vault/secrets/link");
  assert.equal(lst.ret, wasi.ERRNO_SUCCESS);
  assert.equal(lst.filestat.filetype, wasi.FILETYPE_SYMBOLIC_LINK);
  assert.equal(root.path_filestat_get(1, ".agent-vault/secrets/link").ret, wasi.ERRNO_LOOP);
  assert.equal(root.path_open(1, ".agent-vault/secrets/link", 0, 2n, 0n, 0).ret, wasi.ERRNO_LOOP);
  assert.equal(root.path_open(0, "../outside/target", 0, 2n, 0n, 0).ret, wasi.ERRNO_NOTCAPABLE);
});

test("the directory is read-only and read lazily", () => {
  const { vault } = copyFixture();
  const root = new DiskPreopen("/vault", vault);
  const rel = ".agent-vault/secrets/new.enc";
  assert.equal(root.path_open(0, rel, wasi.OFLAGS_CREAT, 2n | 64n, 0n, 0).ret, wasi.ERRNO_ROFS);
  assert.equal(root.path_create_directory(".agent-vault/x"), wasi.ERRNO_ROFS);
  // A file written after the preopen was made is seen: nothing was loaded up front.
  fs.writeFileSync(path.join(vault, "late.txt"), "late");
  const { ret, fd_obj: fd } = root.path_open(0, "late.txt", 0, 2n, 0n, 0);
  assert.equal(ret, wasi.ERRNO_SUCCESS);
  assert.equal(Buffer.from(fd.fd_read(100).data).toString(), "late");
  fd.fd_close();
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
    const v = new Vault({ repoPath: vault, keyPath: OWNER_KEY, autoPull: false });
    assert.equal(await v.get("postgres/conn"), "postgres://app:fixture-password@localhost:5432/app");
    v.close();
  } finally {
    fs.openSync = realOpen;
  }
  assert.ok(opened > 0, "the disk-backed directory was not used");
  assert.ok(opened < 30, `${opened} files opened for one open and one get`);
});

test("the WASI fd table does not grow with the number of gets", () => {
  const { vault: wasm, wasi } = instantiate({ dir: path.join(VECTORS, "vault") });
  const { handle } = wasm.open({ root: "/vault", key: { path: OWNER_KEY }, keyFile: fs.readFileSync(OWNER_KEY) });
  for (let i = 0; i < 300; i++) wasm.get(handle, "postgres/conn");
  wasm.list(handle);
  assert.ok(wasi.fds.length <= 8, `${wasi.fds.length} fd slots after 300 gets`);
});

test("a Vault whose instance trapped re-opens in a fresh instance", async () => {
  const v = new Vault({ repoPath: path.join(VECTORS, "vault"), keyPath: OWNER_KEY, autoPull: false });
  try {
    const first = v._wasm;
    first.broken = true;
    assert.equal(await v.get("postgres/conn"), "postgres://app:fixture-password@localhost:5432/app");
    assert.notEqual(v._wasm, first);
  } finally {
    v.close();
  }
});
