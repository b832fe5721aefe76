/** Load any of the image datasets by name. */
import { loadCifar10 } from "./cifar10.js";
import { loadFashionMnist } from "./fashionMnist.js";
import { loadMnist } from "./mnist.js";
import { DataError, type ImageDataset, type ImageDatasetName } from "./types.js";

export const IMAGE_DATASET_NAMES: readonly ImageDatasetName[] = ["mnist", "fashion-mnist", "cifar10"];

/**
 * Load `name` with its train and test splits normalised (see each loader for the source and the
 * statistics). `dataDir` replaces the default source with a folder of the dataset's official files.
 * Throws `DataError` for an unknown name or data that is missing or corrupt.
 */
export function loadImageDataset(name: ImageDatasetName, opts: { dataDir?: string } = {}): Promise<ImageDataset> {
  switch (name) {
    case "mnist":
      return loadMnist(opts);
    case "fashion-mnist":
      return loadFashionMnist(opts);
    case "cifar10":
      return loadCifar10(opts);
    default:
      // Reached from untyped callers (config files, the CLI).
      return Promise.reject(new DataError(`unknown dataset "${String(name)}": the choices are ${IMAGE_DATASET_NAMES.join(", ")}`));
  }
}
