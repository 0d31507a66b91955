// The glue between JavaScript and agent_vault.wasm (docs/wasm-abi.md), shared
// by the Node package and the browser page, so it uses no Node-only API. A
// host object gives the module files and git; the reader inside decides the rest.

/** The ABI version this glue speaks; a module reporting another is refused. */
export const ABI_VERSION = 3;

/** Base class of every agent-vault error; `.code` and `.number` are the stable codes. */
export class VaultError extends Error {
  static code = "internal";
  static number = 1;

  /** @param {string} message @param {{code?: string, number?: number, hint?: string}} [details] */
  constructor(message, details = {}) {
    super(message);
    this.name = new.target.name;
    this.code = details.code ?? new.target.code;
    this.number = details.number ?? new.target.number;
    this.hint = details.hint ?? "";
  }
}

const kind = (name, code, number) =>
  ({ [name]: class extends VaultError { static code = code; static number = number; } })[name];

/** Bad name, path, date or flag. */
export const InvalidInputError = kind("InvalidInputError", "invalid_input", 2);
/** No `.agent-vault/` at the path, or no key configured. */
export const VaultNotFoundError = kind("VaultNotFoundError", "vault_not_found", 3);
/** No such secret path. */
export const SecretNotFoundError = kind("SecretNotFoundError", "secret_not_found", 4);
/** This identity is not a recipient of the secret. */
export const NotAuthorizedError = kind("NotAuthorizedError", "not_authorized", 5);
/** Key text or key file unusable. */
export const InvalidKeyError = kind("InvalidKeyError", "invalid_key", 6);
/** Malformed YAML, truncated or tampered ciphertext. */
export const CorruptVaultError = kind("CorruptVaultError", "corrupt_vault", 7);
/** Lock held, divergent Git history, no upstream to pull from. */
export const ConflictError = kind("ConflictError", "conflict", 8);
/** Not covered by a valid owner signature, rolled back, or a pin mismatch. */
export const UntrustedError = kind("UntrustedError", "untrusted", 10);

/** Each stable error code's class: the one table errors are mapped with. */
export const ERROR_CLASSES = Object.freeze(Object.fromEntries(
  [VaultError, InvalidInputError, VaultNotFoundError, SecretNotFoundError, NotAuthorizedError, InvalidKeyError,
    CorruptVaultError, ConflictError, UntrustedError].map((c) => [c.code, c]),
));

/** The error for an envelope's `error`; an unknown code (a newer module) is a VaultError keeping it. */
export function errorFromEnvelope(e = {}) {
  const Cls = ERROR_CLASSES[e.code] ?? VaultError;
  return new Cls(e.message || e.code || "unknown error", { code: e.code, number: e.number, hint: e.hint });
}

/** Standard base64 of bytes; chunked to stay under the engine's argument limit. */
export function bytesToBase64(bytes) {
  let bin = "";
  for (let i = 0; i < bytes.length; i += 0x8000) bin += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  return btoa(bin);
}

/** Bytes of standard base64. */
export function base64ToBytes(b64) {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * A WASI random_get that only ever uses crypto.getRandomValues and fails
 * closed without it (the shim's own falls back to Math.random).
 * @param {() => WebAssembly.Memory} memory looked up per call: memory grows
 */
export function secureRandomGet(memory) {
  return (ptr, len) => {
    const c = globalThis.crypto;
    if (typeof c?.getRandomValues !== "function") return 52; // ENOSYS
    const buf = new Uint8Array(memory().buffer, ptr >>> 0, len >>> 0);
    for (let i = 0; i < buf.length; i += 65536) c.getRandomValues(buf.subarray(i, i + 65536));
    return 0;
  };
}

/**
 * A WASI poll_oneoff that sleeps, blocking the thread, where the shim's
 * spins: the module sleeps so while it waits for another process to
 * release the vault's read lock, and a spinning wait would take a core from
 * the very process it waits for. Only a poll on one relative clock is
 * handled (all the Go runtime sleeps with); anything else, and a thread
 * that may not block (a browser's main thread), gets the shim's `poll`.
 * @param {() => WebAssembly.Memory} memory looked up per call: memory grows
 */
export function sleepingPollOneoff(memory, poll) {
  let cell = null;
  return (inPtr, outPtr, n, neventsPtr) => {
    const sub = new DataView(memory().buffer, inPtr >>> 0, 48);
    // tag 0 is a clock; flag 1 an absolute time.
    if (n !== 1 || sub.getUint8(8) !== 0 || sub.getUint16(40, true) & 1) return poll(inPtr, outPtr, n, neventsPtr);
    const ns = sub.getBigUint64(24, true);
    const userdata = sub.getBigUint64(0, true);
    if (ns === 0n) return poll(inPtr, outPtr, n, neventsPtr);
    try {
      cell ??= new Int32Array(new SharedArrayBuffer(4));
      Atomics.wait(cell, 0, 0, Number(ns) / 1e6);
    } catch {
      return poll(inPtr, outPtr, n, neventsPtr);
    }
    const ev = new DataView(memory().buffer, outPtr >>> 0, 32);
    ev.setBigUint64(0, userdata, true);
    ev.setUint16(8, 0, true); // no error
    ev.setUint8(10, 0); // a clock event
    new DataView(memory().buffer).setUint32(neventsPtr >>> 0, 1, true);
    return 0;
  };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// Host errors by errno; a host may also throw {kind, message}.
const ERRNO_KINDS = { ENOENT: "not_found", ENOTDIR: "not_dir", EACCES: "permission", EPERM: "permission", EEXIST: "exists" };

// The host ops of docs/wasm-abi.md: a host object has a method per op,
// taking the request. One it lacks (the browser has no git and cannot
// write) is answered with a failure.
const HOST_OPS = new Set(["lstat", "read", "readdir", "git", "mkdir", "rename", "remove_all", "write", "create"]);

/**
 * The answer to one host request: a status byte, then the file's bytes for
 * read, JSON otherwise. Nothing the host throws reaches the module. A byte
 * array the host returns is zeroed once copied (it may be a key file).
 */
export function serveHost(host, reqBytes) {
  let status = 0;
  let payload;
  try {
    const req = JSON.parse(decoder.decode(reqBytes));
    if (!HOST_OPS.has(req.op)) throw { kind: "other", message: `unknown host op ${String(req.op).slice(0, 40)}` };
    if (typeof host[req.op] !== "function") throw { kind: "other", message: `${req.op} is not available here` };
    payload = host[req.op](req) ?? {};
  } catch (e) {
    status = 1;
    payload = { error: e?.kind ?? ERRNO_KINDS[e?.code] ?? "other", message: String(e?.message ?? e) };
  }
  const bytes = payload instanceof Uint8Array ? payload : encoder.encode(JSON.stringify(payload));
  const out = new Uint8Array(bytes.length + 1);
  out[0] = status;
  out.set(bytes, 1);
  bytes.fill(0);
  return out;
}

/**
 * A fresh, initialised instance of `compiled` whose host imports `host`
 * serves. `shim` is the pinned @bjorn3/browser_wasi_shim; `log` gets the
 * module's stderr (a Go crash report: the module never prints secrets).
 * @returns {WasmVault}
 */
export function instantiate(compiled, { shim, host, log = () => {}, onWarning = () => {} }) {
  const out = shim.ConsoleStdout.lineBuffered(log);
  const stdin = new shim.OpenFile(new shim.File(new Uint8Array(0)));
  const wasi = new shim.WASI([], [], [stdin, out, out], { debug: false });
  let memory = null;
  wasi.wasiImport.random_get = secureRandomGet(() => memory);
  wasi.wasiImport.poll_oneoff = sleepingPollOneoff(() => memory, wasi.wasiImport.poll_oneoff);
  // host_call keeps its answer and host_result copies it, so the host
  // never calls into the module while the module is calling it.
  let pending = null;
  const agent_vault = {
    host_call(ptr, len) {
      pending = serveHost(host, new Uint8Array(memory.buffer, ptr >>> 0, len >>> 0).slice());
      return pending.length;
    },
    host_result(ptr) {
      new Uint8Array(memory.buffer, ptr >>> 0, pending.length).set(pending);
      pending.fill(0);
      pending = null;
    },
  };
  let instance;
  try {
    instance = new WebAssembly.Instance(compiled, { wasi_snapshot_preview1: wasi.wasiImport, agent_vault });
  } catch (e) {
    if (!(e instanceof WebAssembly.LinkError)) throw e;
    throw new VaultError(`agent_vault.wasm does not fit this binding (ABI ${ABI_VERSION}): ${e.message}`, {
      hint: MATCH,
    });
  }
  memory = instance.exports.memory;
  wasi.initialize(instance);
  return new WasmVault(instance.exports, onWarning);
}

const MATCH = "install matching versions of the package and agent_vault.wasm";
const GET_HEAD = encoder.encode('{"ok":true,"result":{"value":"');
const GET_TAIL = encoder.encode('"}}');
const framed = (b) =>
  b.length >= GET_HEAD.length + GET_TAIL.length &&
  GET_HEAD.every((c, i) => b[i] === c) &&
  GET_TAIL.every((c, i) => b[b.length - GET_TAIL.length + i] === c);

/** One module instance: requests in, results out, errors as classes, warnings to `onWarning`. */
export class WasmVault {
  /** @param {WebAssembly.Exports} ex an initialised instance's exports @param {(msg: string) => void} [onWarning] */
  constructor(ex, onWarning = () => {}) {
    for (const name of ["memory", "av_abi_version", "av_alloc", "av_free", "av_call"]) {
      if (!ex || !(name in ex)) throw new VaultError(`not an agent-vault module: missing export ${name}`);
    }
    const abi = ex.av_abi_version();
    if (abi !== ABI_VERSION) {
      const msg = `agent_vault.wasm speaks ABI version ${abi}, but this binding needs ${ABI_VERSION}`;
      throw new VaultError(msg, { hint: MATCH });
    }
    this.ex = ex;
    this.onWarning = onWarning;
    /** True once the module trapped: the instance must then be replaced. */
    this.broken = false;
  }

  /** Sends a request and returns a copy of the response. The request bytes are zeroed (they may
   * hold a key), and freeing the guest's response zeroes it (it may hold a secret). */
  raw(request) {
    if (this.broken) throw new VaultError("the agent-vault module crashed earlier; open the vault again");
    const ex = this.ex;
    const req = encoder.encode(JSON.stringify(request));
    try {
      const p = ex.av_alloc(req.length) >>> 0;
      if (p === 0) throw new VaultError("agent-vault module could not allocate a request buffer");
      let packed;
      try {
        new Uint8Array(ex.memory.buffer, p, req.length).set(req);
        packed = BigInt.asUintN(64, BigInt(ex.av_call(p, req.length)));
      } finally {
        ex.av_free(p);
      }
      if (packed === 0n) throw new VaultError("agent-vault module rejected the request buffer");
      const rp = Number(packed >> 32n);
      // memory.buffer only now: the call may have grown memory.
      const resp = new Uint8Array(ex.memory.buffer, rp, Number(packed & 0xffffffffn)).slice();
      ex.av_free(rp);
      return resp;
    } catch (e) {
      if (!(e instanceof WebAssembly.RuntimeError)) throw e;
      this.broken = true; // a trap leaves the Go runtime in an unknown state
      throw new VaultError(`the agent-vault module crashed: ${e.message}`, { hint: "this is a bug; please report it" });
    } finally {
      req.fill(0);
    }
  }

  /** Sends a request and returns its result; shows its warnings, throws its error. */
  call(request) {
    const resp = this.raw(request);
    try {
      return this.#unwrap(JSON.parse(decoder.decode(resp)));
    } finally {
      resp.fill(0);
    }
  }

  #unwrap(env) {
    for (const w of env?.warnings ?? []) this.onWarning(String(w));
    if (env?.ok === true) return env.result;
    throw errorFromEnvelope(env?.error);
  }

  /** Opens a vault with the `open` fields of docs/wasm-abi.md: {handle, identity, recipient, dir}. */
  open(fields) {
    return this.call({ ...fields, op: "open" });
  }

  /** Decrypts one secret, binary-safe. A plain success is sliced, not parsed: parsing copies the secret. */
  get(handle, secret) {
    const resp = this.raw({ op: "get", handle, secret });
    try {
      if (framed(resp)) return base64ToBytes(decoder.decode(resp.subarray(GET_HEAD.length, -GET_TAIL.length)));
      return base64ToBytes(this.#unwrap(JSON.parse(decoder.decode(resp))).value);
    } finally {
      resp.fill(0);
    }
  }
}
