// agent-vault for Node.js. The reader (finding, fetching and pulling the
// vault, the key, every rule) runs inside agent_vault.wasm; this file passes
// the user's options to it, maps its errors and shows its warnings.

import { InvalidInputError } from "../shared/glue.js";
import { newInstance } from "./runtime.js";

const os = process.getBuiltinModule("node:os"); // not imported: see runtime.js

export {
  ABI_VERSION, VaultError, VaultNotFoundError, SecretNotFoundError, NotAuthorizedError, InvalidKeyError,
  InvalidInputError, CorruptVaultError, ConflictError, UntrustedError,
  // The original Node SDK's names, as aliases of the classes above.
  CorruptVaultError as ManifestError, CorruptVaultError as MetadataError,
  InvalidInputError as InvalidIdentifierError, ConflictError as GitSyncError,
} from "../shared/glue.js";

const utf8 = new TextDecoder("utf-8", { fatal: true });
const toDate = (s) => (s ? new Date(s) : undefined);
const stderrWarning = (message) => process.stderr.write(`agent-vault: warning: ${message}\n`);

/**
 * An agent-vault repository opened with one identity, in a module instance
 * of its own. Every call runs to completion synchronously, so calls on one
 * Vault never interleave.
 */
export class Vault {
  /** @param {import("../index.d.cts").VaultOptions} [options] */
  constructor(options = {}) {
    const { repoPath = "", keyPath, keyStr, keyString = keyStr, metadataOnly = false, autoPull = true } = options;
    this._warn = options.onWarning ?? stderrWarning;
    this._open = {
      repo: repoPath,
      cwd: process.cwd(),
      home: os.homedir(),
      key: { path: keyPath, text: keyString, env: process.env.AGENT_VAULT_KEY },
      metadata_only: metadataOnly,
      auto_pull: autoPull,
      pull_interval: options.pullInterval ?? 0,
      owner: options.owner ?? process.env.AGENT_VAULT_OWNER ?? "",
      seen: options.seen,
    };
    this._start();
  }

  /** @private Opens the vault in a new instance; sets path, identity and recipient (index.d.cts). */
  _start() {
    this._wasm = newInstance((m) => this._warn(m));
    const r = this._wasm.open(this._open);
    [this._handle, this.path, this.identity, this.recipient] = [r.handle, r.dir, r.identity, r.recipient];
  }

  /** @private */
  _call(op, fields) {
    if (this._wasm === null) throw new InvalidInputError("the vault is closed", { hint: "open a new Vault" });
    if (this._wasm.broken) this._start(); // the module trapped: start over
    if (op === "get") return this._wasm.get(this._handle, fields);
    return this._wasm.call({ ...fields, op, handle: this._handle });
  }

  /** Decrypts a secret as bytes (binary-safe). @returns {Promise<Uint8Array>} */
  async getBytes(name) {
    return this._call("get", name);
  }

  /** Decrypts a secret as UTF-8 text. @returns {Promise<string>} */
  async get(name) {
    const bytes = this._call("get", name);
    try {
      return utf8.decode(bytes);
    } catch {
      throw new InvalidInputError(`secret ${name} is not valid UTF-8`, { hint: "use getBytes()" });
    } finally {
      bytes.fill(0);
    }
  }

  /** Metadata (never values) of the secrets this key can read, sorted by name; `all` lists every secret. */
  listSecrets(group, { all = false } = {}) {
    if (typeof group === "object" && group !== null) ({ group, all = false } = group);
    return this._call("list", { group, all }).secrets.map((s) => ({
      name: s.name,
      group: s.group,
      createdAt: toDate(s.created),
      rotatedAt: toDate(s.rotated),
      expiresAt: toDate(s.expires),
      authorizedAgents: s.authorized_agents ?? [],
    }));
  }

  /** Agents in manifest order. */
  listAgents() {
    return this._call("agents").agents.map((a) => ({
      name: a.name,
      groups: a.groups ?? [],
      publicKey: a.public_key,
      hasEscrow: !!a.has_escrow,
    }));
  }

  /** Groups with their secrets and agents. */
  listGroups() {
    return this._call("agents").groups.map((g) => ({ name: g.name, secrets: g.secrets ?? [], agents: g.agents ?? [] }));
  }

  /** The read-only audit (expired secrets, half-done changes, ...) at `now`. */
  check({ now } = {}) {
    return this._call("check", { now: now?.toISOString().replace(/\.\d{3}Z$/, "Z") }).findings;
  }

  /** Fast-forwards from the upstream now; throws GitSyncError (ConflictError) when it cannot. */
  pull() {
    this._call("pull");
  }

  /** Re-reads the vault from disk. */
  reload() {
    this._call("reload");
  }

  /** Releases the module instance. Further calls throw. */
  close() {
    if (this._wasm === null) return;
    try {
      if (!this._wasm.broken) this._wasm.call({ op: "close", handle: this._handle });
    } finally {
      this._wasm = null;
    }
  }
}

if (typeof Symbol.dispose === "symbol") Vault.prototype[Symbol.dispose] = Vault.prototype.close;
