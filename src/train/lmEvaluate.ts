/**
 * Evaluation of a language model on held-out text: mean next-token cross-entropy, perplexity,
 * next-token accuracy, and the routing analytics of spec §7 per MoE layer, where the "classes" of
 * `routingCounts` are the token-frequency buckets of the input token (`lmData.ts`). Loss and
 * accuracy are also broken down by the frequency bucket of the target token, and each MoE layer's
 * active experts by the position's loss quantile (`analysis/activeByLoss.ts`).
 */
import { routerWidth } from "../moe/routers/registry.js";
import { layerRouter, sharedHidden } from "../models/stackConfig.js";
import { jit, numpy as np, tree } from "../engine/jax.js";
import {
  addRoutingCounts,
  routingCounts,
  routingCountsSize,
  routingStatsFromCounts,
  unpackRoutingCounts,
  type RoutingCounts,
} from "../analysis/routingStats.js";
import { gatherSequences, sequenceCount, type FrequencyBuckets } from "../data/text/lmData.js";
import type { HeadKernel } from "../models/headKernel.js";
import { activeByLoss } from "../analysis/activeByLoss.js";
import { linearCrossEntropy } from "../models/lmHead.js";
import { applyLmTrunk, type LmModelConfig, type LmModelParams } from "../models/lmModel.js";
import { disposeRouting } from "../moe/moeLayer.js";
import type { EvalResult, FrequencyRow } from "./evaluate.js";

export type LmEvalOptions = {
  /** Sequences per batch. */
  batchSize: number;
  /** Tokens per chunk of the output layer. */
  headChunk: number;
  /** The output layer's implementation. @default "auto" */
  headKernel?: HeadKernel;
  buckets: FrequencyBuckets;
  /** Evaluate only the first n sequences. */
  limit?: number;
};

/**
 * Jitted trunk for evaluation: `(params, x [B, S], inputBuckets [B·S]) → [hidden [B·S, d], packed
 * routing counts, active experts per position [L, B·S]]`.
 */
function makeLmEvalTrunk(cfg: LmModelConfig, classes: number) {
  return jit((params: LmModelParams, x: np.Array, inputBuckets: np.Array) => {
    const { hidden, routings } = applyLmTrunk(params, x, cfg, { train: false });
    tree.dispose(params);
    const counts = routings.map((r) => routingCounts(r, inputBuckets, classes));
    const active = routings.length ? np.stack(routings.map((r) => r.active.ref)) : np.zeros([0]);
    routings.forEach(disposeRouting);
    inputBuckets.dispose();
    return [hidden, counts.length ? np.concatenate(counts) : np.zeros([0]), active] as [np.Array, np.Array, np.Array];
  });
}

/** Build an evaluator over a token stream (compiled once per batch shape, reused). */
export function makeLmEvaluator(cfg: LmModelConfig, opts: LmEvalOptions): (params: LmModelParams, tokens: Uint16Array) => Promise<EvalResult> {
  const { names, ofToken } = opts.buckets;
  const nb = names.length;
  const trunk = makeLmEvalTrunk(cfg, nb);
  const experts = cfg.kind === "moe" ? cfg.experts : [];
  const sizes = experts.map((n) => routingCountsSize(n, nb));
  const s = cfg.context;
  return async (params, tokens) => {
    const total = Math.min(sequenceCount(tokens, s), opts.limit ?? Infinity);
    if (total === 0) throw new Error(`the evaluation text has fewer than ${s + 1} tokens`);
    let lossSum = 0;
    let correctSum = 0;
    const targetLoss = new Float64Array(nb);
    const targetCorrect = new Float64Array(nb);
    const targetCount = new Float64Array(nb);
    const inputCount = new Float64Array(nb);
    // Per position, for `activeByLoss`: its loss, and its active experts in each MoE layer.
    const positionLoss = new Float32Array(total * s);
    const positionActive = experts.map(() => new Float32Array(total * s));
    let counts: RoutingCounts[] | null = null;
    for (let start = 0; start < total; start += opts.batchSize) {
      const b = Math.min(opts.batchSize, total - start);
      const { x, y } = gatherSequences(tokens, null, start, b, s);
      const inputBuckets = Int32Array.from(x, (t) => ofToken[t]);
      for (const bucket of inputBuckets) inputCount[bucket] += 1;
      const [hidden, packed, activeAt] = trunk(tree.ref(params), np.array(x, { dtype: np.int32 }).reshape([b, s]), np.array(inputBuckets, { dtype: np.int32 }));
      const head = await linearCrossEntropy(params.embed.tokens, hidden, np.array(y, { dtype: np.int32 }), { chunk: opts.headChunk, kernel: opts.headKernel });
      const losses = await head.losses.data();
      const correct = await head.correct.data();
      positionLoss.set(losses, start * s);
      const act = await activeAt.data();
      positionActive.forEach((a, l) => a.set(act.subarray(l * b * s, (l + 1) * b * s), start * s));
      for (let i = 0; i < y.length; i++) {
        const bucket = ofToken[y[i]];
        lossSum += losses[i];
        correctSum += correct[i];
        targetLoss[bucket] += losses[i];
        targetCorrect[bucket] += correct[i];
        targetCount[bucket] += 1;
      }
      const out = await packed.data();
      let at = 0;
      const batchCounts = experts.map((n, l) => unpackRoutingCounts(out.subarray(at, (at += sizes[l])), n, nb));
      counts = counts ? counts.map((c, l) => addRoutingCounts(c, batchCounts[l])) : batchCounts;
    }
    const n = total * s;
    const routing = (counts ?? []).map((c, l) => routingStatsFromCounts(c, { d: cfg.d, h: cfg.h, routerOutputs: routerWidth(cfg.experts[l], layerRouter(cfg, l)), sharedHidden: sharedHidden(cfg) }));
    const byFrequency: FrequencyRow[] = names.map((bucket, k) => ({
      bucket,
      inputTokens: inputCount[k],
      active: routing.map((r) => {
        const usage = r.classUsage.slice(k * r.experts, (k + 1) * r.experts).reduce((a, v) => a + v, 0);
        return r.classTokens[k] > 0 ? usage / r.classTokens[k] : 0;
      }),
      targetTokens: targetCount[k],
      loss: targetCount[k] > 0 ? targetLoss[k] / targetCount[k] : 0,
      accuracy: targetCount[k] > 0 ? targetCorrect[k] / targetCount[k] : 0,
    }));
    return {
      loss: lossSum / n,
      perplexity: Math.exp(lossSum / n),
      accuracy: correctSum / n,
      active: routing.map((r) => r.meanActive),
      routing,
      byFrequency,
      ...(experts.length ? { byLoss: activeByLoss(positionLoss, positionActive) } : {}),
      n,
    };
  };
}
