/** The shape every image-classification data source is loaded into. */
import { UserError } from "../errors.js";

/** Per-channel mean and standard deviation of pixels scaled to `[0, 1]`. */
export type ChannelStats = { mean: readonly number[]; std: readonly number[] };

/** One split of an image dataset, already normalised. */
export type ImageSplit = {
  /** `[n * inputDim]` row-major, normalised float32 features (images flattened, channels last for CIFAR). */
  x: Float32Array;
  /** `[n]` integer class labels in `[0, numClasses)`. */
  y: Uint8Array;
  /** Number of examples. */
  n: number;
};

export type ImageDatasetName = "mnist" | "fashion-mnist" | "cifar10";

/** A train/test image dataset with its metadata. */
export type ImageDataset = {
  /** A built-in dataset's name, or the name of a folder of images (`imageFolder.ts`). */
  name: ImageDatasetName | (string & {});
  /** Flattened input size: 784 for MNIST and Fashion-MNIST, 3072 for CIFAR-10. */
  inputDim: number;
  numClasses: number;
  /** Human-readable class names, index = label. */
  classNames: string[];
  /** How 8-bit pixels (channels last) were normalised: `(v / 255 − mean[c]) / std[c]`, where known. */
  stats?: ChannelStats;
  /** Height, width and channels of one image, where known (`inputDim` = their product). */
  shape?: readonly [number, number, number];
  /** Where the data came from (package, directory or file), for the run's config and report. */
  source: string;
  train: ImageSplit;
  test: ImageSplit;
};

/** A user-facing data problem (missing package, corrupt or truncated file): one line, no stack trace. */
export class DataError extends UserError {
  override name = "DataError";
}
