// The module's host in Node (docs/wasm-abi.md, "Host imports"): synchronous
// node:fs calls and the user's own git. It holds no vault rule: which path to
// read and which git command to run are the reader's choice, in the module.

const fs = process.getBuiltinModule("node:fs"); // not imported: see runtime.js
const path = process.getBuiltinModule("node:path");

const GIT_TIMEOUT_MS = 120_000; // an unreachable remote must not hang the agent

const typeOf = (st) => (st.isFile() ? "file" : st.isDirectory() ? "dir" : st.isSymbolicLink() ? "symlink" : "other");

/** The host object the shared glue serves the module's host calls with: one method per op. */
export const nodeHost = {
  lstat({ path: p }) {
    // Missing paths are common (the reader probes for .git): no exception.
    const st = fs.lstatSync(p, { throwIfNoEntry: false });
    if (!st) throw { kind: "not_found", message: `no such file or directory: ${p}` };
    return { type: typeOf(st), size: st.size, mode: st.mode & 0o777 };
  },

  // At most limit+1 bytes: one more than allowed tells the reader the
  // file is too large, without reading all of a huge one.
  read({ path: p, limit }) {
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

  readdir: ({ path: p }) => ({
    entries: fs.readdirSync(p, { withFileTypes: true }).map((d) => ({ name: d.name, type: typeOf(d) })),
  }),

  // Git runs unattended (no prompt, no stdin) and never sees key material;
  // child_process loads on first use, as a plain directory needs no git.
  git({ dir, args = [] }) {
    const env = { ...process.env, GIT_TERMINAL_PROMPT: "0" };
    delete env.AGENT_VAULT_KEY;
    delete env.AGENT_VAULT_OWNER;
    const { spawnSync } = process.getBuiltinModule("node:child_process");
    const r = spawnSync("git", args, {
      cwd: dir,
      env,
      stdio: ["ignore", "pipe", "pipe"],
      encoding: "utf8",
      timeout: GIT_TIMEOUT_MS,
      maxBuffer: 64 << 20,
    });
    if (r.error?.code === "ETIMEDOUT") throw new Error(`git timed out after ${GIT_TIMEOUT_MS / 1000}s`);
    if (r.error) throw r.error; // ENOENT: git is not installed
    return { exit: r.status ?? 128, stdout: r.stdout, stderr: r.stderr };
  },

  // The reader's lock file: "wx" is O_CREAT|O_EXCL, so it fails (EEXIST)
  // when anything, a symlink too, is there.
  create({ path: p, data: b64 = "" }) {
    const data = Buffer.from(b64, "base64");
    const fd = fs.openSync(p, "wx", 0o600);
    try {
      for (let off = 0; off < data.length; ) off += fs.writeSync(fd, data, off);
    } catch (e) {
      fs.closeSync(fd);
      fs.rmSync(p, { force: true });
      throw e;
    }
    fs.closeSync(fd);
  },

  mkdir: ({ path: p }) => void fs.mkdirSync(p, { recursive: true, mode: 0o700 }),
  rename: ({ from, to }) => fs.renameSync(from, to),
  remove_all: ({ path: p }) => fs.rmSync(p, { recursive: true, force: true }),

  // A temporary file beside the target, synced, then renamed over it.
  write({ path: p, data: b64 = "" }) {
    const data = Buffer.from(b64, "base64");
    fs.mkdirSync(path.dirname(p), { recursive: true, mode: 0o700 });
    const tmp = path.join(path.dirname(p), `.${path.basename(p)}.tmp-${crypto.randomUUID()}`);
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
