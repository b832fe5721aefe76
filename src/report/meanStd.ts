/** Mean and sample standard deviation over seeds. */

/** `n` values' mean and sample std `sqrt(Σ (x − mean)² / (n − 1))`; std is null for fewer than 2 values, mean null for none. */
export type MeanStd = { mean: number | null; std: number | null; n: number };

export function meanStd(values: number[]): MeanStd {
  const xs = values.filter((v) => Number.isFinite(v));
  const n = xs.length;
  if (n === 0) return { mean: null, std: null, n: 0 };
  const mean = xs.reduce((s, v) => s + v, 0) / n;
  if (n < 2) return { mean, std: null, n };
  const variance = xs.reduce((s, v) => s + (v - mean) ** 2, 0) / (n - 1);
  return { mean, std: Math.sqrt(variance), n };
}

/** `97.81 ± 0.08` (`97.74` alone for one value, `-` for none), at `digits` decimals. */
export function formatMeanStd(m: MeanStd, digits = 2): string {
  if (m.mean === null) return "-";
  return m.std === null ? m.mean.toFixed(digits) : `${m.mean.toFixed(digits)} ± ${m.std.toFixed(digits)}`;
}

/**
 * Per x, the mean ± std of several seeds' series `[{x, y}]`; an x is kept where at least one seed
 * has it, and `n` says how many.
 */
export function seriesBand(series: { x: number; y: number }[][]): { x: number; mean: number; std: number | null; n: number }[] {
  const byX = new Map<number, number[]>();
  for (const s of series) for (const { x, y } of s) byX.set(x, [...(byX.get(x) ?? []), y]);
  return [...byX.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([x, ys]) => {
      const m = meanStd(ys);
      return { x, mean: m.mean!, std: m.std, n: m.n };
    })
    .filter((p) => p.mean !== null && Number.isFinite(p.mean));
}
