// A read-only, lazily disk-backed directory for the WASI shim. Files are
// read from the host only when the guest opens them, so opening a vault
// with thousands of secrets costs nothing up front.
//
// Symlinks are never followed: lstat reports them as symlinks (core refuses
// them by lstat-ing every component), and any lookup that would have to
// traverse one fails with ELOOP. A WASI preopen alone is no sandbox against
// a symlink inside the vault that points elsewhere.

import fs from "node:fs";
import path from "node:path";
import { Fd, Inode, wasi } from "@bjorn3/browser_wasi_shim";

const FOLLOW = 1; // WASI lookupflags: symlink_follow
const WRITE_OFLAGS = wasi.OFLAGS_CREAT | wasi.OFLAGS_TRUNC | wasi.OFLAGS_EXCL;

function fileType(st) {
  if (st.isSymbolicLink()) return wasi.FILETYPE_SYMBOLIC_LINK;
  if (st.isDirectory()) return wasi.FILETYPE_DIRECTORY;
  if (st.isFile()) return wasi.FILETYPE_REGULAR_FILE;
  if (st.isCharacterDevice()) return wasi.FILETYPE_CHARACTER_DEVICE;
  if (st.isBlockDevice()) return wasi.FILETYPE_BLOCK_DEVICE;
  return wasi.FILETYPE_UNKNOWN;
}

// The shim's Filestat writes the time fields at the wrong offsets, so all
// times stay zero (core does not read them) to keep `size` intact.
function filestat(st) {
  return new wasi.Filestat(BigInt(st.ino), fileType(st), BigInt(st.size));
}

function errno(e) {
  switch (e && e.code) {
    case "ENOENT":
      return wasi.ERRNO_NOENT;
    case "ENOTDIR":
      return wasi.ERRNO_NOTDIR;
    case "EISDIR":
      return wasi.ERRNO_ISDIR;
    case "ELOOP":
      return wasi.ERRNO_LOOP;
    case "EACCES":
    case "EPERM":
      return wasi.ERRNO_ACCES;
    case "ENAMETOOLONG":
      return wasi.ERRNO_NAMETOOLONG;
    default:
      return wasi.ERRNO_IO;
  }
}

/**
 * Resolves a guest path relative to `root` on the host, lstat-ing every
 * component so no symlink is traversed. The last component may be a
 * symlink only when `follow` is false (an lstat); otherwise it is ELOOP.
 * @returns {{ret: number, host?: string, st?: fs.Stats}}
 */
function lookup(root, rel, follow) {
  if (root === null) return { ret: wasi.ERRNO_NOENT };
  if (rel.includes("\0")) return { ret: wasi.ERRNO_INVAL };
  if (rel.startsWith("/")) return { ret: wasi.ERRNO_NOTCAPABLE };
  const parts = [];
  for (const c of rel.split("/")) {
    if (c === "" || c === ".") continue;
    if (c === "..") {
      if (parts.pop() === undefined) return { ret: wasi.ERRNO_NOTCAPABLE };
      continue;
    }
    parts.push(c);
  }
  let host = root;
  let st;
  try {
    // The root itself was named by the user and already resolved.
    st = fs.statSync(host);
    for (let i = 0; i < parts.length; i++) {
      if (!st.isDirectory()) return { ret: wasi.ERRNO_NOTDIR };
      host = path.join(host, parts[i]);
      st = fs.lstatSync(host);
      if (st.isSymbolicLink() && (follow || i < parts.length - 1)) return { ret: wasi.ERRNO_LOOP };
    }
  } catch (e) {
    return { ret: errno(e) };
  }
  if (rel.endsWith("/") && !st.isDirectory()) return { ret: wasi.ERRNO_NOTDIR };
  return { ret: wasi.ERRNO_SUCCESS, host, st };
}

/** An open regular file, read on demand with positioned reads. */
class DiskFile extends Fd {
  constructor(fd, st) {
    super();
    this.fd = fd;
    this.st = st;
    this.pos = 0n;
  }

  fd_fdstat_get() {
    const s = new wasi.Fdstat(wasi.FILETYPE_REGULAR_FILE, 0);
    s.fs_rights_base = BigInt(wasi.RIGHTS_FD_READ);
    return { ret: 0, fdstat: s };
  }

  fd_filestat_get() {
    try {
      return { ret: 0, filestat: filestat(fs.fstatSync(this.fd)) };
    } catch (e) {
      return { ret: errno(e), filestat: null };
    }
  }

  fd_pread(size, offset) {
    try {
      const buf = new Uint8Array(size);
      const n = fs.readSync(this.fd, buf, 0, size, Number(offset));
      return { ret: 0, data: buf.subarray(0, n) };
    } catch (e) {
      return { ret: errno(e), data: new Uint8Array() };
    }
  }

  fd_read(size) {
    const r = this.fd_pread(size, this.pos);
    this.pos += BigInt(r.data.length);
    return r;
  }

  fd_seek(offset, whence) {
    let base;
    if (whence === wasi.WHENCE_SET) base = 0n;
    else if (whence === wasi.WHENCE_CUR) base = this.pos;
    else if (whence === wasi.WHENCE_END) base = BigInt(fs.fstatSync(this.fd).size);
    else return { ret: wasi.ERRNO_INVAL, offset: 0n };
    const next = base + offset;
    if (next < 0n) return { ret: wasi.ERRNO_INVAL, offset: 0n };
    this.pos = next;
    return { ret: 0, offset: next };
  }

  fd_tell() {
    return { ret: 0, offset: this.pos };
  }

  fd_write() {
    return { ret: wasi.ERRNO_BADF, nwritten: 0 };
  }

  fd_pwrite() {
    return { ret: wasi.ERRNO_BADF, nwritten: 0 };
  }

  fd_close() {
    try {
      fs.closeSync(this.fd);
    } catch {
      // Already closed; nothing to release.
    }
    return 0;
  }
}

/** An open directory; its entries are listed when first read. */
class DiskDir extends Fd {
  constructor(root, host, st) {
    super();
    this.root = root;
    this.host = host;
    this.st = st;
    this.entries = null;
  }

  fd_fdstat_get() {
    return { ret: 0, fdstat: new wasi.Fdstat(wasi.FILETYPE_DIRECTORY, 0) };
  }

  fd_filestat_get() {
    try {
      return { ret: 0, filestat: filestat(fs.lstatSync(this.host)) };
    } catch (e) {
      return { ret: errno(e), filestat: null };
    }
  }

  fd_readdir_single(cookie) {
    if (this.entries === null || cookie === 0n) {
      try {
        this.entries = fs.readdirSync(this.host, { withFileTypes: true }).sort((a, b) =>
          a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
        );
      } catch (e) {
        return { ret: errno(e), dirent: null };
      }
    }
    const i = Number(cookie);
    if (i >= this.entries.length) return { ret: 0, dirent: null };
    const d = this.entries[i];
    let type = wasi.FILETYPE_UNKNOWN;
    if (d.isSymbolicLink()) type = wasi.FILETYPE_SYMBOLIC_LINK;
    else if (d.isDirectory()) type = wasi.FILETYPE_DIRECTORY;
    else if (d.isFile()) type = wasi.FILETYPE_REGULAR_FILE;
    return { ret: 0, dirent: new wasi.Dirent(cookie + 1n, Inode.issue_ino(), d.name, type) };
  }

  path_filestat_get(flags, rel) {
    const r = lookup(this.host, rel, (flags & FOLLOW) !== 0);
    if (r.ret !== 0) return { ret: r.ret, filestat: null };
    return { ret: 0, filestat: filestat(r.st) };
  }

  path_open(dirflags, rel, oflags, rightsBase, rightsInheriting, fdflags) {
    if ((oflags & WRITE_OFLAGS) !== 0 || (BigInt(rightsBase) & BigInt(wasi.RIGHTS_FD_WRITE)) !== 0n) {
      return { ret: wasi.ERRNO_ROFS, fd_obj: null };
    }
    // Symlinks are refused even when the guest asks to follow them.
    const r = lookup(this.host, rel, true);
    if (r.ret !== 0) return { ret: r.ret, fd_obj: null };
    if (r.st.isDirectory()) return { ret: 0, fd_obj: new DiskDir(this.root, r.host, r.st) };
    if ((oflags & wasi.OFLAGS_DIRECTORY) !== 0) return { ret: wasi.ERRNO_NOTDIR, fd_obj: null };
    if (!r.st.isFile()) return { ret: wasi.ERRNO_ACCES, fd_obj: null };
    let fd;
    try {
      fd = fs.openSync(r.host, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
      // The file may have been swapped between lstat and open.
      const st = fs.fstatSync(fd);
      if (st.ino !== r.st.ino || st.dev !== r.st.dev) {
        fs.closeSync(fd);
        return { ret: wasi.ERRNO_LOOP, fd_obj: null };
      }
      return { ret: 0, fd_obj: new DiskFile(fd, st) };
    } catch (e) {
      if (fd !== undefined) fs.closeSync(fd);
      return { ret: errno(e), fd_obj: null };
    }
  }

  path_readlink() {
    // Link targets are never disclosed to the guest.
    return { ret: wasi.ERRNO_NOTSUP, data: null };
  }

  path_create_directory() {
    return wasi.ERRNO_ROFS;
  }

  path_unlink_file() {
    return wasi.ERRNO_ROFS;
  }

  path_remove_directory() {
    return wasi.ERRNO_ROFS;
  }

  fd_read() {
    return { ret: wasi.ERRNO_ISDIR, data: new Uint8Array() };
  }

  fd_write() {
    return { ret: wasi.ERRNO_BADF, nwritten: 0 };
  }
}

/**
 * A read-only WASI preopen at guest path `name` backed by the host
 * directory `hostDir`. Nothing is read until the guest asks.
 */
export class DiskPreopen extends DiskDir {
  /**
   * @param {string} name the guest path, e.g. "/vault"
   * @param {string} hostDir the host directory to expose
   */
  constructor(name, hostDir) {
    super(null, null, null);
    this.prestatName = name;
    if (hostDir !== undefined) this.mount(hostDir);
  }

  /**
   * Points the preopen at a host directory. The guest learns only the
   * preopen's name at start-up, so the directory may be chosen later.
   * @param {string} hostDir
   */
  mount(hostDir) {
    let abs = path.resolve(hostDir);
    try {
      abs = fs.realpathSync(abs);
    } catch {
      // A missing directory stays as named; lookups then report ENOENT.
    }
    this.root = abs;
    this.host = abs;
    this.entries = null;
  }

  fd_prestat_get() {
    return { ret: 0, prestat: wasi.Prestat.dir(this.prestatName) };
  }
}
