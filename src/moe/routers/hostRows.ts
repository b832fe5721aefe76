/** Row helpers for the host forms of the rules that select each token's experts on their own. */
import type { HostScratch, HostSelectInput } from "./rule.js";

/** Index of the first maximum of `s[at .. at+n)`. */
export function argmaxRow(s: Float32Array, at: number, n: number): number {
  let best = 0;
  for (let i = 1; i < n; i++) if (s[at + i] > s[at + best]) best = i;
  return best;
}

/** Selects the experts of the token row starting at `at` into `mask`; returns how many. */
export type RowSelect = (s: Float32Array, at: number, n: number, mask: Uint8Array, cfg: HostSelectInput["cfg"], scratch: HostScratch) => number;

/** A host selection that applies `row` to every token. */
export function perRow(row: RowSelect): (inp: HostSelectInput) => void {
  return ({ scores, t, n, mask, cfg, scratch }) => {
    for (let r = 0; r < t; r++) row(scores, r * n, n, mask, cfg, scratch);
  };
}

/**
 * Select every expert whose score passes `keep`, or the row's argmax when none does (the minimum of
 * one expert, first index on ties); returns how many.
 */
export function selectPassingOrArgmax(s: Float32Array, at: number, n: number, mask: Uint8Array, keep: (score: number) => boolean): number {
  let count = 0;
  for (let i = 0; i < n; i++) if (keep(s[at + i])) (mask[at + i] = 1), count++;
  if (count === 0) {
    mask[at + argmaxRow(s, at, n)] = 1;
    count = 1;
  }
  return count;
}
