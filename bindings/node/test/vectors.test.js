// The shared conformance tables (tests/vectors), run through the public API:
// cases.json on the fixture vault, hostile.json on broken copies of it
// (symlinks, YAML bombs, damaged ciphertext, traversal names). A missing
// table or fixture fails here rather than being skipped. A list shows what
// the key can read; `all` in a case lists every secret.

import { test } from "node:test";
import assert from "node:assert/strict";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Vault, VaultError } from "../src/index.js";
import { VECTORS, b64 } from "./helpers.js";

const table = JSON.parse(fs.readFileSync(path.join(VECTORS, "cases.json"), "utf8"));
const hostile = JSON.parse(fs.readFileSync(path.join(VECTORS, "hostile.json"), "utf8"));
const vaultDir = path.join(VECTORS, table.vault);
const keysDir = path.join(VECTORS, table.keys);
delete process.env.AGENT_VAULT_KEY;

test("the conformance table and fixture are present", () => {
  assert.ok(fs.statSync(path.join(vaultDir, ".agent-vault")).isDirectory());
  assert.ok(table.cases.length >= 40, `only ${table.cases.length} cases`);
  assert.equal(typeof table.now, "string");
  assert.ok(hostile.cases.length >= 10, `only ${hostile.cases.length} hostile cases`);
  for (const c of hostile.cases) assert.ok(fs.statSync(path.join(VECTORS, c.vault, ".agent-vault")).isDirectory());
});

function open(c) {
  const repoPath = c.vault ? path.join(VECTORS, c.vault) : vaultDir;
  const trust = { owner: c.pin, seen: c.seen };
  // A throwaway HOME per case: what one case's reader remembers of the
  // fixture's signed version must not make another's a rollback.
  const home = process.env.HOME;
  process.env.HOME = fs.mkdtempSync(path.join(os.tmpdir(), "av-vectors-home-"));
  try {
    if (c.key === "none") return new Vault({ repoPath, metadataOnly: true, autoPull: false, ...trust });
    return new Vault({ repoPath, keyPath: path.join(keysDir, `${c.key}.key`), autoPull: false, ...trust });
  } finally {
    process.env.HOME = home;
  }
}

async function run(c) {
  const v = open(c);
  try {
    switch (c.op) {
      case "get":
        return { value_b64: await v.getBytes(c.secret) };
      case "list":
        return { names: v.listSecrets(c.group, { all: !!c.all }).map((s) => s.name) };
      case "agents":
        return { names: v.listAgents().map((a) => a.name) };
      case "check":
        return {
          findings: v
            .check({ now: new Date(table.now) })
            .map((f) => `${f.severity}:${f.kind}:${f.subject}`)
            .sort(),
        };
      default:
        throw new Error(`unknown op ${c.op} in the table`);
    }
  } finally {
    v.close();
  }
}

for (const c of [...table.cases, ...hostile.cases]) {
  test(`vector: ${c.name}`, async () => {
    let got;
    try {
      got = await run(c);
    } catch (e) {
      if (!(e instanceof VaultError)) throw e;
      got = { error: e.code };
    }
    const want = c.expect;
    if ("value_b64" in want) {
      assert.ok(got.value_b64, `expected a value, got ${JSON.stringify(got)}`);
      assert.deepEqual(got.value_b64, b64(want.value_b64));
    } else if ("names" in want) {
      assert.deepEqual(got, { names: want.names });
    } else if ("findings" in want) {
      assert.deepEqual(got, { findings: [...want.findings].sort() });
    } else if ("error" in want) {
      assert.deepEqual(got, { error: want.error });
    } else {
      assert.fail(`case ${c.name} has no expectation`);
    }
  });
}
