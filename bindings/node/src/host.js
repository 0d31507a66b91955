// The module's host in Node (docs/wasm-abi.md, "Host imports"): the disk
// through synchronous node:fs calls and the user's own git. It holds no
// vault rules: which path to read and which git command to run are the
// reader's choice, made inside the module.

import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";

// An unreachable remote must not hang the agent.
const GIT_TIMEOUT_MS = 120_000;
const GIT_MAX_BUFFER = 64 << 20;

const typeOf = (st) => (st.isFile() ? "file" : st.isDirectory() ? "dir" : st.isSymbolicLink() ? "symlink" : "other");

// Git runs unattended (no prompt) and never sees key material.
function gitEnv() {
  const env = { ...process.env, GIT_TERMINAL_PROMPT: "0" };
  delete env.AGENT_VAULT_KEY;
  delete env.AGENT_VAULT_OWNER;
  return env;
}

/** The host object the shared glue serves the module's host calls with. */
export const nodeHost = {
  lstat(p) {
    const st = fs.lstatSync(p);
    return { type: typeOf(st), size: st.size, mode: st.mode & 0o777 };
  },

  // At most limit+1 bytes: one more than allowed tells the reader the
  // file is too large, without reading all of a huge one.
  read(p, limit) {
    const fd = fs.openSync(p, "r");
    try {
      const buf = new Uint8Array(Math.min(fs.fstatSync(fd).size, limit) + 1);
      let n = 0;
      for (let got; n < buf.length && (got = fs.readSync(fd, buf, n, buf.length - n, null)) > 0; ) n += got;
      return n === buf.length ? buf : buf.subarray(0, n);
    } finally {
      fs.closeSync(fd);
    }
  },

  readdir(p) {
    return fs.readdirSync(p, { withFileTypes: true }).map((d) => ({ name: d.name, type: typeOf(d) }));
  },

  git(dir, args) {
    const r = spawnSync("git", args, {
      cwd: dir,
      env: gitEnv(),
      stdio: ["ignore", "pipe", "pipe"],
      encoding: "utf8",
      timeout: GIT_TIMEOUT_MS,
      maxBuffer: GIT_MAX_BUFFER,
    });
    if (r.error?.code === "ETIMEDOUT") throw new Error(`git timed out after ${GIT_TIMEOUT_MS / 1000}s`);
    if (r.error) throw r.error; // ENOENT: git is not installed
    return { exit: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
  },

  mkdir(p) {
    fs.mkdirSync(p, { recursive: true, mode: 0o700 });
  },

  rename(from, to) {
    fs.renameSync(from, to);
  },

  removeAll(p) {
    fs.rmSync(p, { recursive: true, force: true });
  },

  // A temporary file beside the target, synced, then renamed over it.
  write(p, data) {
    fs.mkdirSync(path.dirname(p), { recursive: true, mode: 0o700 });
    const tmp = path.join(path.dirname(p), `.${path.basename(p)}.tmp-${randomBytes(6).toString("hex")}`);
    try {
      const fd = fs.openSync(tmp, "wx", 0o600);
      try {
        for (let off = 0; off < data.length; ) off += fs.writeSync(fd, data, off);
        fs.fsyncSync(fd);
      } finally {
        fs.closeSync(fd);
      }
      fs.renameSync(tmp, p);
    } catch (e) {
      fs.rmSync(tmp, { force: true });
      throw e;
    }
  },
};
