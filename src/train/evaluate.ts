/**
 * Evaluation of an image model on a split: mean cross-entropy, accuracy, mean active experts per
 * layer and the routing analytics of spec §7 per layer, in fixed-size batches (the last, smaller
 * batch compiles once more).
 */
import { routerWidth } from "../moe/routers/registry.js";
import { layerRouter, sharedHidden } from "../models/stackConfig.js";
import { numpy as np } from "../engine/jax.js";
import {
  addRoutingCounts,
  routingCountsSize,
  routingStatsFromCounts,
  unpackRoutingCounts,
  type LayerRoutingStats,
  type RoutingCounts,
} from "../analysis/routingStats.js";
import type { LossRow } from "../analysis/activeByLoss.js";
import { gatherBatch } from "../data/batches.js";
import type { ImageSplit } from "../data/types.js";
import type { ImageModelConfig, ImageModelParams } from "../models/imageModel.js";
import { makeEvalStep } from "../steps/imageStep.js";

export type EvalResult = {
  loss: number;
  accuracy: number;
  /** Mean experts active per token, per MoE layer (empty for dense). */
  active: number[];
  /** Routing analytics per MoE layer over the whole split (empty for dense). */
  routing: LayerRoutingStats[];
  /** Examples evaluated (images, or tokens for language models). */
  n: number;
  /** Language models: `exp(loss)`. */
  perplexity?: number;
  /** Language models: loss, accuracy and active experts by token-frequency bucket (`lmEvaluate.ts`). */
  byFrequency?: FrequencyRow[];
  /** Language models with MoE layers: active experts per layer by the position's loss quantile (`analysis/activeByLoss.ts`). */
  byLoss?: LossRow[];
};

/** One token-frequency bucket (ranks in the training text) of a language model's evaluation. */
export type FrequencyRow = {
  bucket: string;
  /** Positions whose input token is in the bucket, and their mean active experts per MoE layer. */
  inputTokens: number;
  active: number[];
  /** Positions whose target token is in the bucket, and the loss and accuracy on them. */
  targetTokens: number;
  loss: number;
  accuracy: number;
};

export type Evaluator = (params: ImageModelParams, split: ImageSplit) => Promise<EvalResult>;

/** Build an evaluator for one model configuration (the jitted pass is compiled once and reused). */
export function makeEvaluator(cfg: ImageModelConfig, batchSize: number): Evaluator {
  const step = makeEvalStep(cfg);
  const layers = cfg.kind === "moe" ? cfg.layers : 0;
  const experts = cfg.experts.slice(0, layers);
  const sizes = experts.map((n) => routingCountsSize(n, cfg.numClasses));
  return async (params, split) => {
    let lossSum = 0;
    let correct = 0;
    const activeSum = new Array<number>(layers).fill(0);
    let counts: RoutingCounts[] | null = null;
    for (let start = 0; start < split.n; start += batchSize) {
      const size = Math.min(batchSize, split.n - start);
      const { x, y } = gatherBatch(split, null, start, size, cfg.inputDim);
      const out = await step(params, np.array(x).reshape([size, cfg.inputDim]), np.array(y, { dtype: np.int32 })).data();
      lossSum += out[0];
      correct += out[1];
      for (let l = 0; l < layers; l++) activeSum[l] += out[2 + l];
      let at = 2 + layers;
      const batchCounts = experts.map((n, l) => unpackRoutingCounts(out.subarray(at, (at += sizes[l])), n, cfg.numClasses));
      counts = counts ? counts.map((c, l) => addRoutingCounts(c, batchCounts[l])) : batchCounts;
    }
    return {
      loss: lossSum / split.n,
      accuracy: correct / split.n,
      active: activeSum.map((s) => s / split.n),
      routing: (counts ?? []).map((c, l) => routingStatsFromCounts(c, { d: cfg.d, h: cfg.h, routerOutputs: routerWidth(cfg.experts[l], layerRouter(cfg, l)), sharedHidden: sharedHidden(cfg) })),
      n: split.n,
    };
  };
}

/** One-shot evaluation (compiles a fresh evaluator). */
export function evaluate(params: ImageModelParams, split: ImageSplit, cfg: ImageModelConfig, batchSize = 1000): Promise<EvalResult> {
  return makeEvaluator(cfg, batchSize)(params, split);
}
