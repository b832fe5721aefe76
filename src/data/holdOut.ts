/**
 * The images' validation split [ours]: `n` training images held out by a seeded shuffle, the same
 * for every run seed (`IMAGE_VALIDATION_SEED`), so seeds are compared on the same images. The rest
 * stay training images, as row indices into the training split in their original order (no copy of
 * the training pixels); the held-out images are copied into their own split for the evaluator.
 */
import { uniformInt } from "pure-rand/distribution/uniformInt";
import { xoroshiro128plus } from "pure-rand/generator/xoroshiro128plus";
import { UserError } from "../errors.js";
import type { ImageSplit } from "./types.js";

/** Images held out by `validation: "auto"`, at most (and never more than a tenth of the training split). */
export const AUTO_VALIDATION_IMAGES = 5000;

/** The images a `validation` setting holds out of `n` training images. */
export function validationSize(setting: "auto" | number, n: number): number {
  return setting === "auto" ? Math.min(AUTO_VALIDATION_IMAGES, Math.floor(n / 10)) : setting;
}

/** The seed of the images' validation hold-out (fixed: it does not follow the run's seed). */
export const IMAGE_VALIDATION_SEED = 20260301;

export type HeldOut = {
  /** Rows of the training split left for training, ascending. */
  trainRows: Int32Array;
  /** The held-out images, in ascending row order. */
  validation: ImageSplit;
};

/** Hold out `n` of `split`'s `split.n` images (`n` = 0: none held out). */
export function holdOut(split: ImageSplit, n: number, inputDim: number): HeldOut {
  if (n >= split.n) throw new UserError(`validation: ${n} held-out images leave none of the ${split.n} training images to train on (set validation lower, or 0)`);
  const rng = xoroshiro128plus(IMAGE_VALIDATION_SEED);
  const perm = new Int32Array(split.n);
  for (let i = 0; i < split.n; i++) perm[i] = i;
  // The first n places of a Fisher–Yates shuffle, drawn from the front.
  for (let i = 0; i < n; i++) {
    const j = uniformInt(rng, i, split.n - 1);
    const t = perm[i];
    perm[i] = perm[j];
    perm[j] = t;
  }
  const held = perm.slice(0, n).sort();
  const isHeld = new Uint8Array(split.n);
  for (const r of held) isHeld[r] = 1;
  const trainRows = new Int32Array(split.n - n);
  for (let r = 0, k = 0; r < split.n; r++) if (!isHeld[r]) trainRows[k++] = r;
  const x = new Float32Array(n * inputDim);
  const y = new Uint8Array(n);
  held.forEach((r, i) => {
    x.set(split.x.subarray(r * inputDim, (r + 1) * inputDim), i * inputDim);
    y[i] = split.y[r];
  });
  return { trainRows, validation: { x, y, n } };
}
