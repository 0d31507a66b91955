// Runs before `npm pack` and `npm publish`: in a source checkout, builds
// agent_vault.wasm and copies the shared glue (bindings/js/glue.js) into the
// package with make; anywhere, refuses to pack a package without them.

import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const pkg = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const root = path.resolve(pkg, "../..");
const NEEDED = ["agent_vault.wasm", "shared/glue.js"];

function fail(message) {
  console.error(`agent-vault prepack: ${message}`);
  process.exit(1);
}

if (fs.existsSync(path.join(root, "Makefile")) && fs.existsSync(path.join(root, "bindings/js/glue.js"))) {
  try {
    execFileSync("make", ["-C", root, "--no-print-directory", ...NEEDED.map((f) => `bindings/node/${f}`)], { stdio: "inherit" });
  } catch (e) {
    fail(`could not build ${NEEDED.join(" and ")} (${e.message.split("\n")[0]}); install Go and run make build in ${root}`);
  }
}
for (const f of NEEDED) {
  if (!fs.existsSync(path.join(pkg, f))) fail(`${f} is missing: run make build in the agent-vault repository`);
}
