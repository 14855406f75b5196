// Atomic file writes: write a temporary file, fsync it, rename it over the target, fsync the directory.
// A crash leaves either the old or the new content, never half of one.
import fs from "node:fs";
import path from "node:path";

/** Replaces `file` with `content` atomically and durably. */
export function writeFileAtomic(file: string, content: string, mode = 0o600): void {
  const dir = path.dirname(file);
  // The data directory holds the machine token: owner only.
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  const fd = fs.openSync(tmp, "w", mode);
  try {
    fs.writeSync(fd, content);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  fsyncDir(dir);
}

/** Creates `dir` if needed and makes it owner-only (0700), also when it already existed. */
export function ensurePrivateDir(dir: string): void {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  // Windows has no POSIX modes (ACLs instead): chmod there only toggles read-only.
  if (process.platform !== "win32") fs.chmodSync(dir, 0o700);
}

/** Makes a rename durable. Windows cannot open a directory for fsync; NTFS journals the rename itself. */
export function fsyncDir(dir: string): void {
  if (process.platform === "win32") return;
  try {
    const fd = fs.openSync(dir, "r");
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // Some file systems refuse directory fsync; the rename is still atomic.
  }
}
