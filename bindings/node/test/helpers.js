// Shared fixtures for the Node test suite: repository paths, the CLI, Git
// and throwaway HOME directories.

import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

/** The bindings/node directory. */
export const PKG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
/** The repository root. */
export const ROOT = path.resolve(PKG, "../..");
/** The shared conformance vectors. */
export const VECTORS = path.join(ROOT, "tests/vectors");
/** The CLI binary built by `make cli` (AGENT_VAULT_BIN overrides it). */
export const CLI = process.env.AGENT_VAULT_BIN || path.join(ROOT, "bin/agent-vault");

/** A fresh temp directory, removed when the process exits. */
export function tempDir(prefix = "av-node-") {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** An environment with HOME in a temp dir and a Git identity, without AGENT_VAULT_KEY. */
export function testEnv(home, extra = {}) {
  const env = {
    ...process.env,
    HOME: home,
    GIT_AUTHOR_NAME: "Test",
    GIT_AUTHOR_EMAIL: "test@example.invalid",
    GIT_COMMITTER_NAME: "Test",
    GIT_COMMITTER_EMAIL: "test@example.invalid",
    GIT_CONFIG_NOSYSTEM: "1",
    NO_COLOR: "1",
    ...extra,
  };
  delete env.AGENT_VAULT_KEY;
  delete env.XDG_CONFIG_HOME;
  return env;
}

/**
 * Runs the CLI; throws with its stderr on a non-zero exit unless `allowFail`.
 * @returns {{status: number, stdout: string, stderr: string}}
 */
export function cli(args, { env, cwd, input, allowFail = false } = {}) {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing; run \`make cli\``);
  const r = spawnSync(CLI, args, { env, cwd, input, encoding: "utf8" });
  if (r.error) throw r.error;
  if (r.status !== 0 && !allowFail) {
    throw new Error(`agent-vault ${args.join(" ")} exited ${r.status}: ${r.stderr}`);
  }
  return r;
}

/** Runs git and returns its trimmed stdout. */
export function git(args, { env, cwd } = {}) {
  return execFileSync("git", args, { env, cwd, encoding: "utf8", stdio: ["ignore", "pipe", "pipe"] }).trim();
}

/** Decodes base64 in tests. */
export function b64(s) {
  return new Uint8Array(Buffer.from(s, "base64"));
}
