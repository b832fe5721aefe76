/**
 * `makeFolder`: create a folder and its missing parents, or say in one line why it cannot be done.
 *
 * Node's `mkdirSync(path, { recursive: true })` spins for ever on paths such as `/proc/x` (it retries
 * a parent that exists but refuses children) and reports a file or a dangling symlink in the path as
 * a bare errno. Here each missing component is created on its own, so every failure names the part
 * of the path that is wrong.
 */
import { lstatSync, mkdirSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { UserError } from "../errors.js";

const MKDIR_ERRORS: Record<string, string> = {
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
  EROFS: "read-only file system",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  ENOENT: "this file system does not allow new folders there",
  ENAMETOOLONG: "the name is too long",
  ELOOP: "too many symbolic links",
};

/** What is at `path`: a folder, something else, a dangling link, or nothing. */
function kindAt(path: string): "folder" | "other" | "dangling" | "missing" {
  let link = false;
  try {
    link = lstatSync(path).isSymbolicLink();
  } catch {
    return "missing";
  }
  try {
    return statSync(path).isDirectory() ? "folder" : "other";
  } catch {
    return link ? "dangling" : "other";
  }
}

/** Create `path` (and its parents); `what` names it in errors, e.g. "the run folder". */
export function makeFolder(path: string, what = "the folder"): void {
  const full = resolve(path);
  const missing: string[] = [];
  let at = full;
  for (;;) {
    const kind = kindAt(at);
    if (kind === "folder") break;
    if (kind === "other") throw new UserError(`cannot create ${what} ${path}: ${at} exists and is not a folder`);
    if (kind === "dangling") throw new UserError(`cannot create ${what} ${path}: ${at} is a symbolic link to nothing`);
    missing.push(at);
    const up = dirname(at);
    if (up === at) break;
    at = up;
  }
  for (const dir of missing.reverse()) {
    try {
      mkdirSync(dir);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? "";
      if (code === "EEXIST" && kindAt(dir) === "folder") continue; // made by someone else meanwhile
      const why = MKDIR_ERRORS[code] ?? (err as Error).message;
      throw new UserError(`cannot create ${what} ${path}: ${why}${code ? ` (${code})` : ""}`);
    }
  }
}
