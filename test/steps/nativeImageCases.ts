/**
 * Image models the native engine runs, one per routing rule and option, small enough for a test:
 * the cases `nativeImageStep.test.ts` (training) and `nativeImageEval.test.ts` (evaluation) hold
 * against jax-js.
 */
import { routerDefaults, type RouterConfig } from "../../src/moe/routers/registry.js";
import type { ImageModelConfig } from "../../src/models/imageModel.js";

/** A small image model: 20 inputs, 5 classes, d = 16, h = 24. */
export function model(kind: "dense" | "moe", router: RouterConfig, experts: number[]): ImageModelConfig {
  return { kind, inputDim: 20, numClasses: 5, d: 16, h: 24, layers: experts.length || 2, experts, router };
}

export const NATIVE_IMAGE_CASES: [string, ImageModelConfig][] = [
  ["dense", model("dense", routerDefaults("percentile"), [])],
  ["percentile, 4-3-2 experts (one token per expert at N = 2)", model("moe", routerDefaults("percentile"), [4, 3, 2])],
  ["top-2 with softmax-of-gates weights", model("moe", { ...routerDefaults("topk"), k: 2, renormalize: "softmax-of-gates" }, [4, 4])],
  ["threshold 0.3, no noise", model("moe", { ...routerDefaults("threshold"), threshold: 0.3, noise: 0 }, [5, 3])],
  // B = 24 over 4 experts: C = max(4, ⌈1.25·24/4⌉) = 8, so crowded experts drop tokens.
  ["switch (jitter, capacity, balancing and z-losses)", model("moe", routerDefaults("switch"), [4, 4])],
  ["switch at capacity 4 with a strong balancing loss (evaluation capacity 0.5)", model("moe", { ...routerDefaults("switch"), capacityFactorTrain: 0.5, capacityFactorEval: 0.5, balanceCoef: 0.5, zLossCoef: 0.1 }, [6, 2])],
  ["percentile with input jitter and noise (two draws per layer)", model("moe", { ...routerDefaults("percentile"), jitter: 0.05 }, [4, 4])],
  ["per-layer routers: Switch, then top-1", { ...model("moe", routerDefaults("percentile"), [4, 3]), layerRouters: [routerDefaults("switch"), { ...routerDefaults("topk"), k: 1 }] }],
  ["GShard (second-expert draw, capacity, aux losses; evaluation capacity 0.5)", model("moe", { ...routerDefaults("gshard"), capacityFactorTrain: 0.75, capacityFactorEval: 0.5 }, [4, 3])],
  ["expert choice", model("moe", routerDefaults("expert-choice"), [4, 3])],
  ["top-p with its entropy loss", model("moe", { ...routerDefaults("top-p"), entropyCoef: 0.05 }, [5, 3])],
  ["batch-percentile", model("moe", routerDefaults("batch-percentile"), [4, 4])],
  ["aux-free top-2 (balancing bias at γ 0.05)", model("moe", { ...routerDefaults("aux-free"), biasRate: 0.05 }, [4, 4])],
  ["remoe (ReLU gates, L1 at λ 0.05 growing 1.5× per step)", model("moe", { ...routerDefaults("remoe"), l1Init: 0.05, l1Growth: 1.5 }, [4, 3])],
  ["adamoe (top-4 over 4 real and 4 null experts, then 3 and 2, strong null-aware balancing)", model("moe", { ...routerDefaults("adamoe"), balanceCoef: 0.5 }, [4, 3])],
  ["top-any (sigmoid scores against trained thresholds)", model("moe", routerDefaults("top-any"), [4, 3])],
  ["top-2 with 2 shared experts (always-on FFN of 2h beside the routed experts)", { ...model("moe", { ...routerDefaults("topk"), k: 2 }, [4, 3]), sharedExperts: 2 }],
  ["percentile with a balancing bias (γ 0.05) and noise", model("moe", { ...routerDefaults("percentile"), biasRate: 0.05 }, [4, 3])],
  ["top-2 with a numeric dispatch capacity (crowded experts drop pairs)", { ...model("moe", { ...routerDefaults("topk"), k: 2 }, [4, 3]), capacity: 0.6 }],
];

