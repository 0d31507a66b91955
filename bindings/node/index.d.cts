// Type declarations for the agent-vault Node package, for require() and
// (through index.d.ts) for import: one module serves both.

/** The WebAssembly ABI version this package speaks. */
export declare const ABI_VERSION: 2;

/** Stable error codes shared by every agent-vault implementation. */
export type ErrorCode = "internal" | "invalid_input" | "vault_not_found" | "secret_not_found" | "not_authorized"
  | "invalid_key" | "corrupt_vault" | "conflict" | "untrusted";

/** Base class of every agent-vault error. */
export declare class VaultError extends Error {
  constructor(message: string, details?: { code?: ErrorCode; number?: number; hint?: string });
  /** The stable error code, its number (the CLI's exit status), and a suggestion for the user (may be ""). */
  readonly code: ErrorCode;
  readonly number: number;
  readonly hint: string;
}
/** No `.agent-vault/` at the path, or no key configured. */
export declare class VaultNotFoundError extends VaultError {}
/** No such secret path. */
export declare class SecretNotFoundError extends VaultError {}
/** This identity is not a recipient of the secret. */
export declare class NotAuthorizedError extends VaultError {}
/** Key text or key file unusable. */
export declare class InvalidKeyError extends VaultError {}
/** Bad name, path, date or flag. */
export declare class InvalidInputError extends VaultError {}
/** Malformed YAML, truncated or tampered ciphertext. */
export declare class CorruptVaultError extends VaultError {}
/** Lock held, divergent Git history, no upstream to pull from. */
export declare class ConflictError extends VaultError {}
/** Not covered by a valid owner signature, rolled back, or a pin mismatch. */
export declare class UntrustedError extends VaultError {}
/** The original Node SDK's names for the classes above (the same classes). */
export {
  CorruptVaultError as ManifestError, CorruptVaultError as MetadataError,
  InvalidInputError as InvalidIdentifierError, ConflictError as GitSyncError,
};

export interface VaultOptions {
  /** A local directory or a Git URL (https, ssh, git, file). Default: the vault around the working directory. */
  repoPath?: string;
  /** An explicit key file; `~` is expanded. */ keyPath?: string;
  /** An explicit `AGE-SECRET-KEY-1...` string. */ keyString?: string;
  /** The original SDK's name for `keyString`. */ keyStr?: string;
  /** Open without a key: listing and check work, get does not. */ metadataOnly?: boolean;
  /** Fast-forward from the upstream before each read (default true). */ autoPull?: boolean;
  /** Seconds between pulls when autoPull is on (default 0: before every read). */ pullInterval?: number;
  /** The owner's verification key (avowner1...); default: AGENT_VAULT_OWNER, else the .owner file beside the key file, else trust on first use. */ owner?: string;
  /** A signed state already known; anything older is refused as a rollback. */ seen?: { vault_id: string; version: number };
  /** Receives warnings (e.g. offline); default: written to stderr. */ onWarning?: (message: string) => void;
}

/** Metadata of one secret; never its value. */
export interface SecretMetadata {
  name: string; group: string; createdAt: Date; rotatedAt: Date; expiresAt?: Date; authorizedAgents: string[];
}

/** An agent of the vault. */
export interface AgentInfo { name: string; groups: string[]; publicKey: string; hasEscrow: boolean }
/** A group with its secrets and agents. */
export interface GroupInfo { name: string; secrets: string[]; agents: string[] }
/** One finding of the read-only audit. */
export interface Finding { severity: "error" | "warning"; kind: string; subject: string; message: string }

/** An agent-vault repository opened with one identity. */
export declare class Vault {
  /**
   * Opens a vault. The key is the first of: `keyString`/`keyPath`,
   * `AGENT_VAULT_KEY` (a path or a raw key), `~/.agent-vault/owner.key`.
   */
  constructor(options?: VaultOptions);
  /** The local repository directory (for a URL, the copy in ~/.agent-vault/cache). */ readonly path: string;
  /** "owner", the agent's name, or "" (no key, or a key the vault does not list). */ readonly identity: string;
  /** The age recipient of the key in use, or "". */ readonly recipient: string;
  /** Decrypts a secret as UTF-8 text. */ get(name: string): Promise<string>;
  /** Decrypts a secret as bytes (binary-safe). */ getBytes(name: string): Promise<Uint8Array>;
  /** Metadata of the secrets this key can read (every secret with `all`), sorted by name. */
  listSecrets(group?: string, options?: { all?: boolean }): SecretMetadata[];
  listSecrets(options: { group?: string; all?: boolean }): SecretMetadata[];
  /** Agents in manifest order. */ listAgents(): AgentInfo[];
  /** Groups with their secrets and agents. */ listGroups(): GroupInfo[];
  /** Consistency findings at `now` (default: the current time). */ check(options?: { now?: Date }): Finding[];
  /** Fast-forwards from the upstream now; throws GitSyncError (ConflictError) when it cannot. */ pull(): void;
  /** Re-reads the vault from disk. */ reload(): void;
  /** Releases the module instance; further calls throw. */ close(): void;
}
