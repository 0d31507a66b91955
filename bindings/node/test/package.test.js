// The published package: its tarball carries the module and the types, and
// the declarations cover every runtime export.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import * as api from "../src/index.js";
import { PKG } from "./helpers.js";

test("npm pack includes the wasm module, the types and the sources", () => {
  const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: PKG, encoding: "utf8" });
  const files = JSON.parse(out)[0].files.map((f) => f.path);
  for (const f of ["agent_vault.wasm", "index.d.ts", "package.json", "src/index.js", "src/glue.js", "src/runtime.js", "src/diskfs.js", "src/git.js"]) {
    assert.ok(files.includes(f), `${f} missing from the tarball: ${files}`);
  }
  assert.ok(!files.some((f) => f.startsWith("test/") || f.startsWith("node_modules/")), files.join(", "));
});

test("package.json pins its dependencies exactly and targets Node >= 20", () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(PKG, "package.json"), "utf8"));
  assert.equal(pkg.type, "module");
  assert.equal(pkg.engines.node, ">=20");
  for (const deps of [pkg.dependencies, pkg.devDependencies]) {
    for (const [name, version] of Object.entries(deps)) assert.match(version, /^\d+\.\d+\.\d+$/, `${name}@${version} is not pinned`);
  }
  const lock = JSON.parse(fs.readFileSync(path.join(PKG, "package-lock.json"), "utf8"));
  assert.equal(lock.packages["node_modules/@bjorn3/browser_wasi_shim"].version, pkg.dependencies["@bjorn3/browser_wasi_shim"]);
});

test("index.d.ts declares every runtime export", () => {
  const dts = fs.readFileSync(path.join(PKG, "index.d.ts"), "utf8");
  for (const name of Object.keys(api)) {
    assert.match(dts, new RegExp(`export (declare )?(class|const|function) ${name}\\b`), `${name} is not declared`);
  }
  for (const method of Object.getOwnPropertyNames(api.Vault.prototype).filter((m) => !m.startsWith("_") && m !== "constructor")) {
    assert.match(dts, new RegExp(`\\b${method}\\b`), `Vault.${method} is not declared`);
  }
});
