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

// V8 settings that hold only while the module compiles (flags given on the
// command line are kept; other modules get the defaults back at once).
// Function bodies are validated at their first call, so start-up does not
// validate 6 MB of code it never runs. On V8 11 (Node 20), the module's
// compilation hints (wasm/hints) are read: the functions a cold start calls
// are compiled up front on every core, the rest at their first call; and a
// larger tier-up budget, fixed at compile time there, keeps Go's start-up
// from sending hundreds of large functions to the optimising compiler.
const FLAGS = [["wasm-lazy-validation", "--wasm-lazy-validation", "--no-wasm-lazy-validation"]];
if (process.versions.v8.startsWith("11.")) {
  FLAGS.push(
    ["experimental-wasm-compilation-hints", "--experimental-wasm-compilation-hints", "--no-experimental-wasm-compilation-hints"],
    ["wasm-lazy-compilation", "--no-wasm-lazy-compilation", "--wasm-lazy-compilation"],
    ["wasm-tiering-budget", "--wasm-tiering-budget=300000000", "--wasm-tiering-budget=1800000"],
  );
}
const given = (name) =>
  process.execArgv.some((a) => a.replaceAll("_", "-").replace("--no-", "--").startsWith(`--${name}`));

let compiled = null;

/** The compiled module, compiled at the first call in this process. */
export function compiledModule() {
  compiled ??= compile();
  return compiled;
}

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
  const module = compiledModule();
  const log = (line) => process.stderr.write(`agent-vault (wasm): ${line}\n`);
  return instantiate(module, { shim, host: nodeHost, log, onWarning });
}
