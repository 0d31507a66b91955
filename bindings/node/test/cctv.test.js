// The C2SP CCTV age vectors through the module's raw `decrypt` op. The
// vectors come from the Go module c2sp.org/CCTV/age (CCTV_AGE_DIR, or found
// with `go list`); a missing vector directory fails the test.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { newInstance } from "../src/runtime.js";
import { VaultError } from "../src/index.js";
import { base64ToBytes, bytesToBase64 } from "../shared/glue.js";
import { ROOT } from "./helpers.js";

function vectorDir() {
  const dir =
    process.env.CCTV_AGE_DIR ||
    execFileSync("go", ["list", "-m", "-f", "{{.Dir}}", "c2sp.org/CCTV/age"], { cwd: ROOT, encoding: "utf8" }).trim();
  return path.join(dir, "testdata");
}

function parse(data) {
  const v = { identities: [], passphrases: [], compressed: false };
  let pos = 0;
  for (;;) {
    const nl = data.indexOf(0x0a, pos);
    if (nl < 0) throw new Error("truncated vector header");
    const line = data.subarray(pos, nl).toString("utf8");
    pos = nl + 1;
    if (line === "") break;
    const i = line.indexOf(": ");
    const [k, val] = [line.slice(0, i), line.slice(i + 2)];
    if (k === "expect") v.expect = val;
    else if (k === "payload") v.payload = val;
    else if (k === "identity") v.identities.push(val);
    else if (k === "passphrase") v.passphrases.push(val);
    else if (k === "compressed") v.compressed = val === "zlib";
  }
  const body = data.subarray(pos);
  v.body = new Uint8Array(v.compressed ? zlib.inflateSync(body) : body);
  return v;
}

// Same mapping as the Go conformance test: only "no match" is an
// authorisation failure; every other failure is a corrupt file.
const expectedCode = (expect) => (expect === "no match" ? "not_authorized" : "corrupt_vault");

const dir = vectorDir();
const names = fs.readdirSync(dir).sort();
const wasm = newInstance();

test("the CCTV vector set is complete", () => {
  assert.ok(names.length >= 140, `only ${names.length} vectors in ${dir}`);
});

for (const name of names) {
  test(`cctv: ${name}`, () => {
    const v = parse(fs.readFileSync(path.join(dir, name)));
    assert.ok(v.expect, "vector has no expect line");
    let plaintext;
    let err;
    try {
      const req = { op: "decrypt", identities: v.identities, passphrases: v.passphrases, ciphertext: bytesToBase64(v.body) };
      plaintext = base64ToBytes(wasm.call(req).plaintext);
    } catch (e) {
      if (!(e instanceof VaultError)) throw e;
      err = e;
    }
    if (v.expect === "success") {
      assert.equal(err, undefined, `unexpected error: ${err && err.message}`);
      assert.equal(createHash("sha256").update(plaintext).digest("hex"), v.payload);
    } else {
      assert.ok(err, `expected ${v.expect}, decryption succeeded`);
      assert.equal(err.code, expectedCode(v.expect), err.message);
    }
  });
}
