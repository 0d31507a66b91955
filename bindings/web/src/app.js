// The vault viewer page: wires the folder and key inputs to the module and
// the rendered tables. The key and revealed values live only in memory for
// as long as they are needed; nothing is stored or sent anywhere.

import { instantiate, KEY_DIR } from "./engine.js";
import { fromEntry, fromFileList, fromHandle, readAll } from "./files.js";
import {
  expiryStatus,
  fill,
  renderAgents,
  renderError,
  renderFindings,
  renderGroups,
  renderSecrets,
  renderValue,
} from "./view.js";

const $ = (id) => document.getElementById(id);

// `?now=<RFC 3339>` audits the vault as of that time instead of the
// browser's clock, so a view can be reproduced.
const auditTime = new URLSearchParams(location.search).get("now") || undefined;

/** What is open: one module instance and its host, a metadata handle, maybe a key handle. */
const state = { vault: null, host: null, open: null, meta: 0, keyed: 0, identity: null, loading: false };

function showError(err) {
  const box = $("error");
  renderError(box, err);
  box.hidden = false;
}

function clearError() {
  $("error").hidden = true;
  fill($("error"));
}

function setStatus(id, text, kind = "") {
  const node = $(id);
  node.textContent = text;
  node.className = `status ${kind}`.trim();
}

// --- loading a vault -------------------------------------------------------

async function loadVault(pickedPromise) {
  if (state.loading) return;
  state.loading = true;
  clearError();
  setStatus("vault-status", "Reading folder…");
  try {
    const picked = await pickedPromise;
    if (picked.files.size === 0) throw new Error("the folder is empty");
    const files = await readAll(picked);
    const { vault, host, open } = await instantiate(picked.name, files);
    const meta = open({ metadata_only: true }).handle;
    Object.assign(state, { vault, host, open, meta, keyed: 0, identity: null });
    render();
    setStatus("vault-status", `Loaded ${picked.name || "folder"}: ${files.size} files read into memory.`, "ok");
    enableKey(true);
    setStatus("key-status", "Add a key to reveal values. It stays in this tab's memory only.");
    document.body.dataset.state = "loaded";
  } catch (err) {
    Object.assign(state, { vault: null, host: null, open: null, meta: 0, keyed: 0, identity: null });
    $("vault-view").hidden = true;
    enableKey(false);
    setStatus("key-status", "Load a vault first.");
    document.body.dataset.state = "error";
    setStatus("vault-status", "Could not open this folder as a vault.", "bad");
    showError(err);
  } finally {
    state.loading = false;
  }
}

function enableKey(on) {
  $("key-card").classList.toggle("disabled", !on);
  for (const id of ["key-unlock", "key-text", "key-input"]) $(id).disabled = !on;
}

function plural(n, word) {
  return `${n} ${word}${n === 1 ? "" : "s"}`;
}

function render() {
  const { vault, meta } = state;
  const findings = vault.call({ op: "check", handle: meta, now: auditTime }).findings;
  // Opened without a key, a listing shows every secret.
  const secrets = vault.call({ op: "list", handle: meta }).secrets;
  const policy = vault.call({ op: "agents", handle: meta });
  renderSecrets($("secrets-body"), secrets, expiryStatus(findings));
  renderAgents($("agents-body"), policy.agents);
  renderGroups($("groups-body"), policy.groups);
  renderFindings($("findings"), findings);
  $("secret-count").textContent = String(secrets.length);
  const errors = findings.filter((f) => f.severity === "error").length;
  $("finding-count").textContent = findings.length
    ? `${plural(errors, "error")}, ${plural(findings.length - errors, "warning")}`
    : "clean";
  $("audit-time").textContent = auditTime ? `as of ${auditTime}` : "as of now";
  $("vault-view").hidden = false;
  updateRevealButtons();
}

function updateRevealButtons() {
  for (const b of document.querySelectorAll("#secrets-body button.reveal, #secrets-body button.copy")) {
    b.disabled = !state.keyed;
    b.title = state.keyed ? "" : "Add a key first";
  }
}

// --- the key ---------------------------------------------------------------

/**
 * Opens the vault with the key just given: the picked key file when
 * `fromFile`, otherwise the pasted text.
 * @param {boolean} fromFile
 */
async function unlock(fromFile) {
  if (!state.vault) return;
  clearError();
  const text = $("key-text").value;
  const file = fromFile ? $("key-input").files[0] : undefined;
  // A picked key file is served to the module only while it opens the vault.
  const keyPath = file && `${KEY_DIR}/${file.name}`;
  try {
    let key;
    if (!fromFile && text.trim()) {
      key = { text };
    } else if (file) {
      state.host.put(keyPath, new Uint8Array(await file.arrayBuffer()));
      key = { path: keyPath };
    } else {
      setStatus("key-status", "Paste a key or choose a key file first.", "bad");
      return;
    }
    const opened = state.open({ key });
    if (state.keyed) state.vault.call({ op: "close", handle: state.keyed });
    state.keyed = opened.handle;
    state.identity = opened.identity;
    const who = opened.identity === "owner"
      ? "the owner"
      : opened.identity ? `agent ${opened.identity}` : "a key that is neither the owner nor an agent of this vault";
    setStatus("key-status", `Unlocked as ${who} (${opened.recipient}).`, "ok");
    document.body.dataset.key = opened.identity || "unknown";
  } catch (err) {
    setStatus("key-status", "That key could not be used.", "bad");
    showError(err);
  } finally {
    if (keyPath) state.host.drop(keyPath);
    // Drop every copy the page holds; the module keeps the parsed key.
    $("key-text").value = "";
    $("key-input").value = "";
    hideAllValues();
    updateRevealButtons();
  }
}

// --- revealing values ------------------------------------------------------

const utf8 = new TextDecoder("utf-8", { fatal: true });

function fetchValue(name) {
  const bytes = state.vault.get(state.keyed, name);
  try {
    return { text: utf8.decode(bytes), binary: false, size: bytes.length };
  } catch {
    let bin = "";
    for (const b of bytes) bin += String.fromCharCode(b);
    return { text: btoa(bin), binary: true, size: bytes.length };
  } finally {
    bytes.fill(0);
  }
}

function valueRow(name) {
  return [...document.querySelectorAll("#secrets-body tr.value-row")].find((r) => r.dataset.valueOf === name);
}

function hideValue(row) {
  row.hidden = true;
  fill(row.firstElementChild);
}

function hideAllValues() {
  for (const row of document.querySelectorAll("#secrets-body tr.value-row")) hideValue(row);
}

async function onSecretAction(event) {
  const button = event.target.closest("button[data-action]");
  if (!button || !state.keyed) return;
  const tr = button.closest("tr");
  const name = tr.dataset.secret ?? tr.dataset.valueOf;
  const row = valueRow(name);
  const cell = row.firstElementChild;
  const action = button.dataset.action;
  if (action === "hide") {
    hideValue(row);
    return;
  }
  try {
    const shown = fetchValue(name);
    if (action === "reveal") {
      renderValue(cell, shown);
      row.hidden = false;
    } else {
      await navigator.clipboard.writeText(shown.text);
      const label = button.textContent;
      button.textContent = "Copied";
      setTimeout(() => (button.textContent = label), 1500);
    }
  } catch (err) {
    fill(cell, Object.assign(document.createElement("div"), { className: "inline-error" }));
    renderError(cell.firstElementChild, err);
    row.hidden = false;
  }
}

// --- picking a folder --------------------------------------------------------

function pickFolder() {
  // The directory picker gives a handle we can walk without loading the
  // whole repository; where it is missing, the plain input does the job.
  if (typeof window.showDirectoryPicker === "function") {
    window.showDirectoryPicker({ mode: "read" }).then(
      (handle) => loadVault(fromHandle(handle)),
      (err) => err.name !== "AbortError" && showError(err),
    );
  } else {
    $("folder-input").click();
  }
}

function setupDrop() {
  const zone = $("drop-zone");
  let depth = 0;
  document.addEventListener("dragenter", (e) => {
    e.preventDefault();
    if (depth++ === 0) zone.classList.add("dragging");
  });
  document.addEventListener("dragleave", () => {
    if (--depth === 0) zone.classList.remove("dragging");
  });
  document.addEventListener("dragover", (e) => e.preventDefault());
  document.addEventListener("drop", (e) => {
    e.preventDefault();
    depth = 0;
    zone.classList.remove("dragging");
    const item = [...(e.dataTransfer?.items ?? [])].find((i) => i.kind === "file");
    if (!item) return;
    const entry = item.webkitGetAsEntry?.();
    // A stray file dropped on the page must not close the open vault.
    if (!entry?.isDirectory) {
      showError(new Error("Drop a folder: the repository or its .agent-vault directory."));
      return;
    }
    loadVault(fromEntry(entry));
  });
}

function main() {
  $("pick-folder").addEventListener("click", pickFolder);
  $("folder-input").addEventListener("change", (e) => {
    if (e.target.files.length) loadVault(Promise.resolve(fromFileList(e.target.files)));
  });
  $("key-unlock").addEventListener("click", () => unlock(false));
  $("key-input").addEventListener("change", () => {
    if ($("key-input").files.length) unlock(true);
  });
  $("secrets-body").addEventListener("click", onSecretAction);
  // A revealed value should not outlive the person looking at it.
  document.addEventListener("visibilitychange", () => document.hidden && hideAllValues());
  setupDrop();
  document.body.dataset.state = "empty";
}

main();
