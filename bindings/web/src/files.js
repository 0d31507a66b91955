// Collects the files of a picked or dropped vault folder into memory. The
// three browser sources (a webkitdirectory input, a drag-and-drop entry and
// a showDirectoryPicker handle) all end in the same shape: a Map from
// folder-relative path to bytes, with `null` marking an empty directory.
//
// When the folder is a repository, only its .agent-vault/ directory is read:
// the rest of the repository (sources, .git) is never loaded into the page.

/** The vault directory's name inside a repository (docs/architecture.md §4). */
const VAULT_DIR = ".agent-vault";

/**
 * A folder picked by the user, not yet read.
 * @typedef {{name: string, files: Map<string, File | null>}} Picked
 */

/**
 * Files from `<input type=file webkitdirectory>`. Each File carries its path
 * below the picked folder's parent in webkitRelativePath.
 * @param {FileList | File[]} list
 * @returns {Picked}
 */
export function fromFileList(list) {
  const files = new Map();
  let name = "";
  for (const file of list) {
    const rel = file.webkitRelativePath || file.name;
    const slash = rel.indexOf("/");
    name ||= slash < 0 ? "" : rel.slice(0, slash);
    files.set(slash < 0 ? rel : rel.slice(slash + 1), file);
  }
  return { name, files: onlyVault(files) };
}

function onlyVault(files) {
  const prefix = VAULT_DIR + "/";
  if (![...files.keys()].some((p) => p.startsWith(prefix))) return files;
  return new Map([...files].filter(([p]) => p.startsWith(prefix)));
}

/**
 * Files below a dropped directory (DataTransferItem.webkitGetAsEntry()).
 * @param {FileSystemEntry} entry
 * @returns {Promise<Picked>}
 */
export async function fromEntry(entry) {
  if (!entry?.isDirectory) throw new Error("drop a folder: the repository or its .agent-vault directory");
  return { name: entry.name, files: await walk(entryNode(entry)) };
}

/**
 * Files below a directory handle from window.showDirectoryPicker().
 * @param {FileSystemDirectoryHandle} handle
 * @returns {Promise<Picked>}
 */
export async function fromHandle(handle) {
  return { name: handle.name, files: await walk(handleNode(handle)) };
}

// A node is {name, dir, children(): Promise<node[]>, file(): Promise<File>};
// the adapters below give entries and handles that one shape.

function entryNode(entry) {
  return {
    name: entry.name,
    dir: entry.isDirectory,
    file: () => new Promise((ok, fail) => entry.file(ok, fail)),
    children: async () => {
      const reader = entry.createReader();
      const out = [];
      // readEntries returns the listing in batches until an empty one.
      for (;;) {
        const batch = await new Promise((ok, fail) => reader.readEntries(ok, fail));
        if (batch.length === 0) return out.map(entryNode);
        out.push(...batch);
      }
    },
  };
}

function handleNode(handle) {
  return {
    name: handle.name,
    dir: handle.kind === "directory",
    file: () => handle.getFile(),
    children: async () => {
      const out = [];
      for await (const child of handle.values()) out.push(handleNode(child));
      return out;
    },
  };
}

async function walk(root) {
  const files = new Map();
  let top = await root.children();
  const vault = top.find((n) => n.dir && n.name === VAULT_DIR);
  if (vault) top = [vault];
  const visit = async (nodes, prefix) => {
    for (const node of nodes) {
      const path = prefix + node.name;
      if (node.dir) {
        const children = await node.children();
        if (children.length === 0) files.set(path, null);
        await visit(children, path + "/");
      } else {
        files.set(path, await node.file());
      }
    }
  };
  await visit(top, "");
  return files;
}

/**
 * Reads every picked file into memory, ready for the module.
 * @param {Picked} picked
 * @returns {Promise<Map<string, Uint8Array | null>>}
 */
export async function readAll(picked) {
  const out = new Map();
  await Promise.all(
    [...picked.files].map(async ([path, file]) => {
      out.set(path, file ? new Uint8Array(await file.arrayBuffer()) : null);
    }),
  );
  return out;
}
