/**
 * A researcher's own arrays in one NumPy `.npz` archive, as `np.savez` (stored members) or
 * `np.savez_compressed` (deflate members) writes it:
 *
 *   np.savez("digits.npz", x_train=..., y_train=..., x_test=..., y_test=..., class_names=np.array([...]))
 *
 * with the four arrays of `splitArrays.ts`, and class names as an optional string member
 * `class_names` (or `classes`), else an optional `classes.txt` beside the file. The dataset's name is
 * the file's, without `.npz`.
 */
import { dirname, join } from "node:path";
import { readZip } from "../io/readZip.js";
import { parseNpy, parseNpyStrings } from "./npyArrays.js";
import { asDataError, datasetFromArrays, pickSplitArrays, readClassesTxt, readDataFile, SPLIT_ARRAYS } from "./splitArrays.js";
import type { ImageDataset } from "./types.js";

/** The members that may hold the class names, in the order they are looked for. */
export const NPZ_CLASS_MEMBERS = ["class_names", "classes"] as const;

/** Load an `.npz` archive of arrays (see the file comment). Throws `DataError` naming the file and what is wrong. */
export function loadNpz(path: string): ImageDataset {
  const members = new Map([...asDataError(() => readZip(readDataFile(path), path))].map(([name, bytes]) => [name.replace(/\.npy$/, ""), bytes]));
  const at = (array: string) => `${path} (${array})`;
  // Only the four arrays are parsed as numbers; the others are listed by name.
  const held = Object.fromEntries([...members.keys()].map((m) => [m, (SPLIT_ARRAYS as readonly string[]).includes(m) ? parseNpy(members.get(m)!, at(m)) : undefined]));
  const arrays = pickSplitArrays(path, held, "array", "np.savez(FILE, x_train=..., y_train=..., x_test=..., y_test=...)");
  const member = NPZ_CLASS_MEMBERS.find((m) => members.has(m));
  const classes = member ? { names: parseNpyStrings(members.get(member)!, at(member)), from: at(member) } : readClassesTxt(join(dirname(path), "classes.txt"));
  return datasetFromArrays(arrays, { path, kind: ".npz archive", at }, classes);
}
