// Git access for the Node binding: the user's own `git` binary, so their
// config, credentials and hooks apply. Only clone (for remote URLs) and
// fast-forward pulls are needed; a reader never pushes. Behaviour follows
// the Python package (bindings/python/src/agent_vault/_git.py).

import { execFile, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { VaultError, VaultNotFoundError } from "./glue.js";

// A reader runs unattended: never stop to ask for a password.
const gitEnv = () => ({ ...process.env, GIT_TERMINAL_PROMPT: "0" });
// An unreachable remote must not hang the agent.
const TIMEOUT_MS = 120_000;

/** Removes credentials embedded in URLs from git's messages. */
export function redact(text) {
  return String(text).replace(/(\/\/)[^/@\s]+@/g, "$1***@").trim().slice(0, 2000);
}

function runSync(args, cwd) {
  const r = spawnSync("git", args, {
    cwd,
    env: gitEnv(),
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    timeout: TIMEOUT_MS,
  });
  if (r.error) throw new VaultError(`failed to run git: ${r.error.message}`, { hint: "install git and make sure it is on PATH" });
  return r;
}

function run(args, cwd) {
  return new Promise((resolve, reject) => {
    const opts = { cwd, env: gitEnv(), encoding: "utf8", maxBuffer: 1 << 20, timeout: TIMEOUT_MS };
    execFile("git", args, opts, (err, stdout, stderr) => {
      if (err && err.killed) {
        resolve({ status: -1, stdout, stderr: `git ${args[0]} timed out after ${TIMEOUT_MS / 1000}s` });
        return;
      }
      if (err && typeof err.code !== "number") {
        reject(new VaultError(`failed to run git: ${err.message}`, { hint: "install git and make sure it is on PATH" }));
        return;
      }
      resolve({ status: err ? err.code : 0, stdout, stderr });
    });
  });
}

/**
 * Clones `url` into `dir` unless a clone is already there. The clone goes
 * to a sibling temp dir first, so a concurrent process never sees half a
 * clone at `dir`.
 * @param {string} url
 * @param {string} dir
 */
export function ensureClone(url, dir) {
  if (fs.existsSync(path.join(dir, ".git"))) return;
  fs.mkdirSync(path.dirname(dir), { recursive: true, mode: 0o700 });
  const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
  const r = runSync(["clone", "--quiet", "--", url, tmp]);
  if (r.status !== 0) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw new VaultNotFoundError(`failed to clone ${redact(url)}: ${redact(r.stderr)}`, {
      code: "vault_not_found",
      number: 3,
      hint: "check the URL and that `git clone` works for it",
    });
  }
  try {
    fs.renameSync(tmp, dir);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    // Another process finished its clone first; use that one.
    if (!fs.existsSync(path.join(dir, ".git"))) throw e;
  }
}

// One Repo per working copy in this process, so Vaults sharing a
// directory never run two git commands on it at once.
const repos = new Map();

/**
 * One working copy: whether it can be pulled, and a single in-flight pull
 * shared by everyone who asks while it runs.
 */
export class Repo {
  /**
   * The process-wide Repo for `dir`.
   * @param {string} dir
   * @returns {Repo}
   */
  static for(dir) {
    // A vault given as its .agent-vault folder is pulled from the repo above.
    let key = path.basename(dir) === ".agent-vault" ? path.dirname(dir) : dir;
    try {
      key = fs.realpathSync(key);
    } catch {
      // A missing dir cannot be pulled; keep the name as the key.
    }
    let r = repos.get(key);
    if (!r) {
      r = new Repo(key);
      repos.set(key, r);
    }
    return r;
  }

  /** @param {string} dir */
  constructor(dir) {
    this.dir = dir;
    /** @type {null | boolean} null until probed: can this dir be pulled? */
    this.pullable = null;
    this.inflight = null;
  }

  /**
   * The vault dir is pulled only if it is the top of a Git work tree with
   * an upstream; a vault inside some larger repository is left alone.
   * @private
   */
  async probe() {
    const r = await run(["rev-parse", "--show-toplevel", "--symbolic-full-name", "@{u}"], this.dir);
    if (r.status !== 0) return false;
    try {
      return fs.realpathSync(r.stdout.split("\n")[0]) === this.dir;
    } catch {
      return false;
    }
  }

  /**
   * `git pull --ff-only`, once for all concurrent callers. Resolves to
   * `{before, after}` HEADs, or null when the dir has nothing to pull from.
   * Any failure (offline, diverged history) calls `warn` and keeps the
   * local copy, as the Python package does.
   * @param {(msg: string) => void} warn
   * @returns {Promise<null | {before: string, after: string}>}
   */
  pull(warn) {
    if (this.inflight === null) {
      this.inflight = this.pullOnce(warn).finally(() => {
        this.inflight = null;
      });
    }
    return this.inflight;
  }

  /** @private */
  async pullOnce(warn) {
    if (this.pullable === null) this.pullable = await this.probe();
    if (!this.pullable) return null;
    const before = (await run(["rev-parse", "HEAD"], this.dir)).stdout.trim();
    const pulled = await run(["pull", "--ff-only", "--quiet"], this.dir);
    if (pulled.status !== 0) {
      warn(`could not update ${this.dir} from its upstream; using the local copy: ${redact(pulled.stderr)}`);
      return { before, after: before };
    }
    const after = (await run(["rev-parse", "HEAD"], this.dir)).stdout.trim();
    return { before, after };
  }
}
