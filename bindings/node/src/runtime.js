// Loads agent_vault.wasm: compiled once per process, an instance per Vault, WASI from
// the pinned pure-JS shim (node:wasi warns on Node 20), files and git from ./host.js.

import * as shim from "@bjorn3/browser_wasi_shim";
import { instantiate, VaultError } from "../shared/glue.js";
import { nodeHost } from "./host.js";

// Built-ins by getBuiltinModule rather than import: an ES import of a
// built-in also evaluates every lazy export (node:fs loads fs/promises and
// the streams), which a cold start pays for nothing.
const fs = process.getBuiltinModule("node:fs");
const v8 = process.getBuiltinModule("node:v8");

const WASM_URL = new URL("../agent_vault.wasm", import.meta.url);

// Two V8 settings hold only while the module compiles (flags given on the
// command line are kept). Function bodies are validated at their first call,
// so start-up does not validate 6 MB of code it never runs; other modules
// get eager validation back at once. V8 11 (Node 20) fixes a module's tier-up
// budget at compile time; a larger one keeps Go's start-up from sending
// hundreds of large functions to the optimising compiler.
const FLAGS = [["wasm-lazy-validation", "--wasm-lazy-validation", "--no-wasm-lazy-validation"]];
if (process.versions.v8.startsWith("11.")) {
  FLAGS.push(["wasm-tiering-budget", "--wasm-tiering-budget=300000000", "--wasm-tiering-budget=1800000"]);
}
const given = (name) =>
  process.execArgv.some((a) => a.replaceAll("_", "-").replace("--no-", "--").startsWith(`--${name}`));

let compiled = null;

function compile() {
  let bytes;
  try {
    bytes = fs.readFileSync(WASM_URL);
  } catch (e) {
    throw new VaultError(`cannot read the WebAssembly module at ${WASM_URL.pathname} (${e.code ?? e.message})`, {
      hint: "the package is incomplete: reinstall it, or run `make build` in a source checkout",
    });
  }
  const set = FLAGS.filter(([name]) => !given(name));
  for (const [, on] of set) v8.setFlagsFromString(on);
  try {
    return new WebAssembly.Module(bytes);
  } finally {
    for (const [, , off] of set) v8.setFlagsFromString(off);
  }
}

/** A fresh, initialised module instance; `onWarning` receives the reader's warnings. */
export function newInstance(onWarning) {
  compiled ??= compile();
  const log = (line) => process.stderr.write(`agent-vault (wasm): ${line}\n`);
  return instantiate(compiled, { shim, host: nodeHost, log, onWarning });
}
