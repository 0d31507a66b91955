// Reads a vault through a Node agent-vault package and compares what it
// sees with the expectations on standard input (JSON). The same file serves
// the original Node SDK (built from the crate's node-sdk/) and this
// repository's binding: it uses only the API both share,
// new Vault({repoPath, keyPath}), await .get(name) and .listSecrets(), and
// tells errors apart by class name.
//
// Usage: node read_vault.mjs MODULE REPO KEY < expectations.json
//   MODULE is the package's ESM entry file or its directory (package.json
//   "exports" or "main" is followed).
import { existsSync, readFileSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

function entry(target) {
  if (!statSync(target).isDirectory()) return resolve(target);
  const pkg = JSON.parse(readFileSync(join(target, "package.json"), "utf8"));
  const dot = pkg.exports?.["."] ?? pkg.exports;
  const imp = typeof dot === "string" ? dot : dot?.import ?? dot?.default;
  const file = (typeof imp === "string" ? imp : imp?.default) ?? pkg.main ?? "index.js";
  const path = resolve(target, file);
  if (!existsSync(path)) throw new Error(`${target}: entry ${file} does not exist`);
  return path;
}

function errorNames(e) {
  const names = new Set();
  for (let p = Object.getPrototypeOf(e); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    names.add(p.constructor.name);
  }
  if (e?.name) names.add(e.name);
  return names;
}

const [target, repoPath, keyPath] = process.argv.slice(2);
const spec = JSON.parse(readFileSync(0, "utf8"));
const { Vault } = await import(pathToFileURL(entry(target)).href);
const vault = new Vault({ repoPath, keyPath });
const failures = [];
for (const [name, want] of Object.entries(spec.values ?? {})) {
  try {
    const got = await vault.get(name);
    if (got !== want) failures.push(`get ${name}: got ${got.length} chars, not the value set`);
  } catch (e) {
    failures.push(`get ${name}: ${e?.constructor?.name}: ${e?.message}`);
  }
}
for (const [kind, error] of [["denied", "NotAuthorizedError"], ["missing", "SecretNotFoundError"]]) {
  for (const name of spec[kind] ?? []) {
    try {
      await vault.get(name);
      failures.push(`get ${name}: succeeded, want ${error}`);
    } catch (e) {
      if (!errorNames(e).has(error)) failures.push(`get ${name}: ${e?.constructor?.name}, want ${error}`);
    }
  }
}
if (spec.names) {
  // Every secret's metadata: ours lists only what the key can read unless
  // asked for all; the original ignores the extra argument.
  const names = (await vault.listSecrets(undefined, { all: true })).map((m) => m.name).sort();
  const want = [...spec.names].sort();
  if (JSON.stringify(names) !== JSON.stringify(want)) {
    failures.push(`listSecrets: ${JSON.stringify(names)}, want ${JSON.stringify(want)}`);
  }
}
for (const f of failures) console.log(`  ${f}`);
vault.close?.();
process.exit(failures.length ? 1 : 0);
