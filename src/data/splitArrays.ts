/**
 * A researcher's own arrays, whatever file held them (a folder of `.npy` files, an `.npz` archive, a
 * `.safetensors` file), made into a dataset one way:
 *
 *   x_train  uint8 [n, h, w] or [n, h, w, c] (8-bit pixels, normalised per channel by the training
 *            split's mean and std), or float32 [n, ...] (features, used as they are)
 *   y_train  integer labels [n] (any signed or unsigned width), each in 0..255
 *   x_test, y_test   the same for the test split
 *
 * plus class names where the file gives them (else the labels' numbers).
 */
import { existsSync, readFileSync } from "node:fs";
import { basename, resolve } from "node:path";
import { UserError } from "../errors.js";
import { channelStats, normalizePixels } from "./normalize.js";
import { DataError, type ChannelStats, type ImageDataset } from "./types.js";

/** One array: `data` is `[product of shape]`, row-major; its dtype is its typed array's. */
export type NumericArray = {
  shape: number[];
  data: Uint8Array | Int8Array | Uint16Array | Int16Array | Uint32Array | Int32Array | BigUint64Array | BigInt64Array | Float32Array | Float64Array;
};

/** The four arrays every format names the same way. */
export const SPLIT_ARRAYS = ["x_train", "y_train", "x_test", "y_test"] as const;
export type SplitArrays = Record<(typeof SPLIT_ARRAYS)[number], NumericArray>;

/** How a source describes itself: the file or folder, the kind, and how to name one of its arrays. */
export type ArraySource = {
  /** The folder or file, as given. */
  path: string;
  /** `.npy arrays`, `.npz archive`, ... for the run's `source`. */
  kind: string;
  /** An array's name in errors: `ROOT/x_train.npy`, `FILE.npz (x_train)`. */
  at: (array: string) => string;
};

/** NumPy's name of an array's dtype (`uint8`, `int64`, `float32`), from its typed array. */
export function dtypeName(a: NumericArray): string {
  return a.data.constructor.name.replace(/Array$/, "").replace(/^Big/, "").toLowerCase();
}

/** The dataset name of a folder or file of arrays: its base name without `.npz` or `.safetensors`. */
export function ownDatasetName(path: string): string {
  return basename(resolve(path)).replace(/\.(npz|safetensors)$/i, "");
}

/** A data file's bytes; a missing or unreadable file is a `DataError` naming it. */
export function readDataFile(path: string): Buffer {
  if (!existsSync(path)) throw new DataError(`${path}: file not found`);
  try {
    return readFileSync(path);
  } catch (err) {
    throw new DataError(`${path}: not readable (${(err as Error).message})`);
  }
}

/** `read()`, with a `UserError` of a file format's reader (`io/readZip.ts`, `io/safetensors.ts`) made a `DataError`. */
export function asDataError<T>(read: () => T): T {
  try {
    return read();
  } catch (err) {
    if (err instanceof UserError && !(err instanceof DataError)) throw new DataError(err.message);
    throw err;
  }
}

/** Class names (index = label) and where they came from, for errors. */
export type ClassNames = { names: string[]; from: string };

/** The class names of `path` (a `classes.txt`: one per line), or undefined when there is no such file. */
export function readClassesTxt(path: string): ClassNames | undefined {
  return existsSync(path) ? { names: readFileSync(path, "utf8").split("\n").map((l) => l.trim()).filter(Boolean), from: path } : undefined;
}

/**
 * The four arrays out of a file's named arrays (`.npz` members, safetensors tensors), or a
 * `DataError` naming the missing ones, what the file holds, and `howToSave`.
 */
export function pickSplitArrays(path: string, held: Record<string, NumericArray | undefined>, what: string, howToSave: string): SplitArrays {
  const missing = SPLIT_ARRAYS.filter((a) => !held[a]);
  if (missing.length) {
    const holds = Object.keys(held).join(", ") || "nothing";
    throw new DataError(`${path}: no ${missing.join(", ")} ${what}${missing.length > 1 ? "s" : ""} (it holds ${holds}); save with ${howToSave}`);
  }
  return Object.fromEntries(SPLIT_ARRAYS.map((a) => [a, held[a]])) as SplitArrays;
}

/** Labels as small non-negative integers, checked against the number of examples. */
function labels(a: NumericArray, where: string, n: number): Uint8Array {
  if (a.shape.length !== 1 || a.shape[0] !== n) throw new DataError(`${where}: shape [${a.shape}], expected [${n}] labels`);
  if (dtypeName(a).startsWith("float")) throw new DataError(`${where}: labels must be integers, not ${dtypeName(a)}`);
  return Uint8Array.from(a.data as ArrayLike<number | bigint>, (v, i) => {
    const k = Number(v);
    if (!(k >= 0 && k < 256)) throw new DataError(`${where}: label ${k} at ${i} is not in 0..255`);
    return k;
  });
}

/**
 * The dataset of `arrays` (see the file comment), with the source's class names if it has any.
 * Throws `DataError` naming the array that is wrong.
 */
export function datasetFromArrays(arrays: SplitArrays, source: ArraySource, classes?: ClassNames): ImageDataset {
  const { x_train: tr, x_test: te } = arrays;
  const [dtr, dte] = [dtypeName(tr), dtypeName(te)];
  if (dtr !== dte || tr.shape.slice(1).join() !== te.shape.slice(1).join()) {
    throw new DataError(`${source.path}: x_train is ${dtr} [${tr.shape}] but x_test is ${dte} [${te.shape}]; they must match past the first axis`);
  }
  const pixels = dtr === "uint8";
  if (!pixels && dtr !== "float32") throw new DataError(`${source.at("x_train")}: ${dtr}; images must be uint8 pixels or float32 features`);
  if (tr.shape.length < 2) throw new DataError(`${source.at("x_train")}: shape [${tr.shape}]; expected [n, ...] with one row per example`);
  const inputDim = tr.shape.slice(1).reduce((a, b) => a * b, 1);
  const ytr = labels(arrays.y_train, source.at("y_train"), tr.shape[0]);
  const yte = labels(arrays.y_test, source.at("y_test"), te.shape[0]);
  const numClasses = Math.max(...ytr, ...yte) + 1;
  if (numClasses < 2) throw new DataError(`${source.path}: one class only; a classifier needs at least 2`);
  const names = classes?.names ?? Array.from({ length: numClasses }, (_, i) => String(i));
  if (names.length < numClasses) throw new DataError(`${classes?.from}: ${names.length} class names for ${numClasses} classes`);
  const channels = pixels && tr.shape.length === 4 ? tr.shape[3] : 1;
  let stats: ChannelStats | undefined;
  let x = { train: tr.data as Float32Array, test: te.data as Float32Array };
  if (pixels) {
    const px = tr.data as Uint8Array; // [n, h, w, c] channels last
    stats = channelStats(px, channels);
    x = { train: normalizePixels(px, stats), test: normalizePixels(te.data as Uint8Array, stats) };
  }
  return {
    name: ownDatasetName(source.path),
    inputDim,
    numClasses,
    classNames: names.slice(0, numClasses),
    ...(stats ? { stats } : {}),
    ...(pixels && (tr.shape.length === 3 || tr.shape.length === 4) ? { shape: [tr.shape[1], tr.shape[2], channels] as const } : {}),
    source: `${resolve(source.path)} (${source.kind}: x_train ${dtr} [${tr.shape}], x_test [${te.shape}]${stats ? ", normalised by the training split" : ", features used as given"})`,
    train: { x: x.train, y: ytr, n: tr.shape[0] },
    test: { x: x.test, y: yte, n: te.shape[0] },
  };
}
