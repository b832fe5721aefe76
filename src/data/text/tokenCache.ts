/**
 * A cache of a tokenized corpus as one flat binary file, so a corpus is tokenized once. Layout,
 * little-endian: `"DYNAMOE-TOKENS-1" (16 bytes), count u64, 0 u64, key (32 bytes), sha256 of the
 * token bytes (32 bytes), tokens u16[count]`. The header lets a reader reject a truncated, damaged
 * or foreign file; files are written to a temporary name and renamed, so a reader never sees half a file.
 */
import { createHash } from "node:crypto";
import { endianness } from "node:os";
import { join } from "node:path";
import { readCacheFile, writeCacheFile } from "../cacheFile.js";

const MAGIC = Buffer.from("DYNAMOE-TOKENS-1", "latin1"); // 16 bytes
const HEADER = 96;

/** The cache file for tokens keyed by `key` (a 32-byte digest of the corpus text and tokenizer). */
export function tokenCachePath(dir: string, tokenizer: string, key: Uint8Array): string {
  return join(dir, "tokens", `${tokenizer}-${Buffer.from(key).toString("hex").slice(0, 16)}.tokens`);
}

/** Read a cache file: tokens `[count]`, or `undefined` when it is missing, damaged or holds another key. */
export async function readTokenCache(path: string, key: Uint8Array): Promise<Uint16Array | undefined> {
  const buf = await readCacheFile(path, MAGIC, HEADER);
  if (!buf) return undefined;
  const count = buf.readBigUInt64LE(16);
  if (BigInt(buf.length) !== BigInt(HEADER) + 2n * count) return undefined;
  if (!buf.subarray(32, 64).equals(key)) return undefined;
  const body = buf.subarray(HEADER);
  if (!createHash("sha256").update(body).digest().equals(buf.subarray(64, 96))) return undefined;
  // A copy, so the array is 2-byte aligned whatever offset readFile's buffer has.
  const tokens = new Uint16Array(Number(count));
  const bytes = Buffer.from(tokens.buffer);
  body.copy(bytes);
  if (endianness() === "BE") bytes.swap16();
  return tokens;
}

/** Write tokens `[count]` to a cache file atomically (temporary file, then rename). */
export async function writeTokenCache(path: string, key: Uint8Array, tokens: Uint16Array): Promise<void> {
  const body = Buffer.from(tokens.buffer, tokens.byteOffset, tokens.byteLength);
  const le = endianness() === "BE" ? Buffer.from(body).swap16() : body;
  const header = Buffer.alloc(HEADER);
  MAGIC.copy(header, 0);
  header.writeBigUInt64LE(BigInt(tokens.length), 16);
  Buffer.from(key).copy(header, 32);
  createHash("sha256").update(le).digest().copy(header, 64);
  await writeCacheFile(path, [header, le]);
}
