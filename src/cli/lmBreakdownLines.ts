/**
 * A language model's evaluation broken down, as the lines `dynamoe train` and `dynamoe eval` print:
 * active experts, loss and accuracy by token-frequency bucket, then active experts by the quintile
 * of the position's loss (`analysis/activeByLoss.ts`).
 */
import type { LossRow } from "../analysis/activeByLoss.js";
import type { FrequencyRow } from "../train/evaluate.js";

export function lmBreakdownLines(r: { byFrequency?: FrequencyRow[]; byLoss?: LossRow[] }): string[] {
  const active = (a: number[]) => a.map((x) => x.toFixed(2)).join(", ");
  return [
    ...(r.byFrequency ?? []).map(
      (row) => `  ${row.bucket.padEnd(8)} tokens  active ${active(row.active)}  (${row.inputTokens} positions); as targets: loss ${row.loss.toFixed(3)}, accuracy ${(100 * row.accuracy).toFixed(1)}%`,
    ),
    ...(r.byLoss ?? []).map((row) => `  loss ${row.bucket.padEnd(7)} active ${active(row.active)}  (${row.positions} positions, loss ${row.lossFrom.toFixed(2)}–${row.lossTo.toFixed(2)})`),
  ];
}
