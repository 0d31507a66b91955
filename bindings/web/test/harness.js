// Test plumbing: a static server exactly like `make web-serve`, Debian's
// Chromium driven by playwright-core, and a recorder that fails the test if
// the page reaches anything but that server.

import { spawn } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const here = dirname(fileURLToPath(import.meta.url));

/** bindings/web */
export const WEB_DIR = resolve(here, "..");
/** The repository root. */
export const ROOT = resolve(WEB_DIR, "../..");
/** tests/vectors */
export const VECTORS = join(ROOT, "tests/vectors");
/** Where screenshots go (gitignored). */
export const RESULTS = join(ROOT, "test-results/web");

const CHROMIUM = "/usr/bin/chromium";

/**
 * Loads the shared conformance table; a missing table or fixture throws, so
 * the suite fails instead of skipping.
 */
export function loadTable() {
  const table = JSON.parse(readFileSync(join(VECTORS, "cases.json"), "utf8"));
  if (table.version !== 1 || !Array.isArray(table.cases) || table.cases.length === 0) {
    throw new Error(`conformance table has version ${table.version} and no cases`);
  }
  for (const p of ["vault/.agent-vault/manifest.yaml", "keys/owner.key"]) {
    if (!existsSync(join(VECTORS, p))) throw new Error(`conformance fixture missing: tests/vectors/${p}`);
  }
  return table;
}

/**
 * The fixture key file keys/<name>.key, or undefined when the table names a
 * key that deliberately does not exist.
 * @param {string} name
 */
export function fixtureKey(name) {
  const p = join(VECTORS, "keys", `${name}.key`);
  return existsSync(p) ? readFileSync(p) : undefined;
}

/**
 * Serves bindings/ with Python's http.server on 127.0.0.1 and a free port,
 * the way `make web-serve` does.
 * @returns {Promise<{origin: string, close: () => void}>}
 */
export function startServer() {
  const proc = spawn("python3", ["-u", "-m", "http.server", "--bind", "127.0.0.1", "--directory", resolve(WEB_DIR, ".."), "0"], {
    stdio: ["ignore", "pipe", "ignore"],
  });
  return new Promise((ok, fail) => {
    let out = "";
    const timer = setTimeout(() => {
      proc.kill();
      fail(new Error(`static server did not start: ${out}`));
    }, 15000);
    proc.once("exit", (code) => fail(new Error(`static server exited with ${code}: ${out}`)));
    proc.stdout.on("data", (chunk) => {
      out += chunk;
      const m = /port (\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        proc.removeAllListeners("exit");
        ok({ origin: `http://127.0.0.1:${m[1]}`, close: () => proc.kill() });
      }
    });
  });
}

/**
 * Launches Debian's Chromium; never a downloaded browser. Playwright gives
 * every launch a fresh temporary profile directory.
 */
export function launchBrowser() {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing; test.sh installs it with apt-get`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-default-apps",
      "--disable-extensions",
    ],
  });
}

/**
 * A fresh browser context whose every request is recorded and, unless it
 * goes to `origin`, aborted. `outside()` lists what tried to leave: anything
 * that reached the network layer, and any attempt the page's
 * Content-Security-Policy did not stop first (`blockedByCsp()` lists those).
 * @param {import("playwright-core").Browser} browser
 * @param {string} origin
 */
export async function openContext(browser, origin) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const routed = [];
  const requests = [];
  const cspBlocked = new Set();
  const sockets = [];
  const isLocal = (url) => url.startsWith(origin + "/");
  await context.route("**/*", (route) => {
    const url = route.request().url();
    routed.push(url);
    return isLocal(url) ? route.continue() : route.abort("blockedbyclient");
  });
  context.on("request", (req) => requests.push(req));
  context.on("requestfailed", (req) => {
    if (req.failure()?.errorText === "csp") cspBlocked.add(req);
  });
  const page = await context.newPage();
  page.on("websocket", (ws) => sockets.push(ws.url()));
  const errors = [];
  page.on("pageerror", (err) => errors.push(String(err)));
  return {
    context,
    page,
    pageErrors: errors,
    requests: () => requests.map((r) => r.url()),
    blockedByCsp: () => [...cspBlocked].map((r) => r.url()),
    outside: () => [
      ...routed.filter((u) => !isLocal(u)),
      ...requests.filter((r) => !isLocal(r.url()) && !cspBlocked.has(r)).map((r) => r.url()),
      ...sockets,
    ],
  };
}
