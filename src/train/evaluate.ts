/**
 * Evaluation of an image model on a split: mean cross-entropy, accuracy, mean active experts per
 * layer and the routing analytics of spec §7 per layer, in fixed-size batches: on our kernels
 * (`steps/nativeImageEval.ts`) where the run's step is native, else jax-js's jitted pass (the last,
 * smaller batch compiles once more). Both give each batch's sums; the evaluation is made from them here.
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
import { NativeImageEval, type EvalBatchSums } from "../steps/nativeImageEval.js";
import { lazyEvalPass, type NativeThreads } from "../steps/nativeStep.js";

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

/** Evaluates parameters (not consumed) on a split; `close` stops the native pass's threads, if any. */
export type Evaluator = ((params: ImageModelParams, split: ImageSplit) => Promise<EvalResult>) & { close(): void };

/** A pass over batches: `begin` takes the parameters to evaluate (not consumed), `sums` one batch's sums at them; `close` ends the pass. */
type BatchSums = { begin(params: ImageModelParams): Promise<void>; sums(x: Float32Array, y: Int32Array): Promise<EvalBatchSums>; close(): void };

/** jax-js's jitted pass (compiled once per batch shape and reused). */
function jitSums(cfg: ImageModelConfig): BatchSums {
  const step = makeEvalStep(cfg);
  const layers = cfg.kind === "moe" ? cfg.layers : 0;
  const experts = cfg.experts.slice(0, layers);
  const sizes = experts.map((n) => routingCountsSize(n, cfg.numClasses));
  let at: ImageModelParams | null = null;
  return {
    async begin(params) {
      at = params;
    },
    async sums(x, y) {
      const out = await step(at!, np.array(x).reshape([y.length, cfg.inputDim]), np.array(y, { dtype: np.int32 })).data();
      let i = 2 + layers;
      return {
        lossSum: out[0],
        correct: out[1],
        active: Array.from(out.subarray(2, 2 + layers)),
        counts: experts.map((n, l) => unpackRoutingCounts(out.subarray(i, (i += sizes[l])), n, cfg.numClasses)),
      };
    },
    close() {
      at = null;
    },
  };
}

/** Our kernels' pass on `threads`: its memory is taken at the first evaluation, the parameters copied in at each. */
function nativeSums(cfg: ImageModelConfig, batchSize: number, threads: NativeThreads): BatchSums {
  const lazy = lazyEvalPass((params: ImageModelParams) => NativeImageEval.create(cfg, batchSize, params, threads));
  let pass: NativeImageEval | null = null;
  return {
    async begin(params) {
      pass = await lazy.begin(params);
    },
    async sums(x, y) {
      return pass!.evaluate(x, y);
    },
    close: () => lazy.close(),
  };
}

/**
 * Build an evaluator for one model configuration, in batches of `batchSize`: on our kernels on
 * `native`'s threads when given (a model the native engine runs), else jax-js's jitted pass.
 */
export function makeEvaluator(cfg: ImageModelConfig, batchSize: number, native: NativeThreads | null = null): Evaluator {
  const pass = native ? nativeSums(cfg, batchSize, native) : jitSums(cfg);
  const layers = cfg.kind === "moe" ? cfg.layers : 0;
  const evaluate = async (params: ImageModelParams, split: ImageSplit): Promise<EvalResult> => {
    let lossSum = 0;
    let correct = 0;
    const activeSum = new Array<number>(layers).fill(0);
    let counts: RoutingCounts[] | null = null;
    await pass.begin(params);
    for (let start = 0; start < split.n; start += batchSize) {
      const size = Math.min(batchSize, split.n - start);
      const { x, y } = gatherBatch(split, null, start, size, cfg.inputDim);
      const out = await pass.sums(x, y);
      lossSum += out.lossSum;
      correct += out.correct;
      for (let l = 0; l < layers; l++) activeSum[l] += out.active[l];
      counts = counts ? counts.map((c, l) => addRoutingCounts(c, out.counts[l])) : out.counts;
    }
    return {
      loss: lossSum / split.n,
      accuracy: correct / split.n,
      active: activeSum.map((s) => s / split.n),
      routing: (counts ?? []).map((c, l) => routingStatsFromCounts(c, { d: cfg.d, h: cfg.h, routerOutputs: routerWidth(cfg.experts[l], layerRouter(cfg, l)), sharedHidden: sharedHidden(cfg) })),
      n: split.n,
    };
  };
  return Object.assign(evaluate, { close: () => pass.close() });
}

/** One-shot evaluation (compiles a fresh evaluator). */
export function evaluate(params: ImageModelParams, split: ImageSplit, cfg: ImageModelConfig, batchSize = 1000): Promise<EvalResult> {
  return makeEvaluator(cfg, batchSize)(params, split);
}
