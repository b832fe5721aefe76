/**
 * The members of a zip archive, read through its central directory (PKWARE APPNOTE §4.3): the
 * end-of-central-directory record at the end of the file (ZIP64's when the counts or offsets
 * overflow 32 bits), one central header per member (sizes, CRC-32, where its local header is), then
 * each member's bytes after its local header, stored (method 0) or raw deflate (method 8, inflated
 * by Node's zlib).
 *
 * Written here rather than taken from npm because NumPy's `.npz` files need only this much, and
 * Node's zlib does the decompression: a reader of ~80 lines beats an optional package every `.npz`
 * user would have to install. Encrypted members, other methods and split archives are refused.
 */
import * as zlib from "node:zlib";
import { UserError } from "../errors.js";

const EOCD = 0x06054b50;
const ZIP64_LOCATOR = 0x07064b50;
const ZIP64_EOCD = 0x06064b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;
const FULL32 = 0xffffffff;

/**
 * Every member of the zip archive `buf`, by name, decompressed (each a fresh `Buffer`). `file`
 * names the archive in errors: a damaged or unsupported archive is a one-line `UserError`.
 */
export function readZip(buf: Buffer, file: string): Map<string, Buffer> {
  const fail = (why: string): never => {
    throw new UserError(`${file}: ${why}`);
  };
  const u16 = (at: number) => (at + 2 <= buf.length ? buf.readUInt16LE(at) : fail("truncated zip archive"));
  const u32 = (at: number) => (at + 4 <= buf.length ? buf.readUInt32LE(at) : fail("truncated zip archive"));
  const u64 = (at: number) => (at + 8 <= buf.length ? Number(buf.readBigUInt64LE(at)) : fail("truncated zip archive"));

  // The end record is the last 22 bytes plus a comment of up to 65,535 bytes: search back for it.
  let end = -1;
  for (let at = buf.length - 22; at >= Math.max(0, buf.length - 22 - 0xffff) && end < 0; at--) if (buf.readUInt32LE(at) === EOCD) end = at;
  if (end < 0) fail("not a zip archive (no end-of-central-directory record; is it an .npz file?)");
  let count = u16(end + 10);
  let offset = u32(end + 16);
  if (u16(end + 4) !== 0 || u16(end + 6) !== 0) fail("a split (multi-disk) zip archive; join it into one file");
  if (end >= 20 && buf.readUInt32LE(end - 20) === ZIP64_LOCATOR) {
    const z = u64(end - 20 + 8);
    if (u32(z) !== ZIP64_EOCD) fail("damaged ZIP64 end record");
    count = u64(z + 32);
    offset = u64(z + 48);
  }

  const members = new Map<string, Buffer>();
  for (let i = 0, at = offset; i < count; i++) {
    if (u32(at) !== CENTRAL) fail(`damaged central directory (member ${i + 1} of ${count})`);
    const flags = u16(at + 8);
    const method = u16(at + 10);
    const crc = u32(at + 16);
    let packed = u32(at + 20);
    let size = u32(at + 24);
    const nameLen = u16(at + 28);
    const extraLen = u16(at + 30);
    let local = u32(at + 42);
    const name = buf.toString("utf8", at + 46, at + 46 + nameLen);
    // ZIP64 extra field (id 1): 64-bit values for exactly those of the three that read 0xFFFFFFFF.
    for (let e = at + 46 + nameLen; e + 4 <= at + 46 + nameLen + extraLen; e += 4 + u16(e + 2)) {
      if (u16(e) !== 1) continue;
      let p = e + 4;
      const next = () => u64((p += 8) - 8);
      if (size === FULL32) size = next();
      if (packed === FULL32) packed = next();
      if (local === FULL32) local = next();
    }
    at += 46 + nameLen + extraLen + u16(at + 32);
    if (flags & 1) fail(`${name} is encrypted`);
    if (u32(local) !== LOCAL) fail(`damaged local header of ${name}`);
    const start = local + 30 + u16(local + 26) + u16(local + 28);
    if (start + packed > buf.length) fail(`${name} runs past the end of the file (truncated?)`);
    const raw = buf.subarray(start, start + packed);
    let data: Buffer;
    if (method === 0) data = Buffer.from(raw);
    else if (method === 8) {
      try {
        data = zlib.inflateRawSync(raw);
      } catch (err) {
        return fail(`${name} does not inflate (${(err as Error).message})`);
      }
    } else return fail(`${name} is compressed with method ${method}; only stored (0) and deflate (8) members are read, as NumPy writes them`);
    if (data.length !== size) fail(`${name} has ${data.length} bytes, its header says ${size}`);
    // zlib.crc32 arrived in Node 20.15; on older Nodes the sizes are the only check.
    if (typeof zlib.crc32 === "function" && zlib.crc32(data) >>> 0 !== crc) fail(`${name} is damaged (CRC-32 mismatch)`);
    members.set(name, data);
  }
  return members;
}
