/**
 * A cache of decoded 8-bit train/test splits as one raw binary file, so that a dataset stored in a
 * slow format (PNG strips, a gzipped tarball) decodes once. Layout, little-endian:
 * `"DYNAMOE-RAWSPLIT" (16 bytes), nTrain u32, nTest u32, pixelsPerExample u32, 0 u32,
 * yTrain[nTrain], yTest[nTest], xTrain[nTrain * pixels], xTest[nTest * pixels]`.
 * Files are written to a temporary name and renamed, so a reader never sees half a file.
 */
import { createHash } from "node:crypto";
import { join } from "node:path";
import { readCacheFile, writeCacheFile } from "./cacheFile.js";
import type { RawImageSplit } from "./normalize.js";

const MAGIC = Buffer.from("DYNAMOE-RAWSPLIT", "latin1"); // 16 bytes
const HEADER = 32;

/** The cache file for a dataset decoded from `source` (any string that changes when the input does). */
export function rawSplitCachePath(dir: string, dataset: string, source: string): string {
  const key = createHash("sha256").update(source).digest("hex").slice(0, 16);
  return join(dir, "decoded", `${dataset}-${key}.raw`);
}

/** Read a cache file; `undefined` when it is missing or does not have the expected layout. */
export async function readRawSplitCache(path: string): Promise<{ train: RawImageSplit; test: RawImageSplit } | undefined> {
  const buf = await readCacheFile(path, MAGIC, HEADER);
  if (!buf) return undefined;
  const nTrain = buf.readUInt32LE(16);
  const nTest = buf.readUInt32LE(20);
  const pixels = buf.readUInt32LE(24);
  if (buf.length !== HEADER + (nTrain + nTest) * (1 + pixels)) return undefined;
  // Views into one buffer: no copies.
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  let at = HEADER;
  const take = (len: number) => bytes.subarray(at, (at += len));
  const yTrain = take(nTrain);
  const yTest = take(nTest);
  const xTrain = take(nTrain * pixels);
  const xTest = take(nTest * pixels);
  return { train: { x: xTrain, y: yTrain, n: nTrain }, test: { x: xTest, y: yTest, n: nTest } };
}

/** Write a cache file atomically (temporary file, then rename). */
export async function writeRawSplitCache(path: string, splits: { train: RawImageSplit; test: RawImageSplit }): Promise<void> {
  const { train, test } = splits;
  const pixels = train.n > 0 ? train.x.length / train.n : test.x.length / Math.max(test.n, 1);
  const header = Buffer.alloc(HEADER);
  MAGIC.copy(header, 0);
  header.writeUInt32LE(train.n, 16);
  header.writeUInt32LE(test.n, 20);
  header.writeUInt32LE(pixels, 24);
  await writeCacheFile(path, [header, train.y, test.y, train.x, test.x]);
}
