/**
 * Binary cache files under the cache folder: a 16-byte magic string opens each file, and files are
 * written to a temporary name and renamed, so a reader never sees half a file.
 */
import { randomBytes } from "node:crypto";
import { open, readFile, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { makeFolder } from "../io/makeFolder.js";

/** A file's bytes, or `undefined` when it is missing, shorter than `header` or opens with another magic. */
export async function readCacheFile(path: string, magic: Buffer, header: number): Promise<Buffer | undefined> {
  let buf: Buffer;
  try {
    buf = await readFile(path);
  } catch {
    return undefined;
  }
  if (buf.length < header || !buf.subarray(0, magic.length).equals(magic)) return undefined;
  return buf;
}

/** Write `parts` one after another into `path` atomically (temporary file, then rename). */
export async function writeCacheFile(path: string, parts: Uint8Array[]): Promise<void> {
  makeFolder(dirname(path), "the cache folder ($DYNAMOE_CACHE)");
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(4).toString("hex")}.part`);
  const fh = await open(tmp, "w");
  try {
    for (const part of parts) {
      // write() may write less than asked for: loop until the whole part is out.
      for (let done = 0; done < part.length; ) done += (await fh.write(part, done, part.length - done)).bytesWritten;
    }
    await fh.close();
    await rename(tmp, path);
  } catch (err) {
    await fh.close().catch(() => {});
    await rm(tmp, { force: true });
    throw err;
  }
}
