// Loads agent_vault.wasm in Node through the pure-JS WASI shim (node:wasi
// prints an ExperimentalWarning on Node 20). The module is compiled once
// per process; every Vault gets its own instance.

import fs from "node:fs";
import v8 from "node:v8";
import { WASI, ConsoleStdout } from "@bjorn3/browser_wasi_shim";
import { DiskPreopen } from "./diskfs.js";
import { WasmVault, VaultError, hardenWasi } from "./glue.js";

/** The guest path the vault directory is mounted at. */
export const MOUNT = "/vault";

const WASM_URL = new URL("../agent_vault.wasm", import.meta.url);

let compiled = null;

// V8 tiers hot wasm functions up to TurboFan, on background threads, once
// they have run through a budget of code. Go's start-up and the first open
// spend it in hundreds of large functions, and compiling them cost a short
// process more CPU than the whole get, doubling the time to the first
// secret on a busy machine. V8 11 (Node 20) fixes a module's starting
// budgets when it compiles the module, so a larger budget is set only
// around that compile and the default put back at once: functions that
// stay hot still tier up, and other modules are unaffected. Other V8
// versions (another default) and a budget given on the command line are
// left alone.
const START_BUDGET = 300_000_000;
const V8_11_BUDGET = 1_800_000;

function raiseTieringBudget() {
  if (process.versions.v8.split(".")[0] !== "11") return false;
  if (process.execArgv.some((a) => /^--wasm[-_]tiering[-_]budget\b/.test(a))) return false;
  v8.setFlagsFromString(`--wasm-tiering-budget=${START_BUDGET}`);
  return true;
}

/**
 * The compiled module, compiled on first use and cached for the process.
 * @returns {WebAssembly.Module}
 */
export function wasmModule() {
  if (compiled === null) {
    let bytes;
    try {
      bytes = fs.readFileSync(WASM_URL);
    } catch (e) {
      throw new VaultError(
        `agent-vault: cannot read the WebAssembly module at ${WASM_URL.pathname} (${e.code ?? e.message}); ` +
          "the package is incomplete — reinstall it, or run `make build` in a source checkout",
      );
    }
    const raised = raiseTieringBudget();
    try {
      compiled = new WebAssembly.Module(bytes);
    } finally {
      if (raised) v8.setFlagsFromString(`--wasm-tiering-budget=${V8_11_BUDGET}`);
    }
  }
  return compiled;
}

/**
 * A fresh, initialised module instance with a read-only preopen at /vault.
 * The preopen starts empty; `preopen.mount(dir)` points it at a host
 * directory (read lazily), so the instance can answer `locate` first.
 * @param {{dir?: string}} [opts]
 * @returns {{vault: WasmVault, preopen: DiskPreopen, wasi: WASI}}
 */
export function instantiate({ dir } = {}) {
  // The guest never prints secrets; a Go runtime crash report is worth
  // seeing on stderr.
  const stderr = ConsoleStdout.lineBuffered((line) => process.stderr.write(`agent-vault (wasm): ${line}\n`));
  const preopen = new DiskPreopen(MOUNT, dir);
  // debug must be false explicitly: the shim logs every path otherwise.
  const wasi = new WASI([], [], [null, stderr, stderr, preopen], { debug: false });
  hardenWasi(wasi);
  const instance = new WebAssembly.Instance(wasmModule(), { wasi_snapshot_preview1: wasi.wasiImport });
  wasi.initialize(instance);
  return { vault: new WasmVault(instance), preopen, wasi };
}
