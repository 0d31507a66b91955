// Loads agent_vault.wasm in Node: compiled once per process, one instance
// per Vault, WASI from the pinned pure-JS shim (node:wasi prints an
// ExperimentalWarning on Node 20), files and git from ./host.js.

import fs from "node:fs";
import v8 from "node:v8";
import * as shim from "@bjorn3/browser_wasi_shim";
import { instantiate, VaultError } from "../shared/glue.js";
import { nodeHost } from "./host.js";

const WASM_URL = new URL("../agent_vault.wasm", import.meta.url);

// V8 tiers hot wasm functions up to TurboFan on background threads once
// they have spent a budget. Go's start-up spends it in hundreds of large
// functions, and compiling them cost a short process more CPU than the
// whole get. V8 11 (Node 20) fixes a module's budgets when it compiles the
// module, so a larger one is set only around that compile: functions that
// stay hot still tier up, and other modules are unaffected. Other V8
// versions and a budget given on the command line are left alone.
const START_BUDGET = 300_000_000;
const V8_11_BUDGET = 1_800_000;

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
  const raise =
    process.versions.v8.startsWith("11.") && !process.execArgv.some((a) => /^--wasm[-_]tiering[-_]budget\b/.test(a));
  if (raise) v8.setFlagsFromString(`--wasm-tiering-budget=${START_BUDGET}`);
  try {
    return new WebAssembly.Module(bytes);
  } finally {
    if (raise) v8.setFlagsFromString(`--wasm-tiering-budget=${V8_11_BUDGET}`);
  }
}

/**
 * A fresh, initialised module instance.
 * @param {(msg: string) => void} [onWarning] receives the reader's warnings
 */
export function newInstance(onWarning) {
  compiled ??= compile();
  const log = (line) => process.stderr.write(`agent-vault (wasm): ${line}\n`);
  return instantiate(compiled, { shim, host: nodeHost, log, onWarning });
}
