/**
 * Active experts per token against how hard the token is [ours]: the paper's premise is that harder
 * tokens need more experts. A language model's evaluation positions are ranked by their next-token
 * loss and cut into equal-count quantiles (ties kept in position order); for each quantile, the mean
 * loss and each MoE layer's mean number of active experts at those positions.
 */

/** One loss quantile of the evaluated positions. */
export type LossRow = {
  /** "0–20%": the fifth of positions with the lowest loss, and so on. */
  bucket: string;
  positions: number;
  /** Lowest and highest loss in the quantile, and its mean (nats). */
  lossFrom: number;
  lossTo: number;
  loss: number;
  /** Mean experts active per position, per MoE layer. */
  active: number[];
};

/** Quantiles of `activeByLoss` unless asked otherwise. */
export const LOSS_QUANTILES = 5;

/**
 * `losses` `[P]` per position; `active[l]` `[P]` the experts active at each position in MoE layer l.
 * Returns `quantiles` rows, lowest loss first (fewer when there are fewer positions than quantiles).
 */
export function activeByLoss(losses: ArrayLike<number>, active: ArrayLike<number>[], quantiles = LOSS_QUANTILES): LossRow[] {
  const p = losses.length;
  for (const a of active) if (a.length !== p) throw new Error(`activeByLoss: ${a.length} active counts for ${p} losses`);
  const order = Array.from({ length: p }, (_, i) => i).sort((i, j) => losses[i] - losses[j] || i - j);
  const q = Math.min(quantiles, p);
  const rows: LossRow[] = [];
  for (let b = 0; b < q; b++) {
    const from = Math.floor((b * p) / q), to = Math.floor(((b + 1) * p) / q);
    let lossSum = 0;
    const activeSum = new Array<number>(active.length).fill(0);
    for (let r = from; r < to; r++) {
      const i = order[r];
      lossSum += losses[i];
      active.forEach((a, l) => (activeSum[l] += a[i]));
    }
    const n = to - from;
    rows.push({
      bucket: `${Math.round((100 * b) / q)}–${Math.round((100 * (b + 1)) / q)}%`,
      positions: n,
      lossFrom: losses[order[from]],
      lossTo: losses[order[to - 1]],
      loss: lossSum / n,
      active: activeSum.map((s) => s / n),
    });
  }
  return rows;
}
