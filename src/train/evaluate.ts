/**
 * Evaluation of an image model on a split: mean cross-entropy, accuracy and mean active experts
 * per layer, in fixed-size batches (the last, smaller batch compiles once more).
 */
import { numpy as np } from "../engine/jax.js";
import { gatherBatch } from "../data/batches.js";
import type { ImageSplit } from "../data/types.js";
import type { ImageModelConfig, ImageModelParams } from "../models/imageModel.js";
import { makeEvalStep } from "./trainStep.js";

export type EvalResult = {
  loss: number;
  accuracy: number;
  /** Mean experts active per token, per MoE layer (empty for dense). */
  active: number[];
  n: number;
};

export type Evaluator = (params: ImageModelParams, split: ImageSplit) => Promise<EvalResult>;

/** Build an evaluator for one model configuration (the jitted pass is compiled once and reused). */
export function makeEvaluator(cfg: ImageModelConfig, batchSize: number): Evaluator {
  const step = makeEvalStep(cfg);
  const layers = cfg.kind === "moe" ? cfg.layers : 0;
  return async (params, split) => {
    let lossSum = 0;
    let correct = 0;
    const activeSum = new Array<number>(layers).fill(0);
    for (let start = 0; start < split.n; start += batchSize) {
      const size = Math.min(batchSize, split.n - start);
      const { x, y } = gatherBatch(split, null, start, size, cfg.inputDim);
      const out = await step(params, np.array(x).reshape([size, cfg.inputDim]), np.array(y, { dtype: np.int32 })).data();
      lossSum += out[0];
      correct += out[1];
      for (let l = 0; l < layers; l++) activeSum[l] += out[2 + l];
    }
    return {
      loss: lossSum / split.n,
      accuracy: correct / split.n,
      active: activeSum.map((s) => s / split.n),
      n: split.n,
    };
  };
}

/** One-shot evaluation (compiles a fresh evaluator). */
export function evaluate(params: ImageModelParams, split: ImageSplit, cfg: ImageModelConfig, batchSize = 1000): Promise<EvalResult> {
  return makeEvaluator(cfg, batchSize)(params, split);
}
