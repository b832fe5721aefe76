/**
 * Evaluation of a language model on held-out text, on our kernels (`steps/nativeLmEval.ts`) where
 * the run's step is native, else jax-js: mean next-token cross-entropy, perplexity,
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
import { NativeLmEval, type LmEvalBatch } from "../steps/nativeLmEval.js";
import { lazyEvalPass, type NativeThreads } from "../steps/nativeStep.js";

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
  /** Our kernels on these threads (the model must be one the native engine runs); else jax-js. */
  native?: NativeThreads | null;
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

/** One batch's per-position results (`LmEvalBatch`) from either engine; `begin` takes the parameters (not consumed), `close` ends the pass. */
type LmPass = {
  begin(params: LmModelParams): Promise<void>;
  batch(x: Int32Array, y: Int32Array, inputBuckets: Int32Array): Promise<LmEvalBatch>;
  close(): void;
};

/** jax-js: the jitted trunk (compiled once per batch shape), then the output layer (`lmHead.ts`). */
function jitPass(cfg: LmModelConfig, opts: LmEvalOptions): LmPass {
  const nb = opts.buckets.names.length;
  const trunk = makeLmEvalTrunk(cfg, nb);
  const experts = cfg.kind === "moe" ? cfg.experts : [];
  const sizes = experts.map((n) => routingCountsSize(n, nb));
  const s = cfg.context;
  let params: LmModelParams | null = null;
  return {
    async begin(p) {
      params = p;
    },
    async batch(x, y, inputBuckets) {
      const b = x.length / s;
      const [hidden, packed, activeAt] = trunk(tree.ref(params!), np.array(x, { dtype: np.int32 }).reshape([b, s]), np.array(inputBuckets, { dtype: np.int32 }));
      const head = await linearCrossEntropy(params!.embed.tokens, hidden, np.array(y, { dtype: np.int32 }), { chunk: opts.headChunk, kernel: opts.headKernel });
      const losses = (await head.losses.data()) as Float32Array;
      const correct = (await head.correct.data()) as Float32Array;
      const act = await activeAt.data();
      const out = await packed.data();
      let at = 0;
      return {
        losses,
        correct,
        active: experts.map((_, l) => act.slice(l * b * s, (l + 1) * b * s) as Float32Array),
        counts: experts.map((n, l) => unpackRoutingCounts(out.subarray(at, (at += sizes[l])), n, nb)),
      };
    },
    close() {
      params = null;
    },
  };
}

/** Our kernels on `threads` (`steps/nativeLmEval.ts`): memory taken at the first evaluation, the parameters copied in at each. */
function nativePass(cfg: LmModelConfig, opts: LmEvalOptions, threads: NativeThreads): LmPass {
  const nb = opts.buckets.names.length;
  const lazy = lazyEvalPass((params: LmModelParams) => NativeLmEval.create(cfg, opts.batchSize, params, threads, opts.headChunk));
  let pass: NativeLmEval | null = null;
  return {
    async begin(params) {
      pass = await lazy.begin(params);
    },
    async batch(x, y, inputBuckets) {
      return pass!.evaluate(x, y, inputBuckets, nb);
    },
    close: () => lazy.close(),
  };
}

/** Evaluates parameters (not consumed) on a token stream; `close` stops the native pass's threads, if any. */
export type LmEvaluator = ((params: LmModelParams, tokens: Uint16Array) => Promise<EvalResult>) & { close(): void };

/**
 * Build an evaluator over a token stream: on our kernels on `opts.native`'s threads when given (a
 * model the native engine runs), else the jitted jax-js trunk and the output layer of `headKernel`.
 */
export function makeLmEvaluator(cfg: LmModelConfig, opts: LmEvalOptions): LmEvaluator {
  const { names, ofToken } = opts.buckets;
  const nb = names.length;
  const pass = opts.native ? nativePass(cfg, opts, opts.native) : jitPass(cfg, opts);
  const experts = cfg.kind === "moe" ? cfg.experts : [];
  const s = cfg.context;
  const evaluate = async (params: LmModelParams, tokens: Uint16Array): Promise<EvalResult> => {
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
    await pass.begin(params);
    for (let start = 0; start < total; start += opts.batchSize) {
      const b = Math.min(opts.batchSize, total - start);
      const { x, y } = gatherSequences(tokens, null, start, b, s);
      const inputBuckets = Int32Array.from(x, (t) => ofToken[t]);
      for (const bucket of inputBuckets) inputCount[bucket] += 1;
      const out = await pass.batch(Int32Array.from(x), Int32Array.from(y), inputBuckets);
      const { losses, correct } = out;
      positionLoss.set(losses, start * s);
      positionActive.forEach((a, l) => a.set(out.active[l], start * s));
      for (let i = 0; i < y.length; i++) {
        const bucket = ofToken[y[i]];
        lossSum += losses[i];
        correctSum += correct[i];
        targetLoss[bucket] += losses[i];
        targetCorrect[bucket] += correct[i];
        targetCount[bucket] += 1;
      }
      counts = counts ? counts.map((c, l) => addRoutingCounts(c, out.counts[l])) : out.counts;
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
  return Object.assign(evaluate, { close: () => pass.close() });
}
