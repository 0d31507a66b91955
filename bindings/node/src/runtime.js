// Loads agent_vault.wasm in Node through the pure-JS WASI shim (node:wasi
// prints an ExperimentalWarning on Node 20). The module is compiled once
// per process; every Vault gets its own instance.

import fs from "node:fs";
import { WASI, ConsoleStdout } from "@bjorn3/browser_wasi_shim";
import { DiskPreopen } from "./diskfs.js";
import { WasmVault, VaultError, secureRandomGet } from "./glue.js";

/** The guest path the vault directory is mounted at. */
export const MOUNT = "/vault";

const WASM_URL = new URL("../agent_vault.wasm", import.meta.url);

let compiled = null;

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
    compiled = new WebAssembly.Module(bytes);
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
  // The shim falls back to Math.random without globalThis.crypto; never allow that.
  wasi.wasiImport.random_get = secureRandomGet(() => wasi.inst.exports.memory);
  // The shim appends every opened fd and never reuses closed slots, so a
  // long-running agent would grow the table by one entry per file read.
  // Trimming closed slots off the end keeps it at its working size.
  const closeFd = wasi.wasiImport.fd_close;
  wasi.wasiImport.fd_close = (fd) => {
    const ret = closeFd(fd);
    while (wasi.fds.length > 4 && wasi.fds[wasi.fds.length - 1] === undefined) wasi.fds.pop();
    return ret;
  };
  const instance = new WebAssembly.Instance(wasmModule(), { wasi_snapshot_preview1: wasi.wasiImport });
  wasi.initialize(instance);
  return { vault: new WasmVault(instance), preopen, wasi };
}
