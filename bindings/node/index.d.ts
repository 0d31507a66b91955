// Type declarations for the agent-vault Node package.

/** The WebAssembly ABI version this package speaks. */
export const ABI_VERSION: 1;

/** Stable error codes shared by every agent-vault implementation. */
export type ErrorCode =
  | "internal"
  | "invalid_input"
  | "vault_not_found"
  | "secret_not_found"
  | "not_authorized"
  | "invalid_key"
  | "corrupt_vault"
  | "conflict";

/** Base class of every agent-vault error. */
export class VaultError extends Error {
  constructor(message: string, details?: { code?: ErrorCode; number?: number; hint?: string });
  /** The stable error code. */
  readonly code: ErrorCode;
  /** The stable numeric code (the CLI's exit status). */
  readonly number: number;
  /** A suggestion for the user; may be empty. */
  readonly hint: string;
}
/** No `.agent-vault/` at the path, or no key configured. */
export class VaultNotFoundError extends VaultError {}
/** No such secret path. */
export class SecretNotFoundError extends VaultError {}
/** This identity is not a recipient of the secret. */
export class NotAuthorizedError extends VaultError {}
/** Key text or key file unusable. */
export class InvalidKeyError extends VaultError {}
/** Bad name, path, date or flag. */
export class InvalidInputError extends VaultError {}
/** Malformed YAML, truncated or tampered ciphertext. */
export class CorruptVaultError extends VaultError {}
/** Lock held, divergent Git history, file changed underneath. */
export class ConflictError extends VaultError {}

export interface VaultOptions {
  /** A local directory or a Git URL (https, ssh, git, file). Default: the current directory. */
  repoPath?: string;
  /** An explicit key file; `~` is expanded. */
  keyPath?: string;
  /** An explicit `AGE-SECRET-KEY-1...` string. */
  keyString?: string;
  /** Open without a key: listing and check work, get does not. */
  metadataOnly?: boolean;
  /** Fast-forward from the upstream before each get (default true). */
  autoPull?: boolean;
  /** Seconds between pulls when autoPull is on (default 0: before every get). */
  pullInterval?: number;
  /** Receives warnings (e.g. offline); default: written to stderr. */
  onWarning?: (message: string) => void;
}

/** Metadata of one secret; never its value. */
export interface SecretInfo {
  name: string;
  group: string;
  created: Date;
  rotated: Date;
  expires?: Date;
  authorizedAgents: string[];
}

export interface AgentInfo {
  name: string;
  groups: string[];
  publicKey: string;
  hasEscrow: boolean;
}

export interface GroupInfo {
  name: string;
  secrets: string[];
  agents: string[];
}

export interface Finding {
  severity: "error" | "warning";
  kind: string;
  subject: string;
  message: string;
}

/** An agent-vault repository opened with one identity. */
export class Vault {
  /**
   * Opens a vault. The key is the first of: `keyString`/`keyPath`,
   * `AGENT_VAULT_KEY` (a path or a raw key), `~/.agent-vault/owner.key`.
   */
  constructor(options?: VaultOptions);
  /** The local working copy (for a URL, its cache clone). */
  readonly path: string;
  /** "owner", the agent's name, or "" when the key is not listed. */
  readonly identity: string;
  /** The age recipient of the key in use. */
  readonly recipient: string;
  autoPull: boolean;
  pullInterval: number;
  /**
   * Pulls from the upstream now and re-opens the vault if HEAD moved. The
   * listing methods never pull; call this first to list the latest state.
   */
  refresh(): Promise<void>;
  /** Decrypts a secret as UTF-8 text. */
  get(name: string): Promise<string>;
  /** Decrypts a secret as bytes (binary-safe). */
  getBytes(name: string): Promise<Uint8Array>;
  /** Secret metadata, sorted by name, optionally for one group. */
  listSecrets(group?: string): SecretInfo[];
  /** Agents in manifest order. */
  listAgents(): AgentInfo[];
  /** Groups with their secrets and agents. */
  listGroups(): GroupInfo[];
  /** Consistency findings at `now` (default: the current time). */
  check(options?: { now?: Date }): Finding[];
  /** Releases the instance; further calls throw. */
  close(): void;
}
