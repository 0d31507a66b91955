// Renders vault metadata as DOM. Everything shown comes from a repository
// someone else may control, so text only ever goes in through textContent,
// never as HTML.

/**
 * Creates an element. `props` sets properties (className, title, ...) and
 * `dataset`; children are nodes or strings (added as text).
 * @param {string} tag
 * @param {object} [props]
 * @param {...(Node|string|null|undefined|false)} children
 * @returns {HTMLElement}
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  const { dataset, ...rest } = props;
  Object.assign(node, rest);
  Object.assign(node.dataset, dataset ?? {});
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child);
  }
  return node;
}

/** Replaces the children of `node`. */
export function fill(node, ...children) {
  node.replaceChildren(...children.flat().filter((c) => c !== null && c !== undefined && c !== false));
}

/**
 * A date cell: the day in UTC, with the full timestamp on hover.
 * @param {string | undefined} rfc3339
 */
function dateText(rfc3339) {
  if (!rfc3339) return el("span", { className: "muted" }, "—");
  return el("time", { dateTime: rfc3339, title: rfc3339 }, rfc3339.slice(0, 10));
}

function chips(names, emptyText) {
  if (!names?.length) return el("span", { className: "muted" }, emptyText);
  return names.map((n) => el("span", { className: "chip" }, n));
}

/**
 * Expiry status per secret, taken from `check` findings so the rule (what
 * counts as expired or expiring soon) stays in core.
 * @param {{kind: string, subject: string}[]} findings
 * @returns {Map<string, "expired" | "expiring">}
 */
export function expiryStatus(findings) {
  const status = new Map();
  for (const f of findings) {
    if (f.kind === "expired" || f.kind === "expiring") status.set(f.subject, f.kind);
  }
  return status;
}

const STATUS_LABEL = { expired: "expired", expiring: "expires soon" };

/**
 * The secrets table body: one row per secret, each followed by a hidden row
 * that holds the value once revealed.
 * @param {HTMLElement} tbody
 * @param {object[]} secrets from the `list` op
 * @param {Map<string, string>} status from expiryStatus
 */
export function renderSecrets(tbody, secrets, status) {
  const rows = [];
  for (const s of secrets) {
    const state = status.get(s.name);
    rows.push(
      el(
        "tr",
        { className: state ? `secret ${state}` : "secret", dataset: { secret: s.name } },
        el("td", { className: "name" }, el("code", {}, s.name)),
        el("td", {}, el("span", { className: "chip group" }, s.group)),
        el("td", {}, chips(s.authorized_agents, "owner only")),
        el("td", { className: "when" }, dateText(s.rotated)),
        el("td", { className: "when" }, dateText(s.expires), state && el("span", { className: `badge ${state}` }, STATUS_LABEL[state])),
        el(
          "td",
          { className: "actions" },
          el("span", { className: "mask", ariaHidden: "true" }, "••••••••"),
          el("button", { type: "button", className: "small reveal", dataset: { action: "reveal" } }, "Reveal"),
          el("button", { type: "button", className: "small secondary copy", dataset: { action: "copy" } }, "Copy"),
        ),
      ),
      el("tr", { className: "value-row", hidden: true, dataset: { valueOf: s.name } }, el("td", { colSpan: 6 })),
    );
  }
  if (rows.length === 0) rows.push(el("tr", {}, el("td", { colSpan: 6, className: "muted" }, "This vault holds no secrets yet.")));
  fill(tbody, rows);
}

/**
 * @param {HTMLElement} tbody
 * @param {object[]} agents from the `agents` op
 */
export function renderAgents(tbody, agents) {
  fill(
    tbody,
    agents.length
      ? agents.map((a) =>
          el(
            "tr",
            { dataset: { agent: a.name } },
            el("td", { className: "name" }, a.name),
            el("td", {}, chips(a.groups, "no groups")),
            el("td", {}, el("code", { className: "recipient", title: a.public_key }, a.public_key)),
            el("td", {}, a.has_escrow ? "yes" : el("span", { className: "badge warning" }, "missing")),
          ),
        )
      : el("tr", {}, el("td", { colSpan: 4, className: "muted" }, "No agents.")),
  );
}

/**
 * @param {HTMLElement} tbody
 * @param {object[]} groups from the `groups` op
 */
export function renderGroups(tbody, groups) {
  fill(
    tbody,
    groups.length
      ? groups.map((g) =>
          el(
            "tr",
            { dataset: { group: g.name } },
            el("td", { className: "name" }, g.name),
            el("td", {}, chips(g.secrets, "no secrets")),
            el("td", {}, chips(g.agents, "owner only")),
          ),
        )
      : el("tr", {}, el("td", { colSpan: 3, className: "muted" }, "No groups.")),
  );
}

/**
 * @param {HTMLElement} list
 * @param {{severity: string, kind: string, subject: string, message: string}[]} findings
 */
export function renderFindings(list, findings) {
  if (findings.length === 0) {
    fill(list, el("li", { className: "finding ok" }, "No findings: the vault is consistent."));
    return;
  }
  const order = { error: 0, warning: 1 };
  const sorted = [...findings].sort((a, b) => (order[a.severity] ?? 2) - (order[b.severity] ?? 2));
  fill(
    list,
    sorted.map((f) =>
      el(
        "li",
        { className: `finding ${f.severity}`, dataset: { kind: f.kind, subject: f.subject } },
        el("span", { className: `badge ${f.severity}` }, f.severity),
        el("code", { className: "kind" }, f.kind),
        el("span", { className: "message" }, f.message),
      ),
    ),
  );
}

/**
 * Shows a revealed value in its row. Text is shown as is; anything that is
 * not valid UTF-8 is shown as base64, and said so.
 * @param {HTMLElement} cell
 * @param {{text: string, binary: boolean, size: number}} shown
 */
export function renderValue(cell, shown) {
  const note = shown.binary
    ? `binary value, ${shown.size} bytes, shown as base64`
    : shown.size === 0
      ? "empty value"
      : `${shown.size} bytes`;
  fill(
    cell,
    el(
      "div",
      { className: "value" },
      el("pre", { className: "secret-value" }, shown.text),
      el(
        "div",
        { className: "value-bar" },
        el("span", { className: "muted" }, note),
        el("button", { type: "button", className: "small secondary", dataset: { action: "copy" } }, "Copy"),
        el("button", { type: "button", className: "small secondary", dataset: { action: "hide" } }, "Hide"),
      ),
    ),
  );
}

/**
 * Shows an error in a cell or banner: the stable code, the message, the hint.
 * @param {HTMLElement} node
 * @param {Error & {code?: string, hint?: string}} err
 */
export function renderError(node, err) {
  fill(
    node,
    err.code && el("code", { className: "code" }, err.code),
    el("span", {}, " ", err.message),
    err.hint && el("div", { className: "hint" }, "hint: ", err.hint),
  );
}
