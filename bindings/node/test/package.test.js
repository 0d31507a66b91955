// The published package: what its tarball holds, that a tarball packed from
// a clean clone installs and reads a secret through require() and import,
// that its types check under tsc --strict for both, and that it holds no
// vault rule of its own.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import * as api from "../src/index.js";
import { PKG, ROOT, VECTORS, git, tempDir, testEnv } from "./helpers.js";

const TSC = path.join(PKG, "node_modules/typescript/bin/tsc");
const pkgJson = JSON.parse(fs.readFileSync(path.join(PKG, "package.json"), "utf8"));
const CONN = "postgres://app:fixture-password@localhost:5432/app";

let packed;
function packList() {
  packed ??= JSON.parse(execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: PKG, encoding: "utf8" }))[0];
  return packed.files.map((f) => f.path);
}

test("npm pack includes the wasm module, the shared glue, the types and the sources, and nothing else", () => {
  const files = packList().sort();
  assert.deepEqual(files, [
    "LICENSE", "README.md", "agent_vault.wasm", "index.d.cts", "index.d.ts", "package.json",
    "shared/glue.js", "src/host.js", "src/index.js", "src/runtime.js",
  ]);
});

test("the package's sources hold no git command line of their own", () => {
  // The reader inside the module decides what git runs; the host only runs it.
  for (const f of packList().filter((f) => /\.(js|ts|cts|json)$/.test(f))) {
    const text = fs.readFileSync(path.join(PKG, f), "utf8");
    for (const word of ["rev-parse", "--ff-only", "clone"]) assert.ok(!text.includes(word), `${f} mentions ${word}`);
  }
});

test("package.json pins its dependencies exactly and says which Node can require() it", () => {
  assert.equal(pkgJson.type, "module");
  // require() of an ES module needs Node 20.19 or 22.12.
  assert.equal(pkgJson.engines.node, "^20.19.0 || >=22.12.0");
  for (const deps of [pkgJson.dependencies, pkgJson.devDependencies]) {
    for (const [name, version] of Object.entries(deps)) assert.match(version, /^\d+\.\d+\.\d+$/, `${name}@${version} is not pinned`);
  }
  const lock = JSON.parse(fs.readFileSync(path.join(PKG, "package-lock.json"), "utf8"));
  for (const name of ["@bjorn3/browser_wasi_shim", "typescript"]) {
    assert.equal(lock.packages[`node_modules/${name}`].version, pkgJson.dependencies[name] ?? pkgJson.devDependencies[name]);
  }
});

test("index.d.cts declares every runtime export and Vault method", () => {
  const dts = fs.readFileSync(path.join(PKG, "index.d.cts"), "utf8");
  for (const name of Object.keys(api)) {
    assert.match(dts, new RegExp(`export declare (class|const|function) ${name}\\b|\\bas ${name}\\b`), `${name} is not declared`);
  }
  for (const method of Object.getOwnPropertyNames(api.Vault.prototype).filter((m) => !m.startsWith("_") && m !== "constructor")) {
    assert.match(dts, new RegExp(`(^  |\\*/ )${method}\\(`, "m"), `Vault.${method} is not declared`);
  }
  assert.equal(fs.readFileSync(path.join(PKG, "index.d.ts"), "utf8").match(/^export \* from "\.\/index\.cjs";$/m)?.length, 1);
});

test("npm pack outside a source checkout, without the module, fails and says why", () => {
  const dir = path.join(tempDir("av-node-nowasm-"), "agent-vault");
  fs.cpSync(PKG, dir, { recursive: true, filter: (src) => !/node_modules|agent_vault\.wasm$/.test(src) });
  const r = spawnSync("npm", ["pack", "--dry-run"], { cwd: dir, encoding: "utf8" });
  assert.notEqual(r.status, 0, "npm pack succeeded without the module");
  assert.match(r.stderr, /agent_vault\.wasm is missing: run make build/);
});

// A project outside the repository using the package as a user would.
const CONSUMER = {
  "esm.mjs": `import { Vault, VaultError } from "agent-vault";
const v = new Vault({ repoPath: process.argv[2], keyPath: process.argv[3], autoPull: false });
process.stdout.write((await v.get("postgres/conn")) + (v.listAgents().length > 0 && VaultError.name));
v.close();`,
  "cjs.cjs": `const { Vault, VaultError, GitSyncError, ConflictError } = require("agent-vault");
const v = new Vault({ repoPath: process.argv[2], keyPath: process.argv[3], autoPull: false });
v.get("postgres/conn").then((s) => {
  process.stdout.write(s + (GitSyncError === ConflictError && VaultError.name));
  v.close();
});`,
  "types-esm.mts": `import { Vault, VaultError, SecretNotFoundError, type SecretMetadata } from "agent-vault";
const v = new Vault({ repoPath: ".", keyStr: "AGE-SECRET-KEY-1", autoPull: false, pullInterval: 5 });
export const value: Promise<string> = v.get("a/b");
export const bytes: Promise<Uint8Array> = v.getBytes("a/b");
export const list: SecretMetadata[] = v.listSecrets("a", { all: true });
export const e: VaultError = new SecretNotFoundError("m");
export const code: string = e.code;`,
  "types-cjs.cts": `import { Vault, GitSyncError, ConflictError } from "agent-vault";
import av = require("agent-vault");
const v: av.Vault = new Vault({ repoPath: "." });
export const names: string[] = v.listAgents().map((a) => a.name);
export const same: boolean = new GitSyncError("m") instanceof ConflictError;
v.pull();
v.reload();`,
};

function tsc(dir, files) {
  return spawnSync(
    process.execPath,
    [TSC, "--strict", "--noEmit", "--module", "nodenext", "--moduleResolution", "nodenext", "--target", "es2022", ...files],
    { cwd: dir, encoding: "utf8" },
  );
}

test("a tarball packed from a clean clone installs outside the repository and works through require(), import and tsc --strict", () => {
  const base = tempDir("av-node-pack-");
  const env = testEnv(base);
  const clone = path.join(base, "clone");
  git(["clone", "--quiet", "--no-local", ROOT, clone], { env });
  const pkgDir = path.join(clone, "bindings/node");
  assert.ok(!fs.existsSync(path.join(pkgDir, "agent_vault.wasm")), "the clean clone already has the module");
  const out = path.join(base, "out");
  fs.mkdirSync(out);
  const packed = spawnSync("npm", ["pack", "--json", "--pack-destination", out], { cwd: pkgDir, env, encoding: "utf8" });
  assert.equal(packed.status, 0, packed.stderr);
  const tarball = path.join(out, JSON.parse(packed.stdout.slice(packed.stdout.indexOf("[")))[0].filename);

  const project = path.join(base, "project");
  fs.mkdirSync(project);
  fs.writeFileSync(path.join(project, "package.json"), JSON.stringify({ name: "consumer", version: "1.0.0", private: true }));
  const installed = spawnSync("npm", ["install", "--no-audit", "--no-fund", "--prefer-offline", tarball], { cwd: project, env, encoding: "utf8" });
  assert.equal(installed.status, 0, installed.stderr);
  for (const [name, text] of Object.entries(CONSUMER)) fs.writeFileSync(path.join(project, name), text);

  const args = [path.join(VECTORS, "vault"), path.join(VECTORS, "keys/owner.key")];
  for (const script of ["esm.mjs", "cjs.cjs"]) {
    const r = spawnSync(process.execPath, [script, ...args], { cwd: project, env, encoding: "utf8" });
    assert.equal(r.status, 0, `${script}: ${r.stderr}`);
    assert.equal(r.stdout, `${CONN}VaultError`, script);
    assert.equal(r.stderr, "", `${script} printed on stderr`);
  }

  const typed = tsc(project, ["types-esm.mts", "types-cjs.cts"]);
  assert.equal(typed.status, 0, typed.stdout + typed.stderr);
  // The check can fail: a wrong type in either flavour is an error.
  fs.writeFileSync(path.join(project, "bad-esm.mts"), `import { Vault } from "agent-vault";\nexport const n: number = await new Vault().get("x");\n`);
  fs.writeFileSync(path.join(project, "bad-cjs.cts"), `import { Vault } from "agent-vault";\nexport const n: number = new Vault().listSecrets()[0].createdAt;\n`);
  for (const bad of ["bad-esm.mts", "bad-cjs.cts"]) {
    const r = tsc(project, [bad]);
    assert.notEqual(r.status, 0, `${bad} type-checked`);
    assert.match(r.stdout, /TS2322/, bad);
  }
});
