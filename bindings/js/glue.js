// The glue between JavaScript and agent_vault.wasm (docs/wasm-abi.md),
// shared by the Node package and the browser page. It must stay free of
// Node-only APIs (no node: imports, process, fs or Buffer). A host object
// gives the module its files and git; the reader inside the module decides
// everything else.

/** The ABI version this glue speaks; a module reporting another is refused. */
export const ABI_VERSION = 2;

/** Base class of every agent-vault error; `.code` and `.number` are the stable codes. */
export class VaultError extends Error {
  static code = "internal";
  static number = 1;

  /**
   * @param {string} message
   * @param {{code?: string, number?: number, hint?: string}} [details]
   */
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

/** Each stable error code's class; the one table every binding maps with. */
export const ERROR_CLASSES = Object.freeze(
  Object.fromEntries(
    [VaultError, InvalidInputError, VaultNotFoundError, SecretNotFoundError, NotAuthorizedError,
      InvalidKeyError, CorruptVaultError, ConflictError, UntrustedError].map((c) => [c.code, c]),
  ),
);

/**
 * The class for an envelope's `error` ({code, number, message, hint}). An
 * unknown code (a newer module) is a plain VaultError that keeps the code.
 * @returns {VaultError}
 */
export function errorFromEnvelope(e = {}) {
  const Cls = ERROR_CLASSES[e.code] ?? VaultError;
  return new Cls(e.message || e.code || "unknown error", { code: e.code, number: e.number, hint: e.hint });
}

// Chunks keep String.fromCharCode under the engine's argument limit.
const CHUNK = 0x8000;

/** Standard base64 of bytes (atob/btoa exist in browsers and Node). */
export function bytesToBase64(bytes) {
  let bin = "";
  for (let i = 0; i < bytes.length; i += CHUNK) bin += String.fromCharCode.apply(null, bytes.subarray(i, i + CHUNK));
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
 * closed without it: the shim would fall back to Math.random.
 * @param {() => WebAssembly.Memory} memory looked up per call (memory grows)
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

const encoder = new TextEncoder();
const decoder = new TextDecoder();

// Host errors by Node errno; any host may also throw {kind, message}.
const ERRNO_KINDS = { ENOENT: "not_found", ENOTDIR: "not_dir", EACCES: "permission", EPERM: "permission" };

// The host ops (docs/wasm-abi.md, "Host imports") as calls on a host object.
// A host without a method (the browser has no git and cannot write)
// answers that op with a failure.
const HOST_OPS = {
  lstat: (h, r) => h.lstat(r.path),
  read: (h, r) => h.read(r.path, r.limit),
  readdir: (h, r) => ({ entries: h.readdir(r.path) }),
  git: (h, r) => h.git(r.dir, r.args ?? []),
  mkdir: (h, r) => h.mkdir(r.path) ?? {},
  rename: (h, r) => h.rename(r.from, r.to) ?? {},
  remove_all: (h, r) => h.removeAll(r.path) ?? {},
  write: (h, r) => {
    const data = base64ToBytes(r.data ?? "");
    try {
      return h.write(r.path, data) ?? {};
    } finally {
      data.fill(0);
    }
  },
};
const HOST_METHODS = { remove_all: "removeAll" };

/**
 * One host answer: a status byte, then the file's bytes for read and JSON
 * otherwise. Nothing thrown by the host reaches the module.
 * @param {object} host
 * @param {Uint8Array} reqBytes
 * @returns {Uint8Array}
 */
export function serveHost(host, reqBytes) {
  let req;
  try {
    req = JSON.parse(decoder.decode(reqBytes));
    const op = HOST_OPS[req.op];
    if (!op) throw { kind: "other", message: `unknown host op ${String(req.op).slice(0, 40)}` };
    if (typeof host[HOST_METHODS[req.op] ?? req.op] !== "function") {
      throw { kind: "other", message: `${req.op} is not available here` };
    }
    const out = op(host, req);
    if (!(out instanceof Uint8Array)) return answer(0, encoder.encode(JSON.stringify(out)));
    try {
      return answer(0, out);
    } finally {
      out.fill(0); // it may be a key file
    }
  } catch (e) {
    const kind = e?.kind ?? ERRNO_KINDS[e?.code] ?? "other";
    const message = String(e?.message ?? e);
    return answer(1, encoder.encode(JSON.stringify({ error: kind, message })));
  }
}

function answer(status, payload) {
  const out = new Uint8Array(payload.length + 1);
  out[0] = status;
  out.set(payload, 1);
  return out;
}

/**
 * A fresh, initialised module instance whose host imports are served by
 * `host`. The instance is single-threaded and its calls are synchronous.
 * @param {WebAssembly.Module} compiled
 * @param {{shim: any, host: object, log?: (line: string) => void, onWarning?: (msg: string) => void}} opts
 *   `shim` is the pinned @bjorn3/browser_wasi_shim module; `log` receives
 *   the module's stderr (a Go crash report; the module never prints secrets).
 * @returns {WasmVault}
 */
export function instantiate(compiled, { shim, host, log = () => {}, onWarning = () => {} }) {
  const out = shim.ConsoleStdout.lineBuffered(log);
  const stdin = new shim.OpenFile(new shim.File(new Uint8Array(0), { readonly: true }));
  const wasi = new shim.WASI([], [], [stdin, out, out], { debug: false });
  let memory = null;
  wasi.wasiImport.random_get = secureRandomGet(() => memory);
  // host_call keeps its answer and host_result copies it, so the host
  // never calls back into the module while the module is calling it.
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
      hint: "install matching versions of the package and agent_vault.wasm",
    });
  }
  memory = instance.exports.memory;
  wasi.initialize(instance);
  return new WasmVault(instance.exports, onWarning);
}

const GET_HEAD = encoder.encode('{"ok":true,"result":{"value":"');
const GET_TAIL = encoder.encode('"}}');

function framed(b) {
  if (b.length < GET_HEAD.length + GET_TAIL.length) return false;
  for (let i = 0; i < GET_HEAD.length; i++) if (b[i] !== GET_HEAD[i]) return false;
  for (let i = 1; i <= GET_TAIL.length; i++) if (b[b.length - i] !== GET_TAIL[GET_TAIL.length - i]) return false;
  return true;
}

/** One module instance: requests in, results out, errors as classes. */
export class WasmVault {
  /**
   * @param {WebAssembly.Exports} ex an initialised instance's exports
   * @param {(msg: string) => void} [onWarning] receives each envelope warning
   */
  constructor(ex, onWarning = () => {}) {
    for (const name of ["memory", "av_abi_version", "av_alloc", "av_free", "av_call"]) {
      if (!ex || !(name in ex)) throw new VaultError(`not an agent-vault module: missing export ${name}`);
    }
    const abi = ex.av_abi_version();
    if (abi !== ABI_VERSION) {
      throw new VaultError(`agent_vault.wasm speaks ABI version ${abi}, but this binding needs ${ABI_VERSION}`, {
        hint: "install matching versions of the package and agent_vault.wasm",
      });
    }
    this.ex = ex;
    this.onWarning = onWarning;
    /** True once the module trapped; the instance must then be replaced. */
    this.broken = false;
  }

  /**
   * Sends one request; returns a copy of the response bytes. The request
   * copy is zeroed (it may hold a key), and freeing the guest's response
   * zeroes it (it may hold a secret).
   * @param {object} request
   * @returns {Uint8Array}
   */
  raw(request) {
    if (this.broken) throw new VaultError("the agent-vault module crashed earlier; open the vault again");
    const req = encoder.encode(JSON.stringify(request));
    const ex = this.ex;
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
      // Read memory.buffer only now: the call may have grown memory.
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

  /** Sends a request; returns its result, shows its warnings, throws its error. */
  call(request) {
    const resp = this.raw(request);
    try {
      return this.unwrap(JSON.parse(decoder.decode(resp)));
    } finally {
      resp.fill(0);
    }
  }

  /** @private */
  unwrap(env) {
    for (const w of env?.warnings ?? []) this.onWarning(String(w));
    if (env?.ok === true) return env.result;
    throw errorFromEnvelope(env?.error);
  }

  /**
   * Opens a vault; `opts` are the open fields of docs/wasm-abi.md.
   * @returns {{handle: number, identity: string, recipient: string, dir: string}}
   */
  open(opts) {
    return this.call({ ...opts, op: "open" });
  }

  /**
   * Decrypts one secret, binary-safe. A plain success is sliced without a
   * JSON parse, which would copy the secret once more.
   * @returns {Uint8Array}
   */
  get(handle, secret) {
    const resp = this.raw({ op: "get", handle, secret });
    try {
      if (framed(resp)) return base64ToBytes(decoder.decode(resp.subarray(GET_HEAD.length, resp.length - GET_TAIL.length)));
      return base64ToBytes(this.unwrap(JSON.parse(decoder.decode(resp))).value);
    } finally {
      resp.fill(0);
    }
  }

  /**
   * Raw age decryption, for the age conformance vectors.
   * @param {{identities?: string[], passphrases?: string[], ciphertext: Uint8Array}} o
   */
  decrypt({ identities = [], passphrases = [], ciphertext }) {
    const r = this.call({ op: "decrypt", identities, passphrases, ciphertext: bytesToBase64(ciphertext) });
    return base64ToBytes(r.plaintext);
  }
}
