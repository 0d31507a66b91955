// Reads the MCP configuration snippets users copy from the README (or,
// until the README has the section, docs/mcp.md), so the tests run exactly
// what the documentation tells people to run.
import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';

export const HEADING = '## MCP server';
export const REPO_PLACEHOLDER = '/path/to/secrets-repo';
export const AUDIT_PLACEHOLDER = '/path/to/agent-vault-audit.jsonl';

/** The text under `## MCP server` up to the next level-2 heading, or null. */
export function section(markdown) {
  const lines = markdown.split('\n');
  const start = lines.findIndex((l) => l.trim() === HEADING);
  if (start < 0) return null;
  const rest = lines.slice(start + 1);
  const end = rest.findIndex((l) => /^##\s/.test(l));
  return rest.slice(0, end < 0 ? undefined : end).join('\n');
}

/** Every ```json block of a section, parsed. */
export function jsonBlocks(text) {
  return [...text.matchAll(/^```json\s*\n([\s\S]*?)^```/gm)].map((m) => JSON.parse(m[1]));
}

/**
 * Finds the section (the README's when it holds snippets) and returns { source, desktop, code }: the server entries
 * of the Claude Desktop snippet (command agent-vault-mcp) and the Claude Code
 * snippet (agent-vault mcp).
 */
export function loadSnippets(root) {
  for (const file of ['README.md', join('docs', 'mcp.md')]) {
    const path = join(root, file);
    if (!existsSync(path)) continue;
    const text = section(readFileSync(path, 'utf8'));
    const blocks = text === null ? [] : jsonBlocks(text);
    // A heading with no snippets under it is a placeholder, not the section.
    if (blocks.length === 0) continue;
    const servers = blocks.map((cfg) => cfg?.mcpServers?.['agent-vault']);
    const desktop = servers.filter((s) => s?.command === 'agent-vault-mcp');
    const code = servers.filter((s) => s?.command === 'agent-vault' && s.args?.[0] === 'mcp');
    if (desktop.length !== 1 || code.length !== 1) {
      throw new Error(`${file}: expected one agent-vault-mcp and one "agent-vault mcp" snippet under "${HEADING}", found ${desktop.length} and ${code.length}`);
    }
    return { source: file, desktop: desktop[0], code: code[0] };
  }
  throw new Error(`no "${HEADING}" section in README.md or docs/mcp.md`);
}

/**
 * Replaces the placeholders in a snippet's arguments. Every placeholder named
 * in `values` must occur, so a renamed placeholder fails instead of running
 * the server against a path that does not exist. `~/` is left for the server
 * to expand against the test's HOME.
 */
export function substitute(server, values) {
  const args = [...server.args];
  for (const [placeholder, value] of Object.entries(values)) {
    const i = args.indexOf(placeholder);
    if (i < 0) throw new Error(`placeholder ${placeholder} not found in ${JSON.stringify(server.args)}`);
    args[i] = value;
  }
  const left = args.find((a) => a.startsWith('/path/to/'));
  if (left) throw new Error(`unsubstituted placeholder ${left}`);
  return { command: server.command, args, env: server.env ?? {} };
}
