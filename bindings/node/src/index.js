// agent-vault for Node.js: read secrets from an agent-vault repository.
// Every rule (key resolution, paths, metadata, crypto) lives in the Go core,
// compiled to agent_vault.wasm; this file only wires files, Git and errors.

import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { instantiate, MOUNT } from "./runtime.js";
import { Repo, ensureClone } from "./git.js";
import { InvalidInputError } from "./glue.js";

export {
  ABI_VERSION,
  VaultError,
  VaultNotFoundError,
  SecretNotFoundError,
  NotAuthorizedError,
  InvalidKeyError,
  InvalidInputError,
  CorruptVaultError,
  ConflictError,
} from "./glue.js";

const decoder = new TextDecoder("utf-8", { fatal: true });

function defaultWarn(message) {
  process.stderr.write(`agent-vault: warning: ${message}\n`);
}

function toDate(s) {
  return s ? new Date(s) : undefined;
}

/**
 * An agent-vault repository opened with one identity. Reads are served by
 * a private WebAssembly instance; calls on it are synchronous, so they
 * never interleave, and Git pulls are shared by concurrent gets.
 */
export class Vault {
  /**
   * @param {object} [options]
   * @param {string} [options.repoPath] a local directory or a Git URL (default: the current directory)
   * @param {string} [options.keyPath] an explicit key file
   * @param {string} [options.keyString] an explicit AGE-SECRET-KEY-1... string
   * @param {boolean} [options.metadataOnly] open without any key: list, agents, groups and check work, get does not
   * @param {boolean} [options.autoPull] fast-forward from the upstream before each get (default true)
   * @param {number} [options.pullInterval] seconds between pulls (default 0: before every get)
   * @param {(message: string) => void} [options.onWarning] where warnings go (default: stderr)
   */
  constructor(options = {}) {
    const {
      repoPath = process.cwd(),
      keyPath,
      keyString,
      metadataOnly = false,
      autoPull = true,
      pullInterval = 0,
      onWarning = defaultWarn,
    } = options;
    this.pullInterval = pullInterval;
    this._lastPull = -Infinity;
    this._metadataOnly = metadataOnly;
    this.autoPull = autoPull;
    this._warn = onWarning;
    this._home = os.homedir();
    this._keySpec = { home: this._home };
    if (keyPath) this._keySpec.path = keyPath;
    if (keyString) this._keySpec.text = keyString;
    if (process.env.AGENT_VAULT_KEY) this._keySpec.env = process.env.AGENT_VAULT_KEY;

    const { vault, preopen } = instantiate();
    this._wasm = vault;
    const loc = vault.locate(repoPath, this._home);
    if (loc.remote) ensureClone(loc.remote, loc.dir);
    this.path = path.resolve(loc.dir);
    preopen.mount(this.path);
    this._repo = Repo.for(this.path);
    // The HEAD this Vault's handle reflects; learnt at the first pull.
    this._head = null;
    this._offline = false;
    this._handle = this._open();
  }

  /** The identity the vault was opened with: "owner", an agent name, or "". */
  get identity() {
    return this._identity;
  }

  /** The age recipient (public key) of the identity in use. */
  get recipient() {
    return this._recipient;
  }

  /** @private */
  _open() {
    const w = this._wasm;
    if (this._metadataOnly) {
      this._identity = "";
      this._recipient = "";
      return w.open({ root: MOUNT }).handle;
    }
    const choice = w.resolveKey(this._keySpec);
    let keyFile;
    if (choice.path) {
      try {
        keyFile = fs.readFileSync(choice.path);
      } catch {
        // Core reports the missing or unreadable key with the right code.
      }
    }
    try {
      const r = w.open({ root: MOUNT, key: this._keySpec, keyFile });
      this._identity = r.identity ?? "";
      this._recipient = r.recipient ?? "";
      return r.handle;
    } finally {
      keyFile?.fill(0);
    }
  }

  /** @private */
  _live() {
    if (this._wasm === null) throw new InvalidInputError("the vault is closed", { hint: "open a new Vault" });
    if (this._wasm.broken) {
      // The module trapped: start over in a fresh instance.
      this._wasm = instantiate({ dir: this.path }).vault;
      this._handle = this._open();
    }
    return this._wasm;
  }

  /**
   * Pulls (sharing any pull already running on this working copy) and
   * re-opens the vault when HEAD moved, so new policy and ciphertext are seen.
   * @private
   */
  async _sync() {
    const now = performance.now();
    if (now - this._lastPull < this.pullInterval * 1000) return;
    this._lastPull = now;
    let warned = false;
    const heads = await this._repo.pull((msg) => {
      warned = true;
      // Once per outage, not once per get.
      if (!this._offline) this._warn(msg);
    });
    this._offline = warned;
    if (heads === null || this._wasm === null) return;
    const base = this._head ?? heads.before;
    if (heads.after !== base) {
      const old = this._handle;
      this._handle = this._open();
      this._wasm.close(old);
    }
    this._head = heads.after;
  }

  /**
   * Pulls from the upstream now (whatever `autoPull` and `pullInterval`
   * say) and re-opens the vault if HEAD moved. The listing methods are
   * synchronous and never pull; call this first to list the latest state.
   * @returns {Promise<void>}
   */
  async refresh() {
    this._live();
    this._lastPull = -Infinity;
    await this._sync();
  }

  /**
   * Decrypts a secret and returns its value as bytes.
   * @param {string} name e.g. "stripe/api-key"
   * @returns {Promise<Uint8Array>}
   */
  async getBytes(name) {
    this._live();
    if (this.autoPull) await this._sync();
    return this._live().get(this._handle, name);
  }

  /**
   * Decrypts a secret and returns it as a UTF-8 string.
   * @param {string} name
   * @returns {Promise<string>}
   */
  async get(name) {
    const bytes = await this.getBytes(name);
    try {
      return decoder.decode(bytes);
    } catch {
      throw new InvalidInputError(`secret ${name} is not valid UTF-8; use getBytes()`);
    } finally {
      bytes.fill(0);
    }
  }

  /**
   * Secret metadata (no values), sorted by name.
   * @param {string} [group] only secrets of this group
   */
  listSecrets(group) {
    return this._live()
      .list(this._handle, group)
      .map((s) => ({
        name: s.name,
        group: s.group,
        created: toDate(s.created),
        rotated: toDate(s.rotated),
        expires: toDate(s.expires),
        authorizedAgents: s.authorized_agents ?? [],
      }));
  }

  /** Agents in manifest order. */
  listAgents() {
    return this._live()
      .agents(this._handle)
      .map((a) => ({ name: a.name, groups: a.groups ?? [], publicKey: a.public_key, hasEscrow: !!a.has_escrow }));
  }

  /** Groups with their secrets and agents. */
  listGroups() {
    return this._live()
      .groups(this._handle)
      .map((g) => ({ name: g.name, secrets: g.secrets ?? [], agents: g.agents ?? [] }));
  }

  /**
   * Consistency findings (expired secrets, half-done changes, ...).
   * @param {{now?: Date}} [options]
   */
  check({ now } = {}) {
    return this._live().check(this._handle, now ? now.toISOString().replace(/\.\d{3}Z$/, "Z") : undefined);
  }

  /** Releases the instance. Further calls throw. */
  close() {
    if (this._wasm === null) return;
    try {
      this._wasm.close(this._handle);
    } finally {
      this._wasm = null;
    }
  }
}

if (typeof Symbol.dispose === "symbol") {
  Vault.prototype[Symbol.dispose] = Vault.prototype.close;
}
