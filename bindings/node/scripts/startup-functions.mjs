// Records the functions of agent_vault.wasm that a cold start calls, for
// wasm/hints/startup.txt (`make startup-functions`, after a change that
// moves what a get runs). Each scenario runs in a fresh `node` with lazy
// compilation forced on, so V8's compile trace names every function called;
// the indices are mapped to names through the module linked with its names
// (build/agent_vault.named.wasm). Prints the sorted names.

import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

const PKG = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const ROOT = path.resolve(PKG, "../..");
const CLI = path.join(ROOT, "bin/agent-vault");
const NAMED = path.join(ROOT, "build/agent_vault.named.wasm");

const base = fs.mkdtempSync(path.join(os.tmpdir(), "av-startup-"));
process.on("exit", () => fs.rmSync(base, { recursive: true, force: true }));
const home = path.join(base, "home");
const repo = path.join(base, "vault");
const remote = path.join(base, "remote.git");
fs.mkdirSync(home);
fs.mkdirSync(repo);
const env = {
  ...process.env,
  HOME: home,
  GIT_AUTHOR_NAME: "startup",
  GIT_AUTHOR_EMAIL: "startup@example.invalid",
  GIT_COMMITTER_NAME: "startup",
  GIT_COMMITTER_EMAIL: "startup@example.invalid",
};
delete env.AGENT_VAULT_KEY;
delete env.NODE_OPTIONS;
const run = (cmd, ...args) => execFileSync(cmd, args, { env, cwd: repo, stdio: ["ignore", "ignore", "inherit"] });

run("git", "init", "--quiet", "--bare", remote);
run("git", "init", "--quiet", "-b", "main");
run(CLI, "init");
for (const a of ["a1", "a2", "a3"]) run(CLI, "add-agent", a);
run(CLI, "set", "one/secret", "startup-value-one");
run(CLI, "set", "ten/secret", "startup-value-ten", "--agents", "a1,a2,a3");
run("git", "remote", "add", "origin", remote);
run("git", "push", "--quiet", "-u", "origin", "main");

const owner = path.join(home, ".agent-vault/owner.key");
const agent = path.join(home, ".agent-vault/agents/a3.key");
const open = (key, extra = "autoPull: false") =>
  `new Vault({ repoPath: ${JSON.stringify(repo)}, keyPath: ${JSON.stringify(key)}, ${extra} })`;
const scenarios = [
  `await ${open(owner)}.get("one/secret");`,
  `await ${open(agent)}.get("ten/secret");`,
  `${open(owner)}.listSecrets();`,
  `await ${open(owner, "")}.get("one/secret");`, // pulls first
  `await ${open(owner)}.get("no/such").catch(() => {});`,
  `await ${open(agent)}.get("one/secret").catch(() => {});`,
];

const called = new Set();
for (const body of scenarios) {
  const code = `import { Vault } from "agent-vault";\n${body}`;
  const r = spawnSync(
    process.execPath,
    ["--wasm-lazy-compilation", "--trace-wasm-compilation-times", "--input-type=module", "-e", code],
    { cwd: PKG, env, encoding: "utf8", maxBuffer: 64 << 20 },
  );
  if (r.status !== 0) throw new Error(`scenario failed (${r.status}): ${body}\n${r.stderr}`);
  for (const m of r.stdout.matchAll(/^Compiled function [^#\s]*#(\d+) /gm)) called.add(Number(m[1]));
}

const names = new Map();
const listing = execFileSync("go", ["run", "./wasm/hints", "-names", NAMED], { cwd: ROOT, encoding: "utf8", maxBuffer: 64 << 20 });
for (const line of listing.split("\n")) {
  const sp = line.indexOf(" ");
  if (sp > 0) names.set(Number(line.slice(0, sp)), line.slice(sp + 1));
}
const listed = [...called].map((i) => names.get(i)).filter(Boolean).sort();
if (listed.length < called.size) throw new Error(`${called.size - listed.length} called functions have no name in ${NAMED}`);
process.stdout.write(
  "# The functions of agent_vault.wasm a cold Node start calls (open, get, list, a pull, errors),\n" +
    "# compiled eagerly through wasm/hints. Written by `make startup-functions`; do not edit.\n" +
    listed.join("\n") +
    "\n",
);
process.stderr.write(`${listed.length} functions in ${scenarios.length} scenarios\n`);
