/** Load a built-in image dataset by name, or a folder of images per class by its path. */
import { loadCifar10 } from "./cifar10.js";
import { loadFashionMnist } from "./fashionMnist.js";
import { loadImageFolder } from "./imageFolder.js";
import { isNpyFolder, loadNpyFolder } from "./npyArrays.js";
import { loadNpz } from "./npzArchive.js";
import { loadMnist } from "./mnist.js";
import { loadSafetensorsArrays } from "./safetensorsArrays.js";
import { DataError, type ImageDataset, type ImageDatasetName } from "./types.js";

export const IMAGE_DATASET_NAMES: readonly ImageDatasetName[] = ["mnist", "fashion-mnist", "cifar10"];

/**
 * Load `name` with its train and test splits normalised (see each loader for the source and the
 * statistics). `dataDir` replaces the default source with a folder of the dataset's official files.
 * Any other name is the researcher's own data: an `.npz` archive (`npzArchive.ts`), a `.safetensors`
 * file (`safetensorsArrays.ts`), a folder of `.npy` arrays (`npyArrays.ts`) or a folder of images per
 * class (`imageFolder.ts`). Throws `DataError` for data that is missing or corrupt.
 */
export function loadImageDataset(name: ImageDatasetName | (string & {}), opts: { dataDir?: string } = {}): Promise<ImageDataset> {
  switch (name) {
    case "mnist":
      return loadMnist(opts);
    case "fashion-mnist":
      return loadFashionMnist(opts);
    case "cifar10":
      return loadCifar10(opts);
    default:
      try {
        return Promise.resolve(loadOwnData(name));
      } catch (err) {
        return Promise.reject(err);
      }
  }
}

/** The researcher's own data at `path`, by its extension or, for a folder, by what it holds. */
function loadOwnData(path: string): ImageDataset {
  if (/\.npz$/i.test(path)) return loadNpz(path);
  if (/\.safetensors$/i.test(path)) return loadSafetensorsArrays(path);
  return isNpyFolder(path) ? loadNpyFolder(path) : loadImageFolder(path);
}
