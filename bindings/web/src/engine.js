// Runs the agent-vault WebAssembly module in the page. The vault's files are
// handed to the module in memory through the pinned WASI shim, mounted
// read-only at /vault; nothing is fetched but the module itself.

import {
  WASI,
  File as WasiFile,
  Directory,
  PreopenDirectory,
  OpenFile,
  ConsoleStdout,
} from "../node_modules/@bjorn3/browser_wasi_shim/dist/index.js";
import { WasmVault, hardenWasi } from "../../node/src/glue.js";

/** Where the picked folder is mounted inside the module (docs/wasm-abi.md). */
export const GUEST_ROOT = "/vault";

const MODULE_URL = new URL("../agent_vault.wasm", import.meta.url);

let compiled;

/**
 * Compiles the module once per page; every vault opened afterwards reuses it.
 * @returns {Promise<WebAssembly.Module>}
 */
export function compileModule() {
  compiled ??= fetch(MODULE_URL).then(async (resp) => {
    if (!resp.ok) {
      throw new Error(`failed to load agent_vault.wasm (HTTP ${resp.status}); run make build`);
    }
    // compileStreaming needs the application/wasm type; a plain static
    // server may not send it, so fall back to compiling the bytes.
    if (resp.headers.get("content-type") === "application/wasm") {
      return WebAssembly.compileStreaming(resp);
    }
    return WebAssembly.compile(await resp.arrayBuffer());
  });
  compiled.catch(() => {
    compiled = undefined;
  });
  return compiled;
}

/**
 * Builds the shim's in-memory directory tree from vault-relative paths.
 * Files are read-only: the page never writes to a vault.
 * @param {Map<string, Uint8Array | null>} files path ("a/b/c") -> content,
 *   or null for an empty directory
 * @returns {Map<string, object>} the root's entries, as the shim wants them
 */
export function buildTree(files) {
  const root = new Map();
  for (const [path, data] of files) {
    const parts = path.split("/");
    if (data === null) parts.push("");
    let dir = root;
    for (const part of parts.slice(0, -1)) {
      let next = dir.get(part);
      if (!(next instanceof Directory)) {
        next = new Directory(new Map());
        dir.set(part, next);
      }
      dir = next.contents;
    }
    if (data !== null) dir.set(parts[parts.length - 1], new WasiFile(data, { readonly: true }));
  }
  return root;
}

// The shim falls back to Math.random when crypto is missing or the memory
// is shared. Refusing those cases up front means random_get can only ever
// reach crypto.getRandomValues.
function requireCsprng(memory) {
  if (typeof globalThis.crypto?.getRandomValues !== "function") {
    throw new Error("this browser lacks crypto.getRandomValues; refusing to run without a CSPRNG");
  }
  if (typeof SharedArrayBuffer !== "undefined" && memory?.buffer instanceof SharedArrayBuffer) {
    throw new Error("module memory is shared; the WASI shim would not use crypto.getRandomValues");
  }
}

/**
 * Starts a fresh module instance that sees `files` at /vault.
 * @param {Map<string, Uint8Array | null>} files see buildTree
 * @returns {Promise<WasmVault>}
 */
export async function instantiate(files) {
  requireCsprng();
  const module = await compileModule();
  const log = (line) => console.warn(`[agent-vault] ${line}`);
  const wasi = new WASI([], [], [
    new OpenFile(new WasiFile(new Uint8Array(0), { readonly: true })),
    ConsoleStdout.lineBuffered(log),
    ConsoleStdout.lineBuffered(log),
    new PreopenDirectory(GUEST_ROOT, buildTree(files)),
  ], { debug: false });
  hardenWasi(wasi);
  const instance = await WebAssembly.instantiate(module, {
    wasi_snapshot_preview1: wasi.wasiImport,
  });
  requireCsprng(instance.exports.memory);
  wasi.initialize(instance);
  return new WasmVault(instance);
}
