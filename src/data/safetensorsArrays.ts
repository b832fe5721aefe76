/**
 * A researcher's own arrays in one `.safetensors` file, as `safetensors.numpy.save_file` or
 * `safetensors.torch.save_file` writes it: tensors `x_train`, `y_train`, `x_test`, `y_test` (see
 * `splitArrays.ts`; U8 or F32 images, labels of any integer dtype), class names as an optional
 * JSON list in the metadata (`class_names` or `classes`), else an optional `classes.txt` beside the
 * file. The dataset's name is the file's, without `.safetensors`.
 */
import { dirname, join } from "node:path";
import { decodeAnySafetensors } from "../io/safetensors.js";
import { asDataError, datasetFromArrays, pickSplitArrays, readClassesTxt, readDataFile, type ClassNames } from "./splitArrays.js";
import { DataError, type ImageDataset } from "./types.js";

/** The metadata keys that may hold the class names (a JSON list of strings), in the order they are looked for. */
export const SAFETENSORS_CLASS_KEYS = ["class_names", "classes"] as const;

/** Load a `.safetensors` file of arrays (see the file comment). Throws `DataError` naming the file and what is wrong. */
export function loadSafetensorsArrays(path: string): ImageDataset {
  const { tensors, metadata } = asDataError(() => decodeAnySafetensors(readDataFile(path), path));
  const arrays = pickSplitArrays(path, tensors, "tensor", `save_file({"x_train": ..., "y_train": ..., "x_test": ..., "y_test": ...}, FILE)`);
  const key = SAFETENSORS_CLASS_KEYS.find((k) => metadata[k] !== undefined);
  const classes = key ? classList(metadata[key], `${path} (metadata ${key})`) : readClassesTxt(join(dirname(path), "classes.txt"));
  return datasetFromArrays(arrays, { path, kind: ".safetensors arrays", at: (array) => `${path} (${array})` }, classes);
}

/** A metadata value read as a JSON list of strings. */
function classList(text: string, from: string): ClassNames {
  let names: unknown;
  try {
    names = JSON.parse(text);
  } catch {
    names = undefined;
  }
  if (!Array.isArray(names) || !names.every((s) => typeof s === "string")) throw new DataError(`${from}: not a JSON list of strings, e.g. metadata={"class_names": json.dumps(["cat", "dog"])}`);
  return { names, from };
}
