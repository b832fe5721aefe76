/**
 * Layer-wise capacity schedules: how many experts each of L MoE layers gets.
 *
 * For l = 0..L−1, `u = l / (L − 1)` (u = 0 when L = 1); the value is rounded to the nearest integer
 * (halves up) and clamped to `[eMin, eMax]`.
 *
 * Reference: DynaMoE (arXiv 2603.01697) names the schedules; the formulas are ours (spec §3).
 */

export const SCHEDULE_KINDS = ["uniform", "descending", "ascending", "pyramid", "wave", "valley", "custom"] as const;
export type ScheduleKind = (typeof SCHEDULE_KINDS)[number];

export type ScheduleConfig = {
  kind: ScheduleKind;
  /** Most experts in a layer. @default 8 */
  eMax: number;
  /** Fewest experts in a layer (≥ 1). @default 2 */
  eMin: number;
  /** Explicit expert counts, one per layer; required for `custom`, ignored otherwise. */
  custom?: number[];
  /** Wave frequency f (cycles over the depth). @default 1 */
  waveFrequency?: number;
  /** Wave phase φ in radians. @default 0 */
  wavePhase?: number;
};

/** Unclamped, unrounded value of a named schedule at depth fraction u ∈ [0, 1]. */
function scheduleValue(kind: Exclude<ScheduleKind, "custom">, u: number, cfg: ScheduleConfig): number {
  const { eMax, eMin } = cfg;
  const span = eMax - eMin;
  switch (kind) {
    case "uniform":
      return eMax;
    case "descending":
      return eMax - span * u;
    case "ascending":
      return eMin + span * u;
    case "pyramid":
      return eMin + span * (1 - Math.abs(2 * u - 1));
    case "valley":
      return eMax - span * (1 - Math.abs(2 * u - 1));
    case "wave": {
      const f = cfg.waveFrequency ?? 1;
      const phi = cfg.wavePhase ?? 0;
      return (eMax + eMin) / 2 + (span / 2) * Math.sin(2 * Math.PI * f * u + phi);
    }
  }
}

/**
 * Round half up, after snapping values within 1e-9 of a half, so that `sin(π) ≈ 1.2e-16` and
 * friends do not flip a rounding decision.
 */
function roundHalfUp(v: number): number {
  const snapped = Math.round(v * 1e9) / 1e9;
  return Math.floor(snapped + 0.5);
}

/**
 * Expert counts per layer: `number[L]`.
 * @throws Error when the configuration is inconsistent (validated configs never are).
 */
export function expertSchedule(layers: number, cfg: ScheduleConfig): number[] {
  if (!Number.isInteger(layers) || layers < 1) throw new Error(`layers must be a positive integer, got ${layers}`);
  if (cfg.kind === "custom") {
    if (!cfg.custom || cfg.custom.length !== layers) {
      throw new Error(`custom schedule needs ${layers} expert counts, got ${cfg.custom?.length ?? 0}`);
    }
    return [...cfg.custom];
  }
  if (cfg.eMin < 1 || cfg.eMin > cfg.eMax) throw new Error(`need 1 ≤ eMin ≤ eMax, got eMin=${cfg.eMin}, eMax=${cfg.eMax}`);
  const out: number[] = [];
  for (let l = 0; l < layers; l++) {
    const u = layers === 1 ? 0 : l / (layers - 1);
    const v = roundHalfUp(scheduleValue(cfg.kind, u, cfg));
    out.push(Math.min(cfg.eMax, Math.max(cfg.eMin, v)));
  }
  return out;
}
