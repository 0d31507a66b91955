// The glue shared with the browser page (bindings/js/glue.js): error
// mapping, base64, the ABI check, the CSPRNG guard, zeroing, and the host
// protocol the module's two imports speak.

import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import * as glue from "../shared/glue.js";
import * as api from "../src/index.js";
import { newInstance } from "../src/runtime.js";
import { PKG, ROOT, VECTORS } from "./helpers.js";

const TABLE = [
  ["internal", 1, glue.VaultError],
  ["invalid_input", 2, glue.InvalidInputError],
  ["vault_not_found", 3, glue.VaultNotFoundError],
  ["secret_not_found", 4, glue.SecretNotFoundError],
  ["not_authorized", 5, glue.NotAuthorizedError],
  ["invalid_key", 6, glue.InvalidKeyError],
  ["corrupt_vault", 7, glue.CorruptVaultError],
  ["conflict", 8, glue.ConflictError],
  ["untrusted", 10, glue.UntrustedError],
];
const decoder = new TextDecoder();
const encoder = new TextEncoder();

test("the package ships the shared glue unchanged", () => {
  assert.equal(fs.readFileSync(path.join(PKG, "shared/glue.js"), "utf8"), fs.readFileSync(path.join(ROOT, "bindings/js/glue.js"), "utf8"));
});

test("every error code maps to its class, all deriving from VaultError", () => {
  assert.deepEqual(Object.keys(glue.ERROR_CLASSES).sort(), TABLE.map(([c]) => c).sort());
  for (const [code, number, Cls] of TABLE) {
    const e = glue.errorFromEnvelope({ code, number, message: `m-${code}`, hint: "h" });
    assert.equal(e.constructor, Cls, code);
    assert.ok(e instanceof glue.VaultError && e instanceof Error);
    assert.deepEqual([e.code, e.number, e.message, e.hint, e.name], [code, number, `m-${code}`, "h", Cls.name]);
    const direct = new Cls("m");
    assert.deepEqual([direct.code, direct.number, direct.hint], [code, number, ""]);
  }
  const unknown = glue.errorFromEnvelope({ code: "from_the_future", number: 99, message: "x" });
  assert.equal(unknown.constructor, glue.VaultError);
  assert.deepEqual([unknown.code, unknown.number], ["from_the_future", 99]);
});

test("the original SDK's error names are our classes under another name", () => {
  assert.equal(api.ManifestError, glue.CorruptVaultError);
  assert.equal(api.MetadataError, glue.CorruptVaultError);
  assert.equal(api.InvalidIdentifierError, glue.InvalidInputError);
  assert.equal(api.GitSyncError, glue.ConflictError);
  assert.ok(glue.errorFromEnvelope({ code: "conflict" }) instanceof api.GitSyncError);
});

test("the module's error numbers agree with the glue's table", () => {
  const wasm = newInstance();
  const requests = [
    ["invalid_input", { op: "list", handle: 999 }],
    ["vault_not_found", { op: "open", repo: "/nonexistent/vault", cwd: "/", home: "/nonexistent" }],
    ["invalid_key", { op: "decrypt", identities: ["AGE-SECRET-KEY-1BAD"], ciphertext: "" }],
  ];
  for (const [code, req] of requests) {
    const number = TABLE.find(([c]) => c === code)[1];
    assert.throws(() => wasm.call(req), (e) => e.code === code && e.number === number, code);
  }
  assert.equal(wasm.call({ op: "version" }).abi, glue.ABI_VERSION);
});

test("base64 round-trips every byte value and large buffers", () => {
  for (const bytes of [new Uint8Array(0), Uint8Array.from({ length: 256 }, (_, i) => i), new Uint8Array(randomBytes(200_001))]) {
    const s = glue.bytesToBase64(bytes);
    assert.equal(s, Buffer.from(bytes).toString("base64"));
    assert.deepEqual(glue.base64ToBytes(s), bytes);
  }
});

// A module importing a host function this ABI does not have.
function moduleImporting(name) {
  const str = (s) => [s.length, ...encoder.encode(s)];
  const imp = [1, ...str("agent_vault"), ...str(name), 0, 0];
  return new WebAssembly.Module(
    new Uint8Array([0, 0x61, 0x73, 0x6d, 1, 0, 0, 0, 1, 4, 1, 0x60, 0, 0, 2, imp.length, ...imp]),
  );
}

test("a module of another ABI version is refused with a clear message", () => {
  const fake = { memory: new WebAssembly.Memory({ initial: 1 }), av_abi_version: () => 1, av_alloc() {}, av_free() {}, av_call() {} };
  assert.throws(() => new glue.WasmVault(fake), new RegExp(`speaks ABI version 1, but this binding needs ${glue.ABI_VERSION}`));
  assert.throws(() => new glue.WasmVault({}), /missing export/);
  const shim = { ConsoleStdout: { lineBuffered: () => ({}) }, OpenFile: class {}, File: class {}, WASI: class { wasiImport = {}; } };
  assert.throws(
    () => glue.instantiate(moduleImporting("host_call_v3"), { shim, host: {} }),
    (e) => e instanceof glue.VaultError && e.message.includes(`does not fit this binding (ABI ${glue.ABI_VERSION})`) && /matching versions/.test(e.hint),
  );
});

test("random_get uses crypto.getRandomValues and fails closed without it", () => {
  const memory = new WebAssembly.Memory({ initial: 2 });
  const get = glue.secureRandomGet(() => memory);
  assert.equal(get(16, 100_000), 0);
  const filled = new Uint8Array(memory.buffer, 16, 100_000);
  assert.ok(filled.filter((b) => b === 0).length < 2000, "random bytes look unfilled");
  assert.equal(new Uint8Array(memory.buffer)[15], 0);
  const saved = Object.getOwnPropertyDescriptor(globalThis, "crypto");
  try {
    Object.defineProperty(globalThis, "crypto", { value: undefined, configurable: true });
    assert.notEqual(get(0, 8), 0);
  } finally {
    Object.defineProperty(globalThis, "crypto", saved);
  }
});

/** A WASI clock subscription (48 bytes) at 0 and room for an event at 64, nevents at 128. */
function clockPoll(ns, flags = 0) {
  const memory = new WebAssembly.Memory({ initial: 1 });
  const v = new DataView(memory.buffer);
  v.setBigUint64(0, 0xfeedn, true); // userdata
  v.setUint8(8, 0); // a clock
  v.setBigUint64(24, ns, true);
  v.setUint16(40, flags, true);
  return { memory, v };
}

test("poll_oneoff sleeps on a relative clock instead of spinning, and leaves other polls to the shim", () => {
  const shimCalls = [];
  const shim = (...args) => (shimCalls.push(args), 0);
  const { memory, v } = clockPoll(200_000_000n);
  const poll = glue.sleepingPollOneoff(() => memory, shim);
  const cpu = process.cpuUsage();
  const start = process.hrtime.bigint();
  assert.equal(poll(0, 64, 1, 128), 0);
  const wall = Number(process.hrtime.bigint() - start) / 1e6;
  const used = (process.cpuUsage(cpu).user + process.cpuUsage(cpu).system) / 1000;
  assert.ok(wall >= 190, `returned after ${wall} ms of a 200 ms sleep`);
  assert.ok(used < wall / 2, `${used} ms of CPU in a ${wall} ms sleep: it spins`);
  assert.equal(v.getBigUint64(64, true), 0xfeedn, "event userdata");
  assert.equal(v.getUint16(72, true), 0, "event error");
  assert.equal(v.getUint8(74), 0, "event type");
  assert.equal(v.getUint32(128, true), 1, "nevents");
  assert.equal(shimCalls.length, 0);

  poll(0, 64, 2, 128); // two subscriptions
  const abs = clockPoll(1n, 1);
  glue.sleepingPollOneoff(() => abs.memory, shim)(0, 64, 1, 128); // an absolute time
  const fd = clockPoll(5n);
  fd.v.setUint8(8, 1); // an fd subscription
  glue.sleepingPollOneoff(() => fd.memory, shim)(0, 64, 1, 128);
  assert.equal(shimCalls.length, 3);
});

test("a Node instance draws its randomness from crypto.getRandomValues", () => {
  const real = globalThis.crypto.getRandomValues;
  let calls = 0;
  globalThis.crypto.getRandomValues = function (buf) {
    calls++;
    return real.call(globalThis.crypto, buf);
  };
  try {
    newInstance();
  } finally {
    globalThis.crypto.getRandomValues = real;
  }
  assert.ok(calls > 0, "the Go runtime's random_get never reached crypto.getRandomValues");
});

test("get copies the plaintext out and the guest's copy is zeroed", () => {
  const wasm = newInstance();
  const { handle } = wasm.open({ repo: path.join(VECTORS, "vault"), cwd: "/", home: "/nonexistent", key: { path: path.join(VECTORS, "keys/owner.key") } });
  const ex = wasm.ex;
  let resp;
  wasm.ex = {
    ...ex,
    av_call(p, n) {
      const r = BigInt.asUintN(64, BigInt(ex.av_call(p, n)));
      resp = [Number(r >> 32n), Number(r & 0xffffffffn)];
      return r;
    },
  };
  const value = wasm.get(handle, "postgres/conn");
  assert.equal(decoder.decode(value), "postgres://app:fixture-password@localhost:5432/app");
  assert.ok(resp[1] > 40);
  assert.ok(new Uint8Array(ex.memory.buffer, resp[0], resp[1]).every((b) => b === 0), "the guest response buffer still holds data");
});

test("a trap marks the instance broken instead of leaving it half-used", () => {
  const wasm = newInstance();
  const ex = wasm.ex;
  wasm.ex = {
    ...ex,
    av_call() {
      throw new WebAssembly.RuntimeError("unreachable");
    },
  };
  assert.throws(() => wasm.call({ op: "version" }), (e) => e instanceof glue.VaultError && /crashed/.test(e.message));
  assert.equal(wasm.broken, true);
  wasm.ex = ex;
  assert.throws(() => wasm.call({ op: "version" }), /crashed earlier/);
});

const serve = (host, req) => {
  const out = glue.serveHost(host, encoder.encode(JSON.stringify(req)));
  return { status: out[0], payload: out.subarray(1) };
};
const json = (r) => JSON.parse(decoder.decode(r.payload));

test("host answers: raw bytes for read, JSON otherwise, and the host's buffer is zeroed", () => {
  const file = Uint8Array.from([0, 1, 2, 255]);
  const r = serve({ read: ({ path: p, limit }) => (p === "/k" && limit === 10 ? file : null) }, { op: "read", path: "/k", limit: 10 });
  assert.equal(r.status, 0);
  assert.deepEqual([...r.payload], [0, 1, 2, 255]);
  assert.ok(file.every((b) => b === 0), "the host's copy of the file was not zeroed");
  const st = serve({ lstat: ({ path: p }) => ({ type: "dir", size: 1, mode: 0o700, p }) }, { op: "lstat", path: "/d" });
  assert.deepEqual([st.status, json(st)], [0, { type: "dir", size: 1, mode: 0o700, p: "/d" }]);
  const ls = serve({ readdir: () => ({ entries: [{ name: "a", type: "file" }] }) }, { op: "readdir", path: "/d" });
  assert.deepEqual(json(ls), { entries: [{ name: "a", type: "file" }] });
  let written;
  const w = serve({ write: (req) => { written = req; } }, { op: "write", path: "/s", data: "AAH/" });
  assert.deepEqual([w.status, json(w), written], [0, {}, { op: "write", path: "/s", data: "AAH/" }]);
  const rm = serve({ remove_all: () => {} }, { op: "remove_all", path: "/x" });
  assert.deepEqual([rm.status, json(rm)], [0, {}]);
});

test("host failures become error kinds and never reach the module as exceptions", () => {
  const enoent = Object.assign(new Error("ENOENT: no such file"), { code: "ENOENT" });
  const cases = [
    [{ lstat: () => { throw enoent; } }, { op: "lstat", path: "/x" }, "not_found"],
    [{ read: () => { throw Object.assign(new Error("denied"), { code: "EACCES" }); } }, { op: "read", path: "/x", limit: 1 }, "permission"],
    [{ readdir: () => { throw Object.assign(new Error("not a dir"), { code: "ENOTDIR" }); } }, { op: "readdir", path: "/x" }, "not_dir"],
    [{ lstat: () => { throw { kind: "too_large", message: "big" }; } }, { op: "lstat", path: "/x" }, "too_large"],
    [{ lstat: () => { throw new TypeError("bug"); } }, { op: "lstat", path: "/x" }, "other"],
    [{}, { op: "git", dir: "/", args: ["status"] }, "other"],
    [{}, { op: "mkdir", path: "/x" }, "other"],
    [{}, { op: "no_such_op" }, "other"],
    // Only the protocol's ops reach the host, whatever else it has.
    [{ put: () => ({}) }, { op: "put", path: "/x" }, "other"],
  ];
  for (const [host, req, kind] of cases) {
    const r = serve(host, req);
    assert.equal(r.status, 1, JSON.stringify(req));
    assert.equal(json(r).error, kind, JSON.stringify(req));
    assert.equal(typeof json(r).message, "string");
  }
  const bad = glue.serveHost({}, encoder.encode("{not json"));
  assert.equal(bad[0], 1);
});
