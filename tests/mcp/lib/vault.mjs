// Builds a throwaway vault with the real CLI (bin/agent-vault) in a
// temporary HOME, with a real Git repository and a bare remote, the way an
// operator would. Values are random per run, so no test can pass by
// matching a constant.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const binDir = join(root, 'bin');

/** Fails the run at once when the binaries were not built. */
export function requireBinaries() {
  for (const name of ['agent-vault', 'agent-vault-mcp']) {
    if (!existsSync(join(binDir, name))) {
      throw new Error(`missing ${join(binDir, name)}: run 'make build' first`);
    }
  }
}

/** A fresh workspace: temp HOME, Git identity, and the environment every child gets. */
export function workspace() {
  const dir = mkdtempSync(join(tmpdir(), 'agent-vault-mcp-test-'));
  const home = join(dir, 'home');
  mkdirSync(home);
  const gitconfig = join(dir, 'gitconfig');
  writeFileSync(gitconfig, '[user]\n\tname = mcp-test\n\temail = mcp-test@localhost\n[init]\n\tdefaultBranch = main\n');
  const env = {
    PATH: `${binDir}:${process.env.PATH}`,
    HOME: home,
    GIT_CONFIG_GLOBAL: gitconfig,
    GIT_CONFIG_NOSYSTEM: '1',
  };
  return { dir, home, env };
}

function run(cmd, args, { cwd, env, input }) {
  try {
    return execFileSync(cmd, args, { cwd, env, input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
  } catch (err) {
    // CLI and git messages never carry values, so they are safe to show.
    throw new Error(`${cmd} ${args.join(' ')} failed (exit ${err.status}): ${err.stderr}`);
  }
}

/** A random value that looks like a credential. */
export function secretValue(prefix) {
  return `${prefix}_${randomBytes(16).toString('hex')}`;
}

/**
 * Creates the vault: agent "claude" granted group stripe only, secrets in
 * stripe (one nested, one multi-line) and in postgres, pushed to a bare remote.
 */
export function buildVault(ws) {
  const repo = join(ws.dir, 'repo');
  const remote = join(ws.dir, 'remote.git');
  const av = (args, input) => run(join(binDir, 'agent-vault'), args, { cwd: repo, env: ws.env, input });
  const git = (args, cwd = repo) => run('git', args, { cwd, env: ws.env });

  git(['init', '--quiet', '--bare', remote], ws.dir);
  mkdirSync(repo);
  git(['init', '--quiet']);
  av(['init']);
  av(['add-agent', 'claude']);
  const values = {
    'stripe/api-key': secretValue('sk_test'),
    'stripe/live/api-key': secretValue('sk_live'),
    'stripe/cert': `-----BEGIN CERTIFICATE-----\n${randomBytes(48).toString('base64')}\n-----END CERTIFICATE-----\n`,
    'postgres/conn': `postgres://app:${randomBytes(8).toString('hex')}@localhost/app`,
  };
  for (const [path, value] of Object.entries(values)) {
    av(['set', path, '-'], value);
  }
  av(['grant', 'claude', 'stripe']);
  git(['remote', 'add', 'origin', remote]);
  git(['push', '--quiet', '--set-upstream', 'origin', 'main']);

  return {
    repo,
    remote,
    values,
    keyFile: join(ws.home, '.agent-vault', 'agents', 'claude.key'),
    /** Sets a secret as the owner and pushes it, as a later rotation would. */
    publish(path, value) {
      av(['set', path, '-'], value);
      git(['push', '--quiet']);
      values[path] = value;
    },
  };
}
