// Stand-ins for the browser's drag-and-drop entries and directory handles,
// built from real File objects. Automation cannot drag a folder onto the
// page or answer the directory picker, so the tests hand these to the same
// code paths instead.

function tree(files) {
  const root = { name: "", dirs: new Map(), files: new Map() };
  for (const [path, file] of files) {
    const parts = path.split("/");
    let dir = root;
    for (const part of parts.slice(0, -1)) {
      if (!dir.dirs.has(part)) dir.dirs.set(part, { name: part, dirs: new Map(), files: new Map() });
      dir = dir.dirs.get(part);
    }
    dir.files.set(parts[parts.length - 1], file);
  }
  return root;
}

/**
 * A FileSystemDirectoryEntry look-alike. readEntries hands out at most two
 * entries per call, as real readers batch their results.
 * @param {string} name the dropped folder's name
 * @param {Map<string, File>} files path below the folder -> File
 */
export function entryFor(name, files) {
  const dirEntry = (d, n) => ({
    name: n,
    isDirectory: true,
    isFile: false,
    createReader() {
      const all = [...[...d.dirs.values()].map((c) => dirEntry(c, c.name)), ...[...d.files].map(([fn, f]) => fileEntry(fn, f))];
      let pos = 0;
      return {
        readEntries(ok) {
          const batch = all.slice(pos, pos + 2);
          pos += batch.length;
          setTimeout(() => ok(batch), 0);
        },
      };
    },
  });
  const fileEntry = (n, f) => ({ name: n, isDirectory: false, isFile: true, file: (ok) => setTimeout(() => ok(f), 0) });
  return dirEntry(tree(files), name);
}

/**
 * A FileSystemDirectoryHandle look-alike.
 * @param {string} name the picked folder's name
 * @param {Map<string, File>} files path below the folder -> File
 */
export function handleFor(name, files) {
  const dirHandle = (d, n) => ({
    name: n,
    kind: "directory",
    async *values() {
      for (const c of d.dirs.values()) yield dirHandle(c, c.name);
      for (const [fn, f] of d.files) yield { name: fn, kind: "file", getFile: async () => f };
    },
  });
  return dirHandle(tree(files), name);
}
