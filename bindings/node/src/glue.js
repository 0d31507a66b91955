// Environment-agnostic glue between JavaScript and the agent-vault
// WebAssembly module (docs/wasm-abi.md). The browser page (bindings/web)
// imports this file unchanged, so it must stay free of Node-only APIs:
// no node: imports, no process, no fs, no Buffer.
//
// The caller instantiates the module with a WASI implementation, runs
// `_initialize`, and hands the instance (or its exports) to `WasmVault`.

/** The ABI version this glue speaks; a module reporting another is refused. */
export const ABI_VERSION = 1;

/** Base class of every agent-vault error; `.code` is the stable code of DESIGN.md §5. */
export class VaultError extends Error {
  /** The code and number a class carries unless told otherwise. */
  static code = "internal";
  static number = 1;

  /**
   * @param {string} message
   * @param {{code?: string, number?: number, hint?: string}} [details]
   */
  constructor(message, details = {}) {
    super(message);
    this.name = new.target.name;
    /** Stable error code, e.g. "secret_not_found". */
    this.code = details.code ?? new.target.code;
    /** Stable numeric code (the CLI's exit status). */
    this.number = details.number ?? new.target.number;
    /** A suggestion for the user; may be empty. */
    this.hint = details.hint ?? "";
  }
}

/** No `.agent-vault/` at the path, or no key configured. */
export class VaultNotFoundError extends VaultError {
  static code = "vault_not_found";
  static number = 3;
}
/** No such secret path. */
export class SecretNotFoundError extends VaultError {
  static code = "secret_not_found";
  static number = 4;
}
/** This identity is not a recipient of the secret. */
export class NotAuthorizedError extends VaultError {
  static code = "not_authorized";
  static number = 5;
}
/** Key text or key file unusable. */
export class InvalidKeyError extends VaultError {
  static code = "invalid_key";
  static number = 6;
}
/** Bad name, path, date or flag. */
export class InvalidInputError extends VaultError {
  static code = "invalid_input";
  static number = 2;
}
/** Malformed YAML, truncated or tampered ciphertext. */
export class CorruptVaultError extends VaultError {
  static code = "corrupt_vault";
  static number = 7;
}
/** Lock held, divergent Git history, file changed underneath. */
export class ConflictError extends VaultError {
  static code = "conflict";
  static number = 8;
}

/** Maps each stable error code to its class. */
export const ERROR_CLASSES = Object.freeze({
  internal: VaultError,
  invalid_input: InvalidInputError,
  vault_not_found: VaultNotFoundError,
  secret_not_found: SecretNotFoundError,
  not_authorized: NotAuthorizedError,
  invalid_key: InvalidKeyError,
  corrupt_vault: CorruptVaultError,
  conflict: ConflictError,
});

/**
 * Builds the right error class from a response's `error` object
 * (`{code, number, message, hint}`). Unknown codes become a plain VaultError
 * that still carries the code, so a newer module degrades gracefully.
 * @param {{code?: string, number?: number, message?: string, hint?: string}} err
 * @returns {VaultError}
 */
export function errorFromEnvelope(err) {
  const e = err ?? {};
  const Cls = ERROR_CLASSES[e.code] ?? VaultError;
  return new Cls(e.message || e.code || "unknown error", {
    code: e.code ?? Cls.code,
    number: e.number ?? Cls.number,
    hint: e.hint ?? "",
  });
}

// Base64 without Buffer: atob/btoa exist in browsers and in Node >= 16.
// Work in chunks so String.fromCharCode never gets too many arguments.
const CHUNK = 0x8000;

/**
 * Encodes bytes as standard base64.
 * @param {Uint8Array} bytes
 * @returns {string}
 */
export function bytesToBase64(bytes) {
  let bin = "";
  for (let i = 0; i < bytes.length; i += CHUNK) {
    bin += String.fromCharCode.apply(null, bytes.subarray(i, i + CHUNK));
  }
  return btoa(bin);
}

/**
 * Decodes standard base64 into bytes.
 * @param {string} b64
 * @returns {Uint8Array}
 */
export function base64ToBytes(b64) {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

/**
 * A WASI `random_get` that only ever uses `crypto.getRandomValues` (a
 * CSPRNG) and fails closed without it. Some shims fall back to Math.random
 * when `crypto` is missing; install this over theirs:
 * `wasi.wasiImport.random_get = secureRandomGet(() => wasi.inst.exports.memory)`.
 * @param {() => WebAssembly.Memory} memory the instance's memory, looked up per call
 * @returns {(ptr: number, len: number) => number} WASI errno (0 on success)
 */
export function secureRandomGet(memory) {
  return (ptr, len) => {
    const c = globalThis.crypto;
    if (!c || typeof c.getRandomValues !== "function") return 52; // ENOSYS
    const buf = new Uint8Array(memory().buffer, ptr >>> 0, len >>> 0);
    // getRandomValues fills at most 65536 bytes per call.
    for (let i = 0; i < buf.length; i += 65536) c.getRandomValues(buf.subarray(i, i + 65536));
    return 0;
  };
}

/**
 * Hardens a @bjorn3/browser_wasi_shim WASI object, the same way in Node and
 * in the browser: random_get may only reach crypto.getRandomValues (the
 * shim would fall back to Math.random), and closed fd slots are trimmed
 * (the shim never reuses them, so a long-lived instance would grow its
 * table by one entry per file read). Call before instantiating.
 * @param {any} wasi a WASI instance from the shim, created with {debug: false}
 */
export function hardenWasi(wasi) {
  wasi.wasiImport.random_get = secureRandomGet(() => wasi.inst.exports.memory);
  const closeFd = wasi.wasiImport.fd_close;
  wasi.wasiImport.fd_close = (fd) => {
    const ret = closeFd(fd);
    while (wasi.fds.length > 4 && wasi.fds[wasi.fds.length - 1] === undefined) wasi.fds.pop();
    return ret;
  };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();
const GET_HEAD = encoder.encode('{"ok":true,"result":{"value":"');

function hasPrefix(bytes, prefix) {
  if (bytes.length < prefix.length) return false;
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false;
  return true;
}

// Returns an envelope's result, or throws its error as the mapped class.
function unwrap(env) {
  if (env && env.ok === true) return env.result;
  throw errorFromEnvelope(env && env.error);
}

/**
 * One instantiated agent-vault module. Calls are synchronous and the
 * instance is single-threaded, so one WasmVault must not be re-entered;
 * JavaScript's run-to-completion model guarantees that for synchronous use.
 */
export class WasmVault {
  /**
   * @param {WebAssembly.Instance | WebAssembly.Exports} instanceOrExports an
   *   instance whose `_initialize` has already run, or its exports.
   */
  constructor(instanceOrExports) {
    const ex = instanceOrExports instanceof WebAssembly.Instance
      ? instanceOrExports.exports
      : instanceOrExports;
    for (const name of ["memory", "av_abi_version", "av_alloc", "av_free", "av_call"]) {
      if (!ex || !(name in ex)) {
        throw new VaultError(`not an agent-vault module: missing export ${name}`);
      }
    }
    const abi = ex.av_abi_version();
    if (abi !== ABI_VERSION) {
      throw new VaultError(
        `agent-vault module speaks ABI version ${abi}, but this binding needs ${ABI_VERSION}; ` +
          "install matching versions of the package and agent_vault.wasm",
      );
    }
    /** @private */
    this.ex = ex;
    /** True once the module trapped; the instance must then be replaced. */
    this.broken = false;
  }

  /**
   * Sends one request and returns its `result`, or throws the mapped error.
   * The guest response buffer is freed (and so zeroed) before returning.
   * @param {object} request
   * @returns {any}
   */
  call(request) {
    const req = encoder.encode(JSON.stringify(request));
    let resp;
    try {
      resp = this.callRaw(req);
    } finally {
      // The request may carry key material (key_file, identities).
      req.fill(0);
    }
    try {
      return unwrap(JSON.parse(decoder.decode(resp)));
    } finally {
      resp.fill(0);
    }
  }

  /**
   * Low-level call: writes request bytes and returns a copy of the response
   * envelope. The guest's response buffer is freed, which zeroes it.
   * @private
   * @param {Uint8Array} req
   * @returns {Uint8Array}
   */
  callRaw(req) {
    if (this.broken) throw new VaultError("the agent-vault module instance crashed earlier; open the vault again");
    try {
      return this.exchange(req);
    } catch (e) {
      if (!(e instanceof WebAssembly.RuntimeError)) throw e;
      // A trap leaves the Go runtime in an unknown state.
      this.broken = true;
      throw new VaultError(`the agent-vault module crashed: ${e.message}`, { hint: "this is a bug; please report it" });
    }
  }

  /** @private */
  exchange(req) {
    const ex = this.ex;
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
    const rl = Number(packed & 0xffffffffn);
    // Read memory.buffer only now: the call may have grown memory.
    const resp = new Uint8Array(ex.memory.buffer, rp, rl).slice();
    ex.av_free(rp);
    return resp;
  }

  /** @returns {{abi: number, version: string}} */
  version() {
    return this.call({ op: "version" });
  }

  /**
   * Applies core's key resolution rule.
   * @param {{path?: string, text?: string, env?: string, home?: string}} key
   * @returns {{source: "explicit"|"env"|"default", path?: string}}
   */
  resolveKey(key) {
    return this.call({ op: "resolve_key", key });
  }

  /**
   * Where a repository lives: a local dir, or a cache clone dir plus the URL.
   * @param {string} repo
   * @param {string} [home]
   * @returns {{dir: string, remote?: string}}
   */
  locate(repo, home) {
    return this.call({ op: "locate", repo, home });
  }

  /**
   * Opens the vault mounted at `root`. Without `key` it opens for metadata only.
   * @param {{root: string, key?: object, keyFile?: Uint8Array}} opts
   * @returns {{handle: number, recipient?: string, identity?: string}}
   */
  open({ root, key, keyFile }) {
    const req = { op: "open", root };
    if (key) req.key = key;
    if (keyFile) req.key_file = bytesToBase64(keyFile);
    return this.call(req);
  }

  /** @param {number} handle */
  close(handle) {
    this.call({ op: "close", handle });
  }

  /**
   * Decrypts one secret.
   * @param {number} handle
   * @param {string} secret
   * @returns {Uint8Array} the plaintext, binary-safe
   */
  get(handle, secret) {
    const req = encoder.encode(JSON.stringify({ op: "get", handle, secret }));
    const resp = this.callRaw(req);
    try {
      // A successful get is exactly {"ok":true,"result":{"value":"<b64>"}};
      // slicing the base64 out avoids a JSON parse that would copy the
      // secret once more. Anything else goes through the general path.
      const n = resp.length;
      const tailOk = n >= GET_HEAD.length + 3 && resp[n - 3] === 0x22 && resp[n - 2] === 0x7d && resp[n - 1] === 0x7d;
      if (tailOk && hasPrefix(resp, GET_HEAD)) {
        return base64ToBytes(decoder.decode(resp.subarray(GET_HEAD.length, resp.length - 3)));
      }
      return base64ToBytes(unwrap(JSON.parse(decoder.decode(resp))).value);
    } finally {
      resp.fill(0);
    }
  }

  /**
   * Secret metadata, sorted by name.
   * @param {number} handle
   * @param {string} [group]
   */
  list(handle, group) {
    const req = { op: "list", handle };
    if (group) req.group = group;
    return this.call(req).secrets;
  }

  /** @param {number} handle */
  agents(handle) {
    return this.call({ op: "agents", handle }).agents;
  }

  /** @param {number} handle */
  groups(handle) {
    return this.call({ op: "groups", handle }).groups;
  }

  /**
   * Consistency findings.
   * @param {number} handle
   * @param {string} [now] RFC 3339 reference time
   */
  check(handle, now) {
    const req = { op: "check", handle };
    if (now) req.now = now;
    return this.call(req).findings;
  }

  /**
   * Raw age decryption (binary or armored).
   * @param {{identities?: string[], passphrases?: string[], ciphertext: Uint8Array}} opts
   * @returns {Uint8Array}
   */
  decrypt({ identities = [], passphrases = [], ciphertext }) {
    const r = this.call({
      op: "decrypt",
      identities,
      passphrases,
      ciphertext: bytesToBase64(ciphertext),
    });
    return base64ToBytes(r.plaintext);
  }
}
