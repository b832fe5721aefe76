/**
 * Learning-rate schedule: linear warm-up, then cosine decay, as a pure `(step) => lr`.
 *
 * `lr(s) = lr·(s+1)/W` for `s < W`; then `minLr + (lr − minLr)·(1 + cos(π·p))/2` with
 * `p = (s − W)/(S − W)`, where S is the total number of steps and `minLr = lr·minLrRatio`.
 */
export type LrScheduleOptions = {
  lr: number;
  warmupSteps: number;
  totalSteps: number;
  /** Final learning rate as a fraction of `lr`. @default 0 */
  minLrRatio: number;
};

export function cosineWithWarmup(o: LrScheduleOptions): (step: number) => number {
  const minLr = o.lr * o.minLrRatio;
  return (step) => {
    if (step < o.warmupSteps) return (o.lr * (step + 1)) / o.warmupSteps;
    const span = Math.max(1, o.totalSteps - o.warmupSteps);
    const p = Math.min(1, (step - o.warmupSteps) / span);
    return minLr + ((o.lr - minLr) * (1 + Math.cos(Math.PI * p))) / 2;
  };
}
