// Warm get latency of the agent-vault package against age-encryption
// trying every stanza (the original SDK's approach), on the benchmark
// vaults avbench made. avbench runs this with `node --input-type=module -e`
// from bindings/node, so both packages resolve from there, and passes the
// cases as JSON in BENCH_SPEC (see warm.py). Prints one JSON object: the
// median over rounds of the mean seconds per get, keyed "<library>/<case>".

import fs from "node:fs";
import path from "node:path";
import { Decrypter } from "age-encryption";
import { Vault } from "agent-vault";

const spec = JSON.parse(process.env.BENCH_SPEC);
const runners = new Map();
const vaults = [];
for (const c of spec.cases) {
  const v = new Vault({ repoPath: c.repo, keyPath: c.key, autoPull: false });
  vaults.push(v);
  const id = fs.readFileSync(c.key, "utf8").split(/\s+/).find((w) => w.startsWith("AGE-SECRET-KEY-"));
  const d = new Decrypter();
  d.addIdentity(id);
  const enc = path.join(c.repo, ".agent-vault", "secrets", `${c.secret}.enc`);
  const ours = () => v.getBytes(c.secret);
  const naive = () => d.decrypt(fs.readFileSync(enc));
  if (Buffer.compare(Buffer.from(await ours()), Buffer.from(await naive())) !== 0) {
    throw new Error(`warm.mjs: agent-vault and age-encryption disagree on ${c.secret}`);
  }
  runners.set(`agent-vault/${c.name}`, ours);
  runners.set(`age-encryption/${c.name}`, naive);
}
const names = [...runners.keys()];
const samples = Object.fromEntries(names.map((n) => [n, []]));
for (let r = 0; r < spec.rounds; r++) {
  for (let k = 0; k < names.length; k++) {
    const name = names[(r + k) % names.length];
    const fn = runners.get(name);
    let n = 0;
    const start = process.hrtime.bigint();
    let elapsed;
    do {
      await fn();
      n++;
      elapsed = Number(process.hrtime.bigint() - start) / 1e9;
    } while (elapsed < spec.per_round);
    samples[name].push(elapsed / n);
  }
}
const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
for (const v of vaults) v.close();
console.log(JSON.stringify(Object.fromEntries(names.map((n) => [n, median(samples[n])]))));
