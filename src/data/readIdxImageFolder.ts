/**
 * The four standard IDX files of MNIST-style datasets in one folder:
 * `train-images-idx3-ubyte`, `train-labels-idx1-ubyte`, `t10k-images-idx3-ubyte`,
 * `t10k-labels-idx1-ubyte`, each raw or with a `.gz` suffix.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { readIdx, type IdxArray } from "./idx.js";
import { normalizeSplit, type ChannelStats, type RawImageSplit } from "./normalize.js";
import { DataError, type ImageDataset } from "./types.js";

/** The file stems, without the optional `.gz`. */
export const IDX_FILES = {
  trainImages: "train-images-idx3-ubyte",
  trainLabels: "train-labels-idx1-ubyte",
  testImages: "t10k-images-idx3-ubyte",
  testLabels: "t10k-labels-idx1-ubyte",
} as const;

/** The path of `stem` or `stem.gz` in `dir` (raw preferred), or `undefined` when neither exists. */
export function findIdxFile(dir: string, stem: string): string | undefined {
  for (const name of [stem, `${stem}.gz`]) {
    const path = join(dir, name);
    if (existsSync(path)) return path;
  }
  return undefined;
}

/** True when all four IDX files are present in `dir`. */
export function hasIdxImageFolder(dir: string): boolean {
  return Object.values(IDX_FILES).every((stem) => findIdxFile(dir, stem) !== undefined);
}

/**
 * Read the train and test splits from `dir`. Images must be `[n, rows, cols]` with `rows * cols`
 * equal to `pixels`, labels `[n]` in `[0, numClasses)`. Returns raw 8-bit splits (`x`: `[n * pixels]`).
 * Throws `DataError` naming the missing or inconsistent file.
 */
export async function readIdxImageFolder(
  dir: string,
  opts: { pixels: number; numClasses: number },
): Promise<{ train: RawImageSplit; test: RawImageSplit }> {
  const paths = Object.fromEntries(
    Object.entries(IDX_FILES).map(([key, stem]) => {
      const path = findIdxFile(dir, stem);
      if (path === undefined) throw new DataError(`${dir}: missing ${stem} (or ${stem}.gz)`);
      return [key, path];
    }),
  ) as Record<keyof typeof IDX_FILES, string>;
  const [trainImages, trainLabels, testImages, testLabels] = await Promise.all([
    readIdx(paths.trainImages),
    readIdx(paths.trainLabels),
    readIdx(paths.testImages),
    readIdx(paths.testLabels),
  ]);
  return {
    train: toSplit(trainImages, paths.trainImages, trainLabels, paths.trainLabels, opts),
    test: toSplit(testImages, paths.testImages, testLabels, paths.testLabels, opts),
  };
}

/** Check the shapes and label range of one images/labels pair. */
function toSplit(
  images: IdxArray,
  imagesPath: string,
  labels: IdxArray,
  labelsPath: string,
  opts: { pixels: number; numClasses: number },
): RawImageSplit {
  if (images.dims.length !== 3 || images.dims[1] * images.dims[2] !== opts.pixels) {
    throw new DataError(`${imagesPath}: expected images of shape [n, rows, cols] with ${opts.pixels} pixels, found [${images.dims.join(", ")}]`);
  }
  if (labels.dims.length !== 1) throw new DataError(`${labelsPath}: expected labels of shape [n], found [${labels.dims.join(", ")}]`);
  const n = images.dims[0];
  if (labels.dims[0] !== n) throw new DataError(`${labelsPath}: ${labels.dims[0]} labels for ${n} images in ${imagesPath}`);
  const bad = labels.data.findIndex((v) => v >= opts.numClasses);
  if (bad >= 0) throw new DataError(`${labelsPath}: label ${labels.data[bad]} at index ${bad} is out of range [0, ${opts.numClasses})`);
  return { x: images.data, y: labels.data, n };
}

/** A 28×28 grey, 10-class dataset (MNIST, Fashion-MNIST) from a folder of the four IDX files, normalised. */
export async function loadIdx28Dataset(
  dir: string,
  meta: { name: "mnist" | "fashion-mnist"; classNames: string[]; source: string; stats: ChannelStats },
): Promise<ImageDataset> {
  const raw = await readIdxImageFolder(dir, { pixels: 784, numClasses: 10 });
  return {
    name: meta.name,
    inputDim: 784,
    numClasses: 10,
    classNames: meta.classNames,
    stats: meta.stats,
    shape: [28, 28, 1],
    source: meta.source,
    train: normalizeSplit(raw.train, meta.stats),
    test: normalizeSplit(raw.test, meta.stats),
  };
}
