// Runs the agent-vault WebAssembly module in the page. The module's host
// (docs/wasm-abi.md, "Host imports") serves the picked folder's files from
// memory; it has no git and cannot write, so it answers those with a
// failure and the reader treats the folder as a plain directory. Nothing is
// fetched but the module itself.

import * as shim from "../node_modules/@bjorn3/browser_wasi_shim/dist/index.js";
import { instantiate as startModule } from "../../js/glue.js";

/** Where picked folders appear to the module: /picked/<folder name>. */
const MOUNTS = "/picked";
/** Where a picked key file is served while the vault is opened with it. */
export const KEY_DIR = "/keys";

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

const notFound = (p) => ({ kind: "not_found", message: `${p} does not exist` });

/**
 * A read-only host over files in memory. A picked folder holds no
 * symlinks (the browser reads through them), so there are only files and
 * directories.
 * @param {Map<string, Uint8Array | null>} files absolute path -> bytes, or null for a directory
 */
export function memoryHost(files) {
  const nodes = new Map([["/", null]]);
  const children = new Map();
  const add = (p, data) => {
    nodes.set(p, data);
    const cut = p.lastIndexOf("/");
    const parent = cut === 0 ? "/" : p.slice(0, cut);
    if (!children.has(parent)) children.set(parent, new Set());
    children.get(parent).add(p.slice(cut + 1));
    if (!nodes.has(parent)) add(parent, null);
  };
  for (const [p, data] of files) add(p, data);
  return {
    /** Serves `data` at `p` until dropped. */
    put: add,
    /** Zeroes and forgets the file at `p`. */
    drop(p) {
      nodes.get(p)?.fill(0);
      nodes.delete(p);
      children.get(p.slice(0, p.lastIndexOf("/")) || "/")?.delete(p.slice(p.lastIndexOf("/") + 1));
    },
    lstat({ path: p }) {
      if (!nodes.has(p)) throw notFound(p);
      const data = nodes.get(p);
      return data ? { type: "file", size: data.length, mode: 0o444 } : { type: "dir", size: 0, mode: 0o555 };
    },
    read({ path: p, limit }) {
      const data = nodes.get(p);
      if (!data) throw nodes.has(p) ? { kind: "other", message: `${p} is a directory` } : notFound(p);
      // A fresh copy: the glue zeroes what it is handed.
      return data.slice(0, limit + 1);
    },
    readdir({ path: p }) {
      if (!nodes.has(p)) throw notFound(p);
      if (nodes.get(p)) throw { kind: "not_dir", message: `${p} is not a directory` };
      const type = (name) => (nodes.get(`${p === "/" ? "" : p}/${name}`) ? "file" : "dir");
      return { entries: [...(children.get(p) ?? [])].map((name) => ({ name, type: type(name) })) };
    },
  };
}

/**
 * Starts a fresh module instance that sees the picked folder's files at
 * /picked/<name>, and opens that path as the repository: it may be the
 * repository or its .agent-vault folder, which the reader tells apart.
 * @param {string} name the picked folder's name
 * @param {Map<string, Uint8Array | null>} files folder-relative path -> bytes, or null for an empty directory
 */
export async function instantiate(name, files) {
  if (typeof globalThis.crypto?.getRandomValues !== "function") {
    throw new Error("this browser lacks crypto.getRandomValues; refusing to run without a CSPRNG");
  }
  const module = await compileModule();
  const mount = `${MOUNTS}/${name.replaceAll("/", "_") || "folder"}`;
  const host = memoryHost(new Map([[mount, null], ...[...files].map(([p, data]) => [`${mount}/${p}`, data])]));
  const log = (line) => console.warn(`[agent-vault] ${line}`);
  const vault = startModule(module, { shim, host, log, onWarning: log });
  return {
    vault,
    host,
    /** Opens the folder; `fields` add metadata_only or key (docs/wasm-abi.md). */
    open: (fields = {}) => vault.open({ repo: mount, cwd: "/", home: "/home", ...fields }),
  };
}
