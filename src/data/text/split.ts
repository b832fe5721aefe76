/**
 * A seeded, document-level train/validation split of a corpus. Whole documents go to one side, so
 * validation text is never a continuation of training text.
 */
import { UserError } from "../../errors.js";
import { epochPermutation } from "../batches.js";
import { DataError } from "../types.js";

/** Document indices of each side, ascending; saved with the run so the split can be reproduced. */
export type DocumentSplit = { train: number[]; validation: number[] };

export type SplitOptions = {
  /** Seed of the shuffle; the split depends only on (seed, number of documents). */
  seed: number;
  /**
   * Fraction of the documents held out for validation, in (0, 1); rounded to the nearest count and
   * clamped so that each side gets at least one document.
   * @default 0.1
   */
  validationFraction?: number;
};

/**
 * Split documents `0..n-1` into train and validation: `round(n * validationFraction)` documents,
 * clamped to `[1, n - 1]`, are drawn for validation by a seeded shuffle (`epochPermutation(seed, 0, n)`).
 * Throws `DataError` for fewer than 2 documents and `UserError` for a fraction outside (0, 1).
 */
export function splitDocuments(n: number, opts: SplitOptions): DocumentSplit {
  const fraction = opts.validationFraction ?? 0.1;
  if (!(fraction > 0 && fraction < 1)) throw new UserError(`validation fraction must be between 0 and 1 (exclusive), got ${fraction}`);
  if (n < 2) throw new DataError(`a train/validation split needs at least 2 documents, the corpus has ${n}`);
  const nValidation = Math.min(n - 1, Math.max(1, Math.round(n * fraction)));
  const perm = epochPermutation(opts.seed, 0, n); // [n]
  const validation = Array.from(perm.subarray(0, nValidation)).sort((a, b) => a - b);
  const held = new Set(validation);
  const train: number[] = [];
  for (let i = 0; i < n; i++) if (!held.has(i)) train.push(i);
  return { train, validation };
}
