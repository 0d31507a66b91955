// The browser page, driven in Debian's Chromium: loading the fixture vault,
// revealing values, wrong keys, the whole conformance table in the page, and
// proof that nothing leaves the browser.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  RESULTS,
  ROOT,
  VECTORS,
  WEB_DIR,
  fixtureKey,
  launchBrowser,
  loadTable,
  openContext,
  startServer,
} from "./harness.js";

const table = loadTable();
const VAULT = join(VECTORS, "vault");

// The UI tests check the same facts the table states, rather than copies.
function findCase(what, pred) {
  const c = table.cases.find(pred);
  if (!c) throw new Error(`the conformance table lacks ${what}`);
  return c;
}
const fullList = findCase("a list of every secret", (c) => c.op === "list" && !c.group && c.expect.names);
const agentList = findCase("an agents case", (c) => c.op === "agents" && c.expect.names);
const checkCase = findCase("a check case", (c) => c.op === "check" && c.expect.findings);
const ownerGet = (secret) =>
  findCase(`get ${secret} as owner`, (c) => c.op === "get" && c.key === "owner" && c.secret === secret && c.expect.value_b64 !== undefined);
const denied = findCase("a not_authorized get with an existing key", (c) => c.op === "get" && c.expect.error === "not_authorized" && fixtureKey(c.key));
const allowedForDenied = findCase(`a value readable by ${denied.key}`, (c) => c.op === "get" && c.key === denied.key && c.expect.value_b64);
const subjects = (kind) => checkCase.expect.findings.filter((f) => f.split(":")[1] === kind).map((f) => f.split(":").slice(2).join(":"));
const text = (b64) => Buffer.from(b64, "base64").toString("utf8");

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  server?.close();
});

async function open(setup) {
  const ctx = await openContext(browser, server.origin);
  if (setup) await setup(ctx);
  await ctx.page.goto(`${server.origin}/web/?now=${encodeURIComponent(table.now)}`);
  return ctx;
}

// Every test ends here: nothing may have left 127.0.0.1:PORT, and the page
// must not have thrown.
async function finish(ctx) {
  await ctx.context.close();
  assert.ok(ctx.requests().some((u) => u.endsWith("/agent_vault.wasm")), "the recorder missed the module's own request");
  assert.deepEqual(ctx.outside(), [], "the page made requests outside its own server");
  assert.deepEqual(ctx.pageErrors, []);
}

async function waitLoaded(page) {
  await page.waitForFunction(() => ["loaded", "error"].includes(document.body.dataset.state), null, { timeout: 60000 });
  const state = await page.evaluate(() => document.body.dataset.state);
  assert.equal(state, "loaded", `vault did not load: ${await page.locator("#error").textContent()}`);
}

async function loadFixture(page) {
  await page.setInputFiles("#folder-input", VAULT);
  await waitLoaded(page);
}

const rowNames = (page, selector, attr) => page.$$eval(selector, (rows, a) => rows.map((r) => r.dataset[a]), attr);

async function reveal(page, secret) {
  await page.locator(`tr.secret[data-secret="${secret}"] button.reveal`).click();
  const row = page.locator(`tr.value-row[data-value-of="${secret}"]`);
  await row.locator("pre.secret-value, .inline-error").first().waitFor();
  return row;
}

async function useKeyFile(page, name) {
  await page.setInputFiles("#key-input", join(VECTORS, "keys", `${name}.key`));
  await page.waitForSelector("#key-status.ok, #key-status.bad");
}

async function pasteKey(page, keyText) {
  await page.fill("#key-text", keyText);
  await page.click("#key-unlock");
  await page.waitForSelector("#key-status.ok, #key-status.bad");
}

describe("vault viewer page", () => {
  test("lists the picked fixture vault with expiry highlights, agents, groups and check", async () => {
    const ctx = await open();
    const { page } = ctx;
    await loadFixture(page);

    assert.deepEqual(await rowNames(page, "#secrets-body tr.secret", "secret"), fullList.expect.names);
    assert.deepEqual(await rowNames(page, "#agents-body tr", "agent"), agentList.expect.names);
    assert.deepEqual(await rowNames(page, "#secrets-body tr.secret.expired", "secret"), subjects("expired"));
    assert.deepEqual(await rowNames(page, "#secrets-body tr.secret.expiring", "secret"), subjects("expiring"));
    assert.ok(subjects("expired").length > 0 && subjects("expiring").length > 0, "fixture lost its expiry cases");

    const findings = await page.$$eval("#findings li.finding", (items) =>
      items.map((li) => `${li.querySelector(".badge").textContent}:${li.dataset.kind}:${li.dataset.subject}`),
    );
    assert.deepEqual(findings.sort(), [...checkCase.expect.findings].sort());

    const groups = await rowNames(page, "#groups-body tr", "group");
    assert.ok(groups.includes("stripe") && groups.length >= 3, `groups: ${groups}`);
    const stripeRow = await page.locator('tr.secret[data-secret="stripe/api-key"]').innerText();
    assert.match(stripeRow, /stripe/);
    assert.match(stripeRow, /billing/);

    // Values stay masked, and cannot be revealed without a key.
    const body = await page.locator("body").innerText();
    for (const c of table.cases.filter((c) => c.op === "get" && c.key === "owner" && c.expect.value_b64)) {
      const v = text(c.expect.value_b64);
      if (v.length >= 8) assert.ok(!body.includes(v), `value of ${c.secret} is on the page before any reveal`);
    }
    assert.equal(await page.locator("#secrets-body button.reveal:enabled").count(), 0);
    await finish(ctx);
  });

  test("reveals and copies values with the owner's key file, and takes the screenshot", async () => {
    const ctx = await open();
    const { page, context } = ctx;
    await context.grantPermissions(["clipboard-read", "clipboard-write"], { origin: server.origin });
    await loadFixture(page);
    await useKeyFile(page, "owner");
    assert.match(await page.locator("#key-status").innerText(), /Unlocked as the owner \(age1/);
    assert.equal(await page.inputValue("#key-text"), "");
    assert.equal(await page.$eval("#key-input", (i) => i.files.length), 0, "the key file stays referenced by the page");

    const api = ownerGet("stripe/api-key");
    let row = await reveal(page, api.secret);
    assert.equal(await row.locator("pre.secret-value").textContent(), text(api.expect.value_b64));

    await page.locator(`tr.secret[data-secret="${api.secret}"] button.copy`).click();
    await page.locator(`tr.secret[data-secret="${api.secret}"] button.copy`, { hasText: "Copied" }).waitFor();
    assert.equal(await page.evaluate(() => navigator.clipboard.readText()), text(api.expect.value_b64));

    await row.locator('button[data-action="hide"]').click();
    assert.equal(await row.isHidden(), true);
    assert.equal(await row.locator("pre").count(), 0, "a hidden value is still in the DOM");

    const blob = ownerGet("blobs/binary");
    row = await reveal(page, blob.secret);
    assert.equal(await row.locator("pre.secret-value").textContent(), blob.expect.value_b64);
    const size = Buffer.from(blob.expect.value_b64, "base64").length;
    assert.match(await row.innerText(), new RegExp(`binary value, ${size} bytes, shown as base64`));

    const cert = ownerGet("certs/tls-chain");
    row = await reveal(page, cert.secret);
    assert.equal(await row.locator("pre.secret-value").textContent(), text(cert.expect.value_b64));

    mkdirSync(RESULTS, { recursive: true });
    await page.screenshot({ path: join(RESULTS, "viewer.png"), fullPage: true });

    // Nothing was persisted: no web storage, cookies or databases.
    const stored = await page.evaluate(async () => ({
      local: localStorage.length,
      session: sessionStorage.length,
      cookie: document.cookie,
      databases: (await indexedDB.databases()).length,
    }));
    assert.deepEqual(stored, { local: 0, session: 0, cookie: "", databases: 0 });

    // Switching away from the tab hides every revealed value.
    await page.evaluate(() => {
      Object.defineProperty(document, "hidden", { value: true, configurable: true });
      document.dispatchEvent(new Event("visibilitychange"));
    });
    assert.equal(await page.locator("#secrets-body pre.secret-value").count(), 0);
    await finish(ctx);
  });

  test("an agent's pasted key gets not_authorized for a secret outside its groups", async () => {
    const ctx = await open();
    const { page } = ctx;
    await loadFixture(page);
    await pasteKey(page, fixtureKey(denied.key).toString("utf8"));
    assert.match(await page.locator("#key-status").innerText(), new RegExp(`Unlocked as agent ${denied.key} `));
    assert.equal(await page.inputValue("#key-text"), "", "the pasted key stays in the text box");

    const row = await reveal(page, denied.secret);
    assert.equal(await row.locator(".inline-error .code").textContent(), "not_authorized");
    assert.equal(await row.locator("pre").count(), 0);

    const ok = await reveal(page, allowedForDenied.secret);
    assert.equal(await ok.locator("pre.secret-value").textContent(), text(allowedForDenied.expect.value_b64));
    mkdirSync(RESULTS, { recursive: true });
    await page.screenshot({ path: join(RESULTS, "viewer-not-authorized.png"), fullPage: true });
    await finish(ctx);
  });

  test("an unusable key is refused with invalid_key and is not echoed", async () => {
    const ctx = await open();
    const { page } = ctx;
    await loadFixture(page);
    // Not a real key: a made-up look-alike, put together here so that no
    // key-like text sits in the file.
    const bogus = "AGE-SECRET-" + "KEY-1" + "Q".repeat(58);
    await pasteKey(page, bogus);
    await page.locator("#error").waitFor();
    assert.equal(await page.locator("#error .code").textContent(), "invalid_key");
    assert.ok(!(await page.locator("body").innerText()).includes(bogus.slice(16)), "the key text is echoed");
    assert.equal(await page.locator("#secrets-body button.reveal:enabled").count(), 0);
    await finish(ctx);
  });

  test("picking the .agent-vault folder itself opens the vault too", async () => {
    const ctx = await open();
    await ctx.page.setInputFiles("#folder-input", join(VAULT, ".agent-vault"));
    await waitLoaded(ctx.page);
    assert.match(await ctx.page.locator("#vault-status").innerText(), /^Loaded \.agent-vault: /);
    assert.deepEqual(await rowNames(ctx.page, "#secrets-body tr.secret", "secret"), fullList.expect.names);
    await finish(ctx);
  });

  test("a folder without a vault reports vault_not_found", async () => {
    const dir = mkdtempSync(join(tmpdir(), "av-web-"));
    writeFileSync(join(dir, "README.md"), "not a vault\n");
    const ctx = await open();
    try {
      await ctx.page.setInputFiles("#folder-input", dir);
      await ctx.page.waitForFunction(() => document.body.dataset.state === "error");
      assert.equal(await ctx.page.locator("#error .code").textContent(), "vault_not_found");
      assert.equal(await ctx.page.locator("#vault-view").isHidden(), true);
      mkdirSync(RESULTS, { recursive: true });
      await ctx.page.screenshot({ path: join(RESULTS, "viewer-no-vault.png"), fullPage: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    await finish(ctx);
  });

  for (const via of ["drop", "picker"]) {
    test(`a repository given by ${via === "drop" ? "drag-and-drop" : "the directory picker"} loads only its .agent-vault`, async () => {
      const ctx = await open();
      const { page } = ctx;
      // Real File objects for the fixture, to build the stand-in folder from.
      await page.evaluate(() => {
        const input = Object.assign(document.createElement("input"), { type: "file", id: "scratch", hidden: true, webkitdirectory: true });
        document.body.append(input);
      });
      await page.setInputFiles("#scratch", VAULT);
      const vaultFiles = await page.$eval("#scratch", (i) => i.files.length);
      await page.evaluate(async (how) => {
        const { entryFor, handleFor } = await import(new URL("test/mock_fs.js", location.href).href);
        const files = new Map();
        for (const f of document.getElementById("scratch").files) files.set(f.webkitRelativePath.split("/").slice(1).join("/"), f);
        files.set("README.md", new File(["not part of the vault\n"], "README.md"));
        files.set(".git/HEAD", new File(["ref: refs/heads/main\n"], "HEAD"));
        if (how === "drop") {
          const entry = entryFor("my-repo", files);
          DataTransferItem.prototype.webkitGetAsEntry = () => entry;
          const dt = new DataTransfer();
          dt.items.add(new File([], "my-repo"));
          document.dispatchEvent(new DragEvent("drop", { dataTransfer: dt, bubbles: true, cancelable: true }));
        } else {
          window.showDirectoryPicker = async () => handleFor("my-repo", files);
          document.getElementById("pick-folder").click();
        }
      }, via);
      await waitLoaded(page);
      assert.match(await page.locator("#vault-status").innerText(), new RegExp(`Loaded my-repo: ${vaultFiles} files`));
      assert.deepEqual(await rowNames(page, "#secrets-body tr.secret", "secret"), fullList.expect.names);
      await finish(ctx);
    });
  }

  test("random_get draws from crypto.getRandomValues, never Math.random", async () => {
    const ctx = await open(({ context }) =>
      context.addInitScript(() => {
        const counts = { crypto: 0, math: 0 };
        window.__rng = counts;
        const real = crypto.getRandomValues.bind(crypto);
        crypto.getRandomValues = (a) => {
          counts.crypto++;
          return real(a);
        };
        const mathRandom = Math.random;
        Math.random = () => {
          counts.math++;
          return mathRandom();
        };
      }),
    );
    await loadFixture(ctx.page);
    const counts = await ctx.page.evaluate(() => window.__rng);
    assert.ok(counts.crypto > 0, "the module never asked for randomness through crypto.getRandomValues");
    assert.equal(counts.math, 0);
    await finish(ctx);
  });

  test("the Content-Security-Policy blocks any other destination", async () => {
    const ctx = await open();
    const { page } = ctx;
    await loadFixture(page);
    const result = await page.evaluate(async () => {
      const violations = [];
      document.addEventListener("securitypolicyviolation", (e) => violations.push(e.effectiveDirective));
      let fetched = true;
      try {
        await fetch("http://127.0.0.2:9/exfiltrate");
      } catch {
        fetched = false;
      }
      const img = new Image();
      await new Promise((done) => {
        img.onerror = img.onload = done;
        img.src = "http://127.0.0.2:9/pixel.png";
      });
      await new Promise((done) => setTimeout(done, 100));
      return { fetched, violations };
    });
    assert.equal(result.fetched, false);
    assert.ok(result.violations.includes("connect-src"), `violations: ${result.violations}`);
    assert.ok(result.violations.includes("img-src"), `violations: ${result.violations}`);
    await finish(ctx);
    // The recorder saw the attempt, so it would have caught one the policy let through.
    assert.ok(ctx.blockedByCsp().includes("http://127.0.0.2:9/pixel.png"), `blocked: ${ctx.blockedByCsp()}`);
  });

  test("the page's host serves the picked files read-only, with no git and no writes", async () => {
    const ctx = await open();
    await loadFixture(ctx.page);
    const r = await ctx.page.evaluate(async () => {
      const { memoryHost } = await import(new URL("src/engine.js", location.href).href);
      const { serveHost } = await import(new URL("../js/glue.js", location.href).href);
      const enc = new TextEncoder();
      const dec = new TextDecoder();
      const host = memoryHost(new Map([["/p/f/.agent-vault/a.yaml", enc.encode("hello")], ["/p/f/empty", null]]));
      const ask = (req) => {
        const out = serveHost(host, enc.encode(JSON.stringify(req)));
        const body = dec.decode(out.subarray(1));
        return { status: out[0], body: out[0] === 0 && req.op === "read" ? body : JSON.parse(body) };
      };
      const key = enc.encode("KEY");
      host.put("/keys/k", key);
      const served = ask({ op: "read", path: "/keys/k", limit: 100 });
      host.drop("/keys/k");
      return {
        file: ask({ op: "lstat", path: "/p/f/.agent-vault/a.yaml" }),
        dir: ask({ op: "lstat", path: "/p/f" }),
        missing: ask({ op: "lstat", path: "/p/f/nope" }),
        short: ask({ op: "read", path: "/p/f/.agent-vault/a.yaml", limit: 2 }),
        again: ask({ op: "read", path: "/p/f/.agent-vault/a.yaml", limit: 100 }),
        list: ask({ op: "readdir", path: "/p/f" }),
        refused: ["git", "write", "mkdir", "rename", "remove_all"].map((op) => ask({ op, dir: "/p/f", args: ["status"], path: "/home/x", from: "/p/f", to: "/p/g", data: "AA==" })),
        served,
        dropped: [...key],
        gone: ask({ op: "lstat", path: "/keys/k" }),
      };
    });
    assert.deepEqual(r.file, { status: 0, body: { type: "file", size: 5, mode: 0o444 } });
    assert.deepEqual(r.dir.body.type, "dir");
    assert.deepEqual(r.missing, { status: 1, body: { error: "not_found", message: "/p/f/nope does not exist" } });
    assert.deepEqual([r.short.body, r.again.body], ["hel", "hello"], "a read must return at most limit+1 bytes and leave the file intact");
    assert.deepEqual(r.list.body.entries.sort((a, b) => a.name.localeCompare(b.name)), [{ name: ".agent-vault", type: "dir" }, { name: "empty", type: "dir" }]);
    for (const x of r.refused) assert.equal(x.status, 1, JSON.stringify(x));
    assert.deepEqual([r.served.body, r.dropped, r.gone.body.error], ["KEY", [0, 0, 0], "not_found"]);
    await finish(ctx);
  });

  test("the whole conformance table passes inside the page", async (t) => {
    const ctx = await open();
    const { page } = ctx;
    await loadFixture(page);
    const keys = {};
    for (const name of new Set(table.cases.map((c) => c.key).filter((k) => k !== "none"))) {
      const bytes = fixtureKey(name);
      if (bytes) keys[name] = bytes.toString("base64");
    }
    const outcomes = await page.evaluate(
      async ({ keys, table }) => {
        const { runTable } = await import(new URL("test/page_runner.js", location.href).href);
        return runTable(document.getElementById("folder-input").files, keys, table);
      },
      { keys, table },
    );
    assert.equal(outcomes.length, table.cases.length);
    for (const [i, c] of table.cases.entries()) {
      await t.test(c.name, () => compareCase(c, outcomes[i]));
    }
    await finish(ctx);
  });
});

test("the hostile-vault table passes inside the page", async (t) => {
  const hostile = JSON.parse(readFileSync(join(VECTORS, "hostile.json"), "utf8"));
  // A folder picked in a browser has no symlinks: the browser reads through
  // them, so those cases cannot be posed here. They run natively, under
  // wazero, in Python and in Node.
  const runnable = hostile.cases.filter((c) => !c.symlink);
  const symlinkCases = hostile.cases.length - runnable.length;
  t.diagnostic(`${symlinkCases} symlink cases are not posed in the browser (a picked folder cannot contain symlinks)`);
  assert.ok(runnable.length >= 8, `only ${runnable.length} hostile cases to run`);
  const ctx = await open();
  const { page } = ctx;
  const keys = {};
  for (const name of new Set(runnable.map((c) => c.key).filter((k) => k !== "none"))) {
    keys[name] = fixtureKey(name).toString("base64");
  }
  for (const vault of new Set(runnable.map((c) => c.vault))) {
    const cases = runnable.filter((c) => c.vault === vault);
    await page.setInputFiles("#folder-input", join(VECTORS, vault));
    const outcomes = await page.evaluate(
      async ({ keys, table }) => {
        const { runTable } = await import(new URL("test/page_runner.js", location.href).href);
        return runTable(document.getElementById("folder-input").files, keys, table);
      },
      { keys, table: { now: hostile.now, cases } },
    );
    for (const [i, c] of cases.entries()) {
      await t.test(c.name, () => compareCase(c, outcomes[i]));
    }
  }
  await finish(ctx);
});

function compareCase(c, o) {
  const e = c.expect;
  if (e.error) {
    assert.equal(o.error, e.error, `outcome: ${JSON.stringify(o)}`);
    assert.equal(o.mapped, true, `error ${o.error} is not mapped to its class (${o.className})`);
    return;
  }
  assert.equal(o.error, undefined, `unexpected error ${o.error}`);
  assert.equal(o.crash, undefined);
  if (e.value_b64 !== undefined) {
    assert.equal(typeof o.value_b64, "string");
    const got = Buffer.from(o.value_b64, "base64");
    assert.ok(got.equals(Buffer.from(e.value_b64, "base64")), `value mismatch: got ${got.length} bytes`);
  } else if (e.names) {
    assert.deepEqual(o.names, e.names);
  } else if (e.findings) {
    assert.deepEqual(o.findings, e.findings);
  } else {
    assert.fail("case has no expectation");
  }
}

test("the WASI shim is the exact version bindings/node pins", () => {
  const pinOf = (pkg) => pkg.dependencies?.["@bjorn3/browser_wasi_shim"] ?? pkg.devDependencies?.["@bjorn3/browser_wasi_shim"];
  const web = pinOf(JSON.parse(readFileSync(join(WEB_DIR, "package.json"), "utf8")));
  const node = pinOf(JSON.parse(readFileSync(join(ROOT, "bindings/node/package.json"), "utf8")));
  const installed = JSON.parse(readFileSync(join(WEB_DIR, "node_modules/@bjorn3/browser_wasi_shim/package.json"), "utf8")).version;
  assert.match(web, /^\d+\.\d+\.\d+$/, "the shim must be pinned to an exact version");
  assert.equal(node, web);
  assert.equal(installed, web);
});
