// Runs the shared conformance table (tests/vectors/README.md) inside the
// page, through the same engine, glue and module the viewer uses. The Node
// side of the suite compares the outcomes with the table.

import { instantiate, KEY_DIR } from "../src/engine.js";
import { fromFileList, readAll } from "../src/files.js";
import { base64ToBytes, bytesToBase64, ERROR_CLASSES, VaultError } from "../../js/glue.js";

// Go's slices.Sort orders strings by bytes; comparing code points gives the
// same order, which UTF-16 comparison (Array.prototype.sort) does not.
function byCodePoint(a, b) {
  const x = [...a];
  const y = [...b];
  for (let i = 0; i < Math.min(x.length, y.length); i++) {
    const d = x[i].codePointAt(0) - y[i].codePointAt(0);
    if (d !== 0) return d;
  }
  return x.length - y.length;
}

/**
 * Runs every case against the picked fixture folder.
 * @param {FileList} fileList the fixture vault, as picked by the directory input
 * @param {Record<string, string>} keys "<name>" -> base64 of keys/<name>.key
 * @param {{now: string, cases: object[]}} table cases.json
 * @returns {Promise<object[]>} one outcome per case, in table order
 */
export async function runTable(fileList, keys, table) {
  const picked = fromFileList(fileList);
  const { vault, host, open } = await instantiate(picked.name, await readAll(picked));
  // The key files are served beside the vault; a key the table names but
  // that has no file is not there, and the reader says so.
  for (const [name, b64] of Object.entries(keys)) host.put(`${KEY_DIR}/${name}.key`, base64ToBytes(b64));
  return table.cases.map((c) => runCase(vault, open, table.now, c));
}

function runCase(vault, open, now, c) {
  let handle = 0;
  try {
    const trust = { owner: c.pin ?? "", seen: c.seen ?? undefined };
    const opts = c.key === "none" ? { metadata_only: true, ...trust } : { key: { path: `${KEY_DIR}/${c.key}.key` }, ...trust };
    handle = open(opts).handle;
    switch (c.op) {
      case "get":
        return { value_b64: bytesToBase64(vault.get(handle, c.secret)) };
      case "list":
        return { names: vault.call({ op: "list", handle, group: c.group, all: !!c.all }).secrets.map((s) => s.name) };
      case "agents":
        return { names: vault.call({ op: "agents", handle }).agents.map((a) => a.name) };
      case "check":
        return {
          findings: vault
            .call({ op: "check", handle, now })
            .findings.map((f) => `${f.severity}:${f.kind}:${f.subject}`)
            .sort(byCodePoint),
        };
      default:
        return { unsupported: c.op };
    }
  } catch (err) {
    if (!(err instanceof VaultError)) return { crash: String(err) };
    const Cls = ERROR_CLASSES[err.code];
    return { error: err.code, mapped: Cls !== undefined && err instanceof Cls, className: err.name };
  } finally {
    if (handle) vault.call({ op: "close", handle });
  }
}
