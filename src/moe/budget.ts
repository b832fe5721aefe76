/**
 * Budget matching (spec §3): rescale a layer-wise schedule so that its total expert count equals the
 * uniform schedule's, `L·E_max`, keeping its shape. Experts all have the same size, so the matched
 * schedules have the same number of expert parameters as uniform (active FLOPs per token still
 * depend on the routing).
 *
 * The rule [ours], for counts `s_l` (the schedule's, already rounded and clamped) with sum `S` and
 * target `T = L·E_max`:
 *   1. ideal shares `q_l = s_l · T / S`;
 *   2. `n_l = clamp(⌊q_l⌋, 1, cap)`, `cap = 2·E_max`;
 *   3. while `Σ n < T`: add one expert to the layer below `cap` with the largest shortfall `q_l − n_l`;
 *      while `Σ n > T`: remove one from the layer above 1 with the largest excess `n_l − q_l`;
 *      ties (within 1e-9) go to the lowest layer index.
 * Without the clamps this is the largest-remainder (Hamilton) apportionment of T in proportion to
 * the schedule. The cap keeps a sharply peaked shape from piling the budget into one layer (pyramid
 * with E_min = 1 at L = 3 would otherwise put 19 of 24 experts in the middle layer); where it binds,
 * the excess goes to the other layers and the shape flattens. T is always reached: every layer can
 * hold between 1 ≤ E_max and `cap` ≥ E_max experts, and L·1 ≤ T ≤ L·cap.
 *
 * Reference: DynaMoE (arXiv 2603.01697) did not match budgets across schedules [review]; spec §3.
 */

export const BUDGETS = ["free", "matched"] as const;
export type Budget = (typeof BUDGETS)[number];

/** Ties in shortfall or excess closer than this are broken by layer index. */
const TIE = 1e-9;

/**
 * Rescale `experts` (one count ≥ 1 per layer) to the total `L·eMax` by the rule above: `number[L]`.
 * @throws Error on an empty list, a count below 1 or `eMax < 1`.
 */
export function matchBudget(experts: readonly number[], eMax: number): number[] {
  const L = experts.length;
  if (L === 0) throw new Error("matchBudget: no layers");
  if (!(eMax >= 1) || experts.some((e) => !Number.isInteger(e) || e < 1)) {
    throw new Error(`matchBudget: need eMax ≥ 1 and counts ≥ 1, got eMax=${eMax}, [${experts.join(", ")}]`);
  }
  const target = L * eMax;
  const cap = 2 * eMax;
  const sum = experts.reduce((a, b) => a + b, 0);
  const q = experts.map((e) => (e * target) / sum);
  const n = q.map((v) => Math.min(cap, Math.max(1, Math.floor(v))));
  let total = n.reduce((a, b) => a + b, 0);
  /** The layer index with the largest `score(l)` among `eligible` ones (ties: the lowest index). */
  const pick = (eligible: (l: number) => boolean, score: (l: number) => number): number => {
    let best = -1;
    for (let l = 0; l < L; l++) {
      if (!eligible(l)) continue;
      if (best < 0 || score(l) > score(best) + TIE) best = l;
    }
    return best;
  };
  while (total < target) {
    const l = pick((i) => n[i] < cap, (i) => q[i] - n[i]);
    n[l] += 1; // a layer below cap always exists: L·cap ≥ T
    total += 1;
  }
  while (total > target) {
    const l = pick((i) => n[i] > 1, (i) => n[i] - q[i]);
    n[l] -= 1; // a layer above 1 always exists: L·1 ≤ T
    total -= 1;
  }
  return n;
}
