/** Short labels of each MoE layer's training-step dispatch plan, for summaries and logs. */
import { moeConfig, type MoeStackConfig } from "../models/stackConfig.js";
import { moeLayerPlan } from "../moe/moeLayer.js";

/** Per MoE layer, e.g. `dense`, `gather C=40 batched`, `grouped 320 rows`, for `tokens` per step. */
export function dispatchLabels(cfg: MoeStackConfig & { kind: "dense" | "moe" }, tokens: number): string[] {
  if (cfg.kind !== "moe") return [];
  return cfg.experts.map((_, l) => {
    const p = moeLayerPlan(moeConfig(cfg, l), tokens, true);
    if (p.mode === "gather") return `gather C=${p.capacity}${p.batched ? " batched" : ""}`;
    if (p.mode === "grouped") return `grouped ${p.rows} rows`;
    return "dense";
  });
}
