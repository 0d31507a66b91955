// The environment-agnostic glue shared with the browser page: error
// mapping, base64, the ABI check and the CSPRNG guard.

import { test } from "node:test";
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import * as glue from "../src/glue.js";
import fs from "node:fs";
import path from "node:path";
import { instantiate } from "../src/runtime.js";
import { VECTORS } from "./helpers.js";

const TABLE = [
  ["internal", 1, glue.VaultError],
  ["invalid_input", 2, glue.InvalidInputError],
  ["vault_not_found", 3, glue.VaultNotFoundError],
  ["secret_not_found", 4, glue.SecretNotFoundError],
  ["not_authorized", 5, glue.NotAuthorizedError],
  ["invalid_key", 6, glue.InvalidKeyError],
  ["corrupt_vault", 7, glue.CorruptVaultError],
  ["conflict", 8, glue.ConflictError],
];

test("every error code maps to its class, all deriving from VaultError", () => {
  for (const [code, number, Cls] of TABLE) {
    const e = glue.errorFromEnvelope({ code, number, message: `m-${code}`, hint: "h" });
    assert.equal(e.constructor, Cls, code);
    assert.ok(e instanceof glue.VaultError && e instanceof Error);
    assert.deepEqual([e.code, e.number, e.message, e.hint, e.name], [code, number, `m-${code}`, "h", Cls.name]);
  }
  const unknown = glue.errorFromEnvelope({ code: "from_the_future", number: 99, message: "x" });
  assert.equal(unknown.constructor, glue.VaultError);
  assert.equal(unknown.code, "from_the_future");
});

test("the module's error numbers agree with the glue's table", () => {
  const { vault } = instantiate();
  const requests = [
    ["invalid_input", { op: "list", handle: 999 }],
    ["vault_not_found", { op: "open", root: "/vault" }],
    ["invalid_key", { op: "decrypt", identities: ["AGE-SECRET-KEY-1BAD"], ciphertext: "" }],
  ];
  for (const [code, req] of requests) {
    const number = TABLE.find(([c]) => c === code)[1];
    assert.throws(() => vault.call(req), (e) => e.code === code && e.number === number, code);
  }
});

test("base64 round-trips every byte value and large buffers", () => {
  for (const bytes of [new Uint8Array(0), Uint8Array.from({ length: 256 }, (_, i) => i), new Uint8Array(randomBytes(200_001))]) {
    const s = glue.bytesToBase64(bytes);
    assert.equal(s, Buffer.from(bytes).toString("base64"));
    assert.deepEqual(glue.base64ToBytes(s), bytes);
  }
});

test("a module with another ABI version is refused with a clear message", () => {
  const fake = { memory: new WebAssembly.Memory({ initial: 1 }), av_abi_version: () => 2, av_alloc() {}, av_free() {}, av_call() {} };
  assert.throws(() => new glue.WasmVault(fake), /ABI version 2.*needs 1/);
  assert.throws(() => new glue.WasmVault({}), /missing export/);
  assert.equal(instantiate().vault.version().abi, glue.ABI_VERSION);
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

test("get copies the plaintext out and the guest's copy is zeroed", () => {
  const { vault } = instantiate({ dir: path.join(VECTORS, "vault") });
  const keyPath = path.join(VECTORS, "keys/owner.key");
  const { handle } = vault.open({ root: "/vault", key: { path: keyPath }, keyFile: fs.readFileSync(keyPath) });
  const ex = vault.ex;
  let resp;
  vault.ex = {
    ...ex,
    av_call(p, n) {
      const r = BigInt.asUintN(64, BigInt(ex.av_call(p, n)));
      resp = [Number(r >> 32n), Number(r & 0xffffffffn)];
      return r;
    },
  };
  const value = vault.get(handle, "postgres/conn");
  assert.equal(new TextDecoder().decode(value), "postgres://app:fixture-password@localhost:5432/app");
  const guest = new Uint8Array(ex.memory.buffer, resp[0], resp[1]);
  assert.ok(resp[1] > 40);
  assert.ok(guest.every((b) => b === 0), "the guest response buffer still holds data");
});

test("a Node instance draws its randomness from crypto.getRandomValues", () => {
  const real = globalThis.crypto.getRandomValues;
  let calls = 0;
  globalThis.crypto.getRandomValues = function (buf) {
    calls++;
    return real.call(globalThis.crypto, buf);
  };
  try {
    instantiate();
  } finally {
    globalThis.crypto.getRandomValues = real;
  }
  assert.ok(calls > 0, "the Go runtime's random_get never reached crypto.getRandomValues");
});

test("error classes carry their own code and number when built directly", () => {
  for (const [code, number, Cls] of TABLE) {
    const e = new Cls("m");
    assert.deepEqual([e.code, e.number, e.hint], [code, number, ""]);
  }
});

test("a trap marks the instance broken instead of leaving it half-used", () => {
  const { vault } = instantiate();
  const ex = vault.ex;
  vault.ex = {
    ...ex,
    av_call() {
      throw new WebAssembly.RuntimeError("unreachable");
    },
  };
  assert.throws(() => vault.version(), (e) => e instanceof glue.VaultError && /crashed/.test(e.message));
  assert.equal(vault.broken, true);
  vault.ex = ex;
  assert.throws(() => vault.version(), /crashed earlier/);
});
