/**
 * Writing and reading a run folder's files so that nothing is lost or misread after a crash, a
 * kill at any instant or a full disk:
 *
 * - `writeFileAtomic`: every byte written (a short write is retried, never ignored), synced, its size
 *   checked, then renamed over the old file; on any failure the temp file is removed and the old
 *   file is untouched. A full or read-only disk is one `UserError` line.
 * - `appendLine`: a JSON line appended with every byte written and synced, so a line is torn only
 *   by a kill or a crash mid-write, and such a line is always the last.
 * - `readJsonLines`: the lines of a JSON-lines file; a torn last line (no newline at its end, or not
 *   JSON) is left out, a bad line before it is a `UserError`.
 * - `sweepTempFiles`: temp files left by writers that died (`NAME.tmp-PID-HEX` with no such process).
 * - `lockRunFolder`: one writer per run folder.
 *
 * Failpoints, for the fault-injection tests (`test/faults/`): with `DYNAMOE_FAILPOINT=KIND:N` the N-th
 * write of KIND in the process (`atomic`: `writeFileAtomic`; `append`: `appendLine`; counted from 1)
 * writes half its bytes and kills the process with SIGKILL, as a crash in the middle of it would.
 */
import { closeSync, existsSync, fstatSync, fsyncSync, lstatSync, openSync, readdirSync, readFileSync, renameSync, unlinkSync, writeSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import { UserError } from "../errors.js";

const DISK_ERRORS: Record<string, string> = {
  ENOSPC: "no space left on the device",
  EDQUOT: "disk quota exceeded",
  EROFS: "read-only file system",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EFBIG: "file too large",
  EIO: "input/output error",
  EISDIR: "it is a folder",
  ENOTDIR: "a part of its path is not a folder",
  ENOENT: "its folder does not exist",
};

/** A failed write as one line naming the file, or the error itself when it is not the disk's. */
export function writeError(path: string, err: unknown, kept = ""): Error {
  const code = (err as NodeJS.ErrnoException)?.code;
  if (code && code in DISK_ERRORS) return new UserError(`could not write ${path}: ${DISK_ERRORS[code]} (${code})${kept}`);
  return err as Error;
}

const FAILPOINT = /^(atomic|append):(\d+)$/.exec(process.env.DYNAMOE_FAILPOINT ?? "");
const writes = { atomic: 0, append: 0 };

/** At the failpoint's write: half of `bytes` to `fd`, synced, then SIGKILL. */
function failpoint(kind: "atomic" | "append", fd: number, bytes: Uint8Array): void {
  if (!FAILPOINT || FAILPOINT[1] !== kind || ++writes[kind] !== Number(FAILPOINT[2])) return;
  writeSync(fd, bytes, 0, bytes.length >> 1);
  fsyncSync(fd);
  process.kill(process.pid, "SIGKILL");
}

/** Write all of `bytes` to `fd`, retrying short writes; a write that makes no progress is ENOSPC. */
function writeAll(fd: number, bytes: Uint8Array): void {
  let done = 0;
  while (done < bytes.length) {
    const n = writeSync(fd, bytes, done, bytes.length - done);
    if (n <= 0) throw Object.assign(new Error("short write"), { code: "ENOSPC" });
    done += n;
  }
}

/** Write `data` to `path` atomically: a temp file beside it, every byte, fsync, size check, rename. */
export function writeFileAtomic(path: string, data: Buffer | string): void {
  const bytes = typeof data === "string" ? Buffer.from(data) : data;
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString("hex")}`; // unique across machines sharing a folder
  let fd = -1;
  try {
    fd = openSync(tmp, "w");
    failpoint("atomic", fd, bytes);
    writeAll(fd, bytes);
    fsyncSync(fd);
    const size = fstatSync(fd).size;
    if (size !== bytes.length) throw Object.assign(new Error(`wrote ${size} of ${bytes.length} bytes`), { code: "EIO" });
    closeSync(fd);
    fd = -1;
    renameSync(tmp, path);
  } catch (err) {
    if (fd >= 0) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // already gone
    }
    throw writeError(path, err, existsSync(path) ? "; the previous file is kept" : "");
  }
}

/** Append one line (a newline is added) with every byte written and synced. */
export function appendLine(path: string, line: string): void {
  let fd = -1;
  try {
    fd = openSync(path, "a");
    const bytes = Buffer.from(line + "\n");
    failpoint("append", fd, bytes);
    writeAll(fd, bytes);
    fsyncSync(fd);
  } catch (err) {
    throw writeError(path, err);
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}

/**
 * The records of a JSON-lines file. A last line that a kill tore (no final newline, or not JSON) is
 * left out (`torn` says so); any other line that is not a JSON object is a `UserError`.
 */
export function readJsonLines<T = Record<string, unknown>>(path: string): { records: T[]; torn: boolean } {
  const text = readFileSync(path, "utf8");
  const lines = text.split("\n");
  const complete = text.endsWith("\n") || text === "";
  const records: T[] = [];
  let torn = false;
  lines.forEach((line, i) => {
    if (line.trim() === "") return;
    const last = i === lines.length - 1 || (i === lines.length - 2 && lines[lines.length - 1] === "");
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch {
      value = undefined;
    }
    const ok = value !== null && typeof value === "object" && !Array.isArray(value);
    if (last && (!complete || !ok)) {
      torn = true;
      return;
    }
    if (!ok) throw new UserError(`${path} line ${i + 1}: not a JSON object (the file is damaged)`);
    records.push(value as T);
  });
  return { records, torn };
}

/** True when a process with this PID exists. */
export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** A temp file's name: `NAME.tmp-PID-HEX`. */
export const TEMP_NAME = /\.tmp-(\d+)-[0-9a-f]+$/;

/** Remove `NAME.tmp-PID-HEX` files in `dir` whose writer is gone; returns their names. */
export function sweepTempFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const swept: string[] = [];
  for (const name of readdirSync(dir)) {
    const m = TEMP_NAME.exec(name);
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || processAlive(pid)) continue;
    try {
      unlinkSync(join(dir, name));
      swept.push(name);
    } catch {
      // a writer removed it first
    }
  }
  return swept;
}

export const LOCK_FILE = "run.lock";

/**
 * Take the run folder for this process: `run.lock` holds the writer's PID. A live holder is a
 * `UserError` naming it; a dead one's lock is taken over. Returns the release function.
 */
export function lockRunFolder(dir: string): () => void {
  const path = join(dir, LOCK_FILE);
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      const fd = openSync(path, "wx");
      writeAll(fd, Buffer.from(`${process.pid}\n`));
      closeSync(fd);
      return () => {
        try {
          if (readFileSync(path, "utf8").trim() === String(process.pid)) unlinkSync(path);
        } catch {
          // already gone
        }
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== "EEXIST") throw writeError(path, err);
    }
    let holder = NaN;
    try {
      if (lstatSync(path).isFile()) holder = Number(readFileSync(path, "utf8").trim());
    } catch {
      continue; // released meanwhile
    }
    if (holder !== process.pid && processAlive(holder)) {
      throw new UserError(`${dir} is in use by another dynamoe process (PID ${holder}); wait for it to finish or choose another --out`);
    }
    try {
      unlinkSync(path); // a dead writer's lock (or our own from before)
    } catch {
      // another process took it over first; try again
    }
  }
  throw new UserError(`${dir}: could not take ${LOCK_FILE}; another process keeps taking it`);
}
