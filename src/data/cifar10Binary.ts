/**
 * The official binary version of CIFAR-10 (https://www.cs.toronto.edu/~kriz/cifar.html):
 * `cifar-10-binary.tar.gz` holds `cifar-10-batches-bin/data_batch_{1..5}.bin` and `test_batch.bin`,
 * each 10,000 records of 1 label byte then 3072 pixel bytes, planes R, G, B of 32x32 (CHW).
 */
import { createReadStream, existsSync } from "node:fs";
import { open, readFile } from "node:fs/promises";
import { join } from "node:path";
import { pipeline } from "node:stream/promises";
import { createGunzip } from "node:zlib";
import type tarStream from "tar-stream";
import { requireOptional } from "../io/optionalPackage.js";
import type { RawImageSplit } from "./normalize.js";
import { DataError } from "./types.js";

const SIDE = 32;
const PLANE = SIDE * SIDE; // 1024
const PIXELS = 3 * PLANE; // 3072
const RECORD = 1 + PIXELS; // 3073

/** The batch files, in the order their images are concatenated. */
export const CIFAR10_TRAIN_BATCHES = ["data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin", "data_batch_4.bin", "data_batch_5.bin"];
export const CIFAR10_TEST_BATCH = "test_batch.bin";
/** The folder inside the official tarball. */
export const CIFAR10_BIN_FOLDER = "cifar-10-batches-bin";
/** The official tarball's file name. */
export const CIFAR10_TARBALL = "cifar-10-binary.tar.gz";

/**
 * Decode one batch file: records `[label, R[1024], G[1024], B[1024]]` into a split with
 * `x`: `[n * 32 * 32 * 3]` channels last (HWC) and `y`: `[n]`. `name` names the file in errors.
 */
export function decodeCifar10Batch(bytes: Uint8Array, name: string): RawImageSplit {
  if (bytes.length === 0 || bytes.length % RECORD !== 0) {
    throw new DataError(`${name}: corrupt CIFAR-10 batch (${bytes.length} bytes is not a whole number of ${RECORD}-byte records)`);
  }
  const n = bytes.length / RECORD;
  const x = new Uint8Array(n * PIXELS); // [n, 32, 32, 3]
  const y = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const rec = i * RECORD;
    const label = bytes[rec];
    if (label > 9) throw new DataError(`${name}: corrupt CIFAR-10 batch (label ${label} in record ${i}, expected 0..9)`);
    y[i] = label;
    const r = rec + 1;
    const out = i * PIXELS;
    for (let p = 0; p < PLANE; p++) {
      x[out + 3 * p] = bytes[r + p];
      x[out + 3 * p + 1] = bytes[r + PLANE + p];
      x[out + 3 * p + 2] = bytes[r + 2 * PLANE + p];
    }
  }
  return { x, y, n };
}

/** Concatenate splits in order. */
export function concatSplits(splits: RawImageSplit[]): RawImageSplit {
  const n = splits.reduce((a, s) => a + s.n, 0);
  const pixels = n === 0 ? 0 : splits[0].x.length / splits[0].n;
  const x = new Uint8Array(n * pixels);
  const y = new Uint8Array(n);
  let at = 0;
  for (const s of splits) {
    x.set(s.x, at * pixels);
    y.set(s.y, at);
    at += s.n;
  }
  return { x, y, n };
}

/** Decode the six batch files, given by base name, into train (batches 1..5) and test splits. */
function decodeBatches(files: Map<string, Uint8Array>, where: string): { train: RawImageSplit; test: RawImageSplit } {
  for (const f of [...CIFAR10_TRAIN_BATCHES, CIFAR10_TEST_BATCH]) {
    if (!files.has(f)) throw new DataError(`${where}: missing ${CIFAR10_BIN_FOLDER}/${f} (is this the binary version of CIFAR-10?)`);
  }
  const train = concatSplits(CIFAR10_TRAIN_BATCHES.map((f) => decodeCifar10Batch(files.get(f)!, `${where}: ${f}`)));
  const test = decodeCifar10Batch(files.get(CIFAR10_TEST_BATCH)!, `${where}: ${CIFAR10_TEST_BATCH}`);
  return { train, test };
}

/**
 * Read the official tarball (gzipped or plain tar), keeping only the six batch files.
 * Returns raw splits (`x`: `[n * 3072]` HWC). Throws `DataError` for a corrupt or incomplete archive.
 */
export async function readCifar10Tarball(path: string): Promise<{ train: RawImageSplit; test: RawImageSplit }> {
  let gzipped: boolean;
  try {
    const fh = await open(path, "r");
    const head = Buffer.alloc(2);
    await fh.read(head, 0, 2, 0);
    await fh.close();
    gzipped = head[0] === 0x1f && head[1] === 0x8b;
  } catch (err) {
    throw new DataError(`${path}: cannot read file (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  const wanted = new Set([...CIFAR10_TRAIN_BATCHES, CIFAR10_TEST_BATCH]);
  const files = new Map<string, Uint8Array>();
  const extract = requireOptional<typeof tarStream>("tar-stream", "reading the CIFAR-10 tarball").extract();
  // 1 MiB chunks: gunzip runs about twice as fast as with the default 16 KiB.
  const input = createReadStream(path, { highWaterMark: 1 << 20 });
  const done = gzipped ? pipeline(input, createGunzip({ chunkSize: 1 << 20 }), extract) : pipeline(input, extract);
  // Consume entries while the pipeline feeds them; a pipeline error also ends this loop.
  const reading = (async () => {
    try {
      for await (const entry of extract) {
        const base = entry.header.name.split("/").pop() ?? "";
        if (entry.header.type === "file" && wanted.has(base)) {
          const chunks: Buffer[] = [];
          for await (const chunk of entry) chunks.push(chunk as Buffer);
          files.set(base, Buffer.concat(chunks));
        } else {
          entry.resume();
        }
      }
    } catch (err) {
      extract.destroy(err as Error); // unblock the pipeline
      throw err;
    }
  })();
  const results = await Promise.allSettled([done, reading]);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === "rejected");
  if (failed !== undefined) {
    const err = failed.reason;
    const why = (err instanceof Error ? err.message : String(err)).split("\n")[0];
    throw new DataError(`${path}: corrupt or truncated archive (${why})`);
  }
  return decodeBatches(files, path);
}

/** True when `dir` holds the six batch files. */
export function hasCifar10BinaryFolder(dir: string): boolean {
  return [...CIFAR10_TRAIN_BATCHES, CIFAR10_TEST_BATCH].every((f) => existsSync(join(dir, f)));
}

/** Read an extracted `cifar-10-batches-bin` folder. Returns raw splits (`x`: `[n * 3072]` HWC). */
export async function readCifar10BinaryFolder(dir: string): Promise<{ train: RawImageSplit; test: RawImageSplit }> {
  const names = [...CIFAR10_TRAIN_BATCHES, CIFAR10_TEST_BATCH];
  const files = new Map<string, Uint8Array>();
  await Promise.all(
    names.map(async (f) => {
      if (existsSync(join(dir, f))) files.set(f, await readFile(join(dir, f)));
    }),
  );
  return decodeBatches(files, dir);
}
