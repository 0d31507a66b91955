// Side-by-side benchmark: agent-vault (Go core in WebAssembly) against the
// `age-encryption` npm package, the path the original Node SDK took (read
// the .enc file, decrypt it with the identity). Secrets with 1, 10 and 100
// recipients, read by the last of them; cold (a new `node` process, start
// to plaintext, and to exit) and warm (one get in a running process).
// Vaults are made with the CLI in a throwaway HOME. Prints a markdown table
// of medians and ratios.
//
// `--baseline DIR` adds another checkout's bindings/node (npm ci'd, module
// built) to the cold runs, interleaved with the others, so a change is
// measured against its parent in one run.
//
// Usage: node bench.mjs [--cold N] [--warm N] [--baseline DIR]   (bench.sh builds everything first)

import { spawn, execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { Decrypter } from "age-encryption";
import { Vault } from "./src/index.js";

const PKG = path.dirname(fileURLToPath(import.meta.url));
const ROOT = path.resolve(PKG, "../..");
const CLI = process.env.AGENT_VAULT_BIN || path.join(ROOT, "bin/agent-vault");

function arg(name, dflt) {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : dflt;
}
const COLD_RUNS = Number(arg("--cold", 15));
const WARM_RUNS = Number(arg("--warm", 200));
const BASELINE = arg("--baseline", "") && path.resolve(arg("--baseline"));
const AGENTS = 99; // plus the owner: 100 recipients

const base = fs.mkdtempSync(path.join(os.tmpdir(), "av-node-bench-"));
process.on("exit", () => fs.rmSync(base, { recursive: true, force: true }));
const home = path.join(base, "home");
const repo = path.join(base, "vault");
fs.mkdirSync(home);
fs.mkdirSync(repo);
const env = {
  ...process.env,
  HOME: home,
  GIT_AUTHOR_NAME: "bench",
  GIT_AUTHOR_EMAIL: "bench@example.invalid",
  GIT_COMMITTER_NAME: "bench",
  GIT_COMMITTER_EMAIL: "bench@example.invalid",
};
delete env.AGENT_VAULT_KEY;
delete env.NODE_OPTIONS;

function cli(...args) {
  execFileSync(CLI, args, { env, cwd: repo, stdio: ["ignore", "ignore", "pipe"] });
}

process.stderr.write(`building the bench vault with ${CLI} ...\n`);
execFileSync("git", ["init", "--quiet", "-b", "main"], { env, cwd: repo });
cli("init");
const agents = Array.from({ length: AGENTS }, (_, i) => `a${String(i + 1).padStart(3, "0")}`);
for (const a of agents) cli("add-agent", a);
cli("set", "one/secret", "value-with-one-recipient");
cli("set", "ten/secret", "value-with-10-recipients", "--agents", agents.slice(0, 9).join(","));
cli("set", "many/secret", "value-with-100-recipients", "--agents", agents.join(","));

const agentKey = (name) => path.join(home, ".agent-vault/agents", `${name}.key`);
const scenarios = [
  { label: "1 recipient (owner)", secret: "one/secret", key: path.join(home, ".agent-vault/owner.key"), want: "value-with-one-recipient" },
  { label: "10 recipients (last agent)", secret: "ten/secret", key: agentKey(agents[8]), want: "value-with-10-recipients" },
  { label: "100 recipients (last agent)", secret: "many/secret", key: agentKey(agents.at(-1)), want: "value-with-100-recipients" },
];

const identityOf = (keyFile) => fs.readFileSync(keyFile, "utf8").split("\n").find((l) => l.startsWith("AGE-SECRET-KEY-"));
const encFile = (secret) => path.join(repo, ".agent-vault/secrets", `${secret}.enc`);

// The same program for this package and for the baseline: only the
// directory it runs in (and so what "agent-vault" resolves to) differs.
const coldOurs = (s) => `
  import { Vault } from "agent-vault";
  const v = new Vault({ repoPath: ${JSON.stringify(repo)}, keyPath: ${JSON.stringify(s.key)}, autoPull: false });
  process.stdout.write(await v.get(${JSON.stringify(s.secret)}));`;
const coldAge = (s) => `
  import fs from "node:fs";
  import { Decrypter } from "age-encryption";
  const id = fs.readFileSync(${JSON.stringify(s.key)}, "utf8").split("\\n").find((l) => l.startsWith("AGE-SECRET-KEY-"));
  const d = new Decrypter(); d.addIdentity(id);
  process.stdout.write(await d.decrypt(fs.readFileSync(${JSON.stringify(encFile(s.secret))}), "text"));`;

// Times a fresh process from spawn to the moment its plaintext arrives on
// stdout, and to its exit (V8 may still be finishing background compiles).
function runCold(code, want, cwd = PKG) {
  return new Promise((resolve, reject) => {
    const t0 = process.hrtime.bigint();
    const ms = () => Number(process.hrtime.bigint() - t0) / 1e6;
    const child = spawn(process.execPath, ["--input-type=module", "-e", code], { cwd, env });
    let out = "";
    let err = "";
    let plaintext;
    child.stdout.setEncoding("utf8").on("data", (d) => {
      out += d;
      if (plaintext === undefined && out === want) plaintext = ms();
    });
    child.stderr.setEncoding("utf8").on("data", (d) => (err += d));
    child.on("close", (status) => {
      if (status !== 0 || plaintext === undefined) reject(new Error(`cold run in ${cwd} failed (${status}): ${err}`));
      else resolve({ plaintext, exit: ms() });
    });
  });
}

async function timeWarm(fn, want, runs) {
  for (let i = 0; i < 5; i++) if ((await fn()) !== want) throw new Error("warm get returned the wrong value");
  const times = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    await fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  return times;
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const fmt = (ms) => (ms === undefined ? "—" : ms >= 10 ? `${ms.toFixed(0)} ms` : ms >= 1 ? `${ms.toFixed(2)} ms` : `${(ms * 1000).toFixed(0)} µs`);

const rows = [];
for (const s of scenarios) {
  process.stderr.write(`${s.label}: cold x${COLD_RUNS} ...\n`);
  const runs = { ours: [], baseline: [], age: [] };
  // Interleaved, so all see the same machine load.
  for (let i = 0; i < COLD_RUNS; i++) {
    runs.ours.push(await runCold(coldOurs(s), s.want));
    if (BASELINE) runs.baseline.push(await runCold(coldOurs(s), s.want, BASELINE));
    runs.age.push(await runCold(coldAge(s), s.want));
  }
  for (const phase of ["plaintext", "exit"]) {
    const m = (k) => (runs[k].length ? median(runs[k].map((r) => r[phase])) : undefined);
    rows.push({ label: `cold to ${phase}, ${s.label}`, ours: m("ours"), baseline: m("baseline"), age: m("age") });
  }

  process.stderr.write(`${s.label}: warm x${WARM_RUNS} ...\n`);
  const v = new Vault({ repoPath: repo, keyPath: s.key, autoPull: false });
  const d = new Decrypter();
  d.addIdentity(identityOf(s.key));
  const oursWarm = [];
  const ageWarm = [];
  const chunk = Math.max(1, Math.floor(WARM_RUNS / 10));
  for (let done = 0; done < WARM_RUNS; done += chunk) {
    oursWarm.push(...(await timeWarm(() => v.get(s.secret), s.want, chunk)));
    ageWarm.push(...(await timeWarm(() => d.decrypt(fs.readFileSync(encFile(s.secret)), "text"), s.want, chunk)));
  }
  v.close();
  rows.push({ label: `warm get, ${s.label}`, ours: median(oursWarm), age: median(ageWarm) });
}

const ratio = (a, b) => {
  if (a === undefined) return "—";
  const r = a / b;
  return `${r.toFixed(2)}${r < 1 ? ` (${(1 / r).toFixed(1)}× faster)` : ` (${r.toFixed(1)}× slower)`}`;
};
console.log(`\nNode ${process.version}, ${os.cpus().length} CPUs, load average ${os.loadavg()[0].toFixed(1)}, medians of ${COLD_RUNS} cold runs and ${WARM_RUNS} warm gets.`);
if (BASELINE) console.log(`Baseline: ${BASELINE} (cold runs only).`);
console.log("");
const cols = BASELINE ? ["agent-vault", "baseline", "age-encryption 0.3.1", "agent-vault / age", "baseline / age"] : ["agent-vault (wasm)", "age-encryption 0.3.1", "ratio (agent-vault / age-encryption)"];
console.log(`| scenario | ${cols.join(" | ")} |`);
console.log(`|---|${cols.map(() => "---:").join("|")}|`);
for (const r of rows) {
  const cells = BASELINE
    ? [fmt(r.ours), fmt(r.baseline), fmt(r.age), ratio(r.ours, r.age), ratio(r.baseline, r.age)]
    : [fmt(r.ours), fmt(r.age), ratio(r.ours, r.age)];
  console.log(`| ${r.label} | ${cells.join(" | ")} |`);
}
