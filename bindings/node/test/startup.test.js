// The module's compilation hints (wasm/hints) take effect: on V8 11 (Node
// 20) compiling the module compiles the functions a cold start calls, and a
// get then compiles almost nothing more; so the list of those functions,
// wasm/hints/startup.txt, still matches the module. Elsewhere the module
// compiles lazily, as V8 does by default.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { PKG, ROOT, VECTORS } from "./helpers.js";

const HINTED = process.versions.v8.startsWith("11.");

/** How many functions V8 compiles with Liftoff while `code` runs in a fresh process. */
function compiled(code) {
  const env = { ...process.env, AGENT_VAULT_KEY: path.join(VECTORS, "keys/owner.key") };
  delete env.NODE_OPTIONS;
  const r = spawnSync(process.execPath, ["--trace-wasm-compilation-times", "--input-type=module", "-e", code], {
    cwd: PKG,
    env,
    encoding: "utf8",
    maxBuffer: 64 << 20,
  });
  assert.equal(r.status, 0, r.stderr);
  return r.stdout.match(/^Compiled function \S+ using Liftoff/gm)?.length ?? 0;
}

test("compiling the module compiles what a cold get calls, and the get little more", () => {
  const listed = fs
    .readFileSync(path.join(ROOT, "wasm/hints/startup.txt"), "utf8")
    .split("\n")
    .filter((l) => l && !l.startsWith("#")).length;
  const eager = compiled(`import { compiledModule } from "./src/runtime.js"; compiledModule();`);
  const withGet = compiled(`
    import { Vault } from "agent-vault";
    await new Vault({ repoPath: ${JSON.stringify(path.join(VECTORS, "vault"))} }).get("postgres/conn");`);
  if (!HINTED) {
    assert.equal(eager, 0, "the module compiled eagerly where the hints are not used");
    assert.ok(withGet > 0);
    return;
  }
  assert.ok(listed > 500, `wasm/hints/startup.txt lists only ${listed} functions`);
  assert.ok(eager >= listed * 0.95, `compiling compiled ${eager} functions of the ${listed} listed: run make startup-functions`);
  const late = withGet - eager;
  assert.ok(late <= Math.max(20, eager * 0.02), `a get compiled ${late} functions the hints left lazy: run make startup-functions`);
});
