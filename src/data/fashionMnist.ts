/**
 * Fashion-MNIST (Xiao et al., 2017, arXiv:1708.07747): 60,000 training and 10,000 test images of
 * 28x28 grey clothing pictures, 10 classes. Read from the official gzipped IDX files that the Debian
 * package `dataset-fashion-mnist` installs, or from a folder of the four IDX files.
 */
import { existsSync } from "node:fs";
import { FASHION_MNIST_STATS } from "./normalize.js";
import { loadIdx28Dataset } from "./readIdxImageFolder.js";
import { DataError, type ImageDataset } from "./types.js";

/** Where `apt-get install dataset-fashion-mnist` puts the files. */
export const FASHION_MNIST_SYSTEM_DIR = "/usr/share/datasets/fashion-mnist";

export const FASHION_MNIST_CLASS_NAMES = [
  "T-shirt/top",
  "Trouser",
  "Pullover",
  "Dress",
  "Coat",
  "Sandal",
  "Shirt",
  "Sneaker",
  "Bag",
  "Ankle boot",
];

/**
 * Load Fashion-MNIST, normalised with mean 0.2860 and std 0.3530. `x`: `[n * 784]` float32,
 * `y`: `[n]`. `dataDir`: a folder holding the four IDX files (raw or `.gz`).
 * @default dataDir "/usr/share/datasets/fashion-mnist"
 */
export async function loadFashionMnist(opts: { dataDir?: string } = {}): Promise<ImageDataset> {
  const dir = opts.dataDir ?? FASHION_MNIST_SYSTEM_DIR;
  if (opts.dataDir === undefined && !existsSync(dir)) {
    throw new DataError(
      `Fashion-MNIST not found in ${dir}: install it with "sudo apt-get install dataset-fashion-mnist" or pass --data-dir DIR with the four IDX files`,
    );
  }
  const source = opts.dataDir === undefined ? `${dir} (Debian dataset-fashion-mnist)` : dir;
  return loadIdx28Dataset(dir, { name: "fashion-mnist", classNames: FASHION_MNIST_CLASS_NAMES, source, stats: FASHION_MNIST_STATS });
}
