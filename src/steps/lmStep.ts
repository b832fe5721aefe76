/**
 * The language model's training step, in three compiled pieces around the eager output layer:
 *
 *   1. `forward`  (jit): the trunk → hidden states `[T, d]`;
 *   2. the tied 50,257-way head with its cross-entropy and hand-written gradient, in chunks
 *      (`lmHead.ts`) → loss, `∂L/∂hidden`, the head's part of `∂L/∂E`;
 *   3. `backward` (jit): gradients of the surrogate `Σ hidden · stop(∂L/∂hidden) + aux` (the trunk
 *      is recomputed, with the same key, so router noise matches) → the trunk's gradients;
 *   4. `update`   (jit): add the head's `∂L/∂E` to the token embedding's gradient, clip, AdamW.
 *
 * The surrogate's gradient is exactly the loss's: by the chain rule `∂L/∂θ = (∂L/∂hidden)ᵀ ∂hidden/∂θ`,
 * plus the auxiliary losses' own gradients. Recomputing the trunk costs little next to the head.
 *
 * Micro-batches: jax-js's wasm allocator reuses a freed buffer only for a buffer of the same size and
 * has 4 GiB in all, and the compiled backward keeps every layer's `[tokens, E·h]` activations, so the
 * Small and Medium presets do not fit at 4,096 tokens at once. The trunk (1 and 3) then runs on
 * micro-batches of whole sequences, each with its own key, and their gradients are summed: the
 * cross-entropy part is exact (it is a mean over tokens), and the auxiliary losses become the mean of
 * the micro-batches' (as with data-parallel training). `microBatchFor` picks the largest micro-batch
 * that fits; with one micro-batch the step is exactly the plain one.
 */
import { jit, numpy as np, random, tree, valueAndGrad } from "../engine/jax.js";
import type { HeadKernel } from "../models/headKernel.js";
import { linearCrossEntropy } from "../models/lmHead.js";
import { applyLmTrunk, type LmModelConfig, type LmModelParams } from "../models/lmModel.js";
import { disposeRouting } from "../moe/moeLayer.js";
import type { AdamW, AdamWState } from "./adamw.js";
import { moeRouters, stateLoads, updateRouterStates } from "./routerStates.js";
import { clipAndUpdate, meanActive, sumAux } from "./imageStep.js";

export type LmTrainStepFn = (
  params: LmModelParams,
  opt: AdamWState<LmModelParams>,
  x: np.Array,
  y: np.Array,
  key: np.Array,
  lr: np.Array,
) => Promise<[LmModelParams, AdamWState<LmModelParams>, np.Array]>;

/** Bytes the compiled backward keeps per token and per unit of `Σ_layers E_l·h` (measured: about 13 f32 buffers). */
const BACKWARD_BYTES_PER_UNIT = 64;
/** What the trunk's micro-batch may take, leaving room for the head's `[chunk, V]` buffers and the parameters. */
const TRUNK_BUDGET_BYTES = 1 << 30;

/**
 * Sequences per trunk pass: the largest divisor of `batch` whose backward activations fit the budget
 * (`Σ_layers E_l·h`, or `h` per layer when dense, times tokens, times about 64 bytes).
 */
export function microBatchFor(cfg: LmModelConfig, batch: number, context: number): number {
  const width = cfg.kind === "moe" ? cfg.experts.slice(0, cfg.layers).reduce((a, e) => a + e * cfg.h, 0) : cfg.layers * cfg.h;
  const perSequence = context * Math.max(width, cfg.layers * 4 * cfg.d) * BACKWARD_BYTES_PER_UNIT;
  for (let m = batch; m > 1; m--) if (batch % m === 0 && m * perSequence <= TRUNK_BUDGET_BYTES) return m;
  return 1;
}

export type LmStepOptions = {
  /** Tokens per chunk of the output layer. @default 512 */
  headChunk?: number;
  /** The output layer's implementation. @default "auto" */
  headKernel?: HeadKernel;
  /** Sequences per trunk pass; must divide the batch. @default microBatchFor(...) */
  microBatch?: number;
};

/** What one batch's gradient pass gives: the trunk's gradients and the head's `∂L/∂E` (kept apart, as the update adds them), and the stats. */
type LmGradients = { grads: LmModelParams; dTable: np.Array; loss: np.Array; correct: np.Array; aux: np.Array; active: np.Array; loads: np.Array };

/**
 * The compiled pieces of a step up to its gradients (trunk forward, chunked head, surrogate backward,
 * micro-batches summed), shared by `makeLmTrainStep` and `makeLmGradFn`. The returned function
 * consumes `x`, `y` and `key`, not `params`.
 */
function makeLmGradients(cfg: LmModelConfig, opts: LmStepOptions): (params: LmModelParams, x: np.Array, y: np.Array, key: np.Array) => Promise<LmGradients> {
  const headChunk = opts.headChunk ?? 512;
  const forward = jit((params: LmModelParams, x: np.Array, key: np.Array) => {
    const { hidden, routings } = applyLmTrunk(params, x, cfg, { train: true, key });
    tree.dispose(params);
    routings.forEach(disposeRouting);
    return hidden;
  });
  const routers = moeRouters(cfg);
  const surrogate = (params: LmModelParams, x: np.Array, key: np.Array, dHidden: np.Array, auxScale: np.Array) => {
    const { hidden, routings } = applyLmTrunk(params, x, cfg, { train: true, key });
    tree.dispose(params);
    const aux = sumAux(routings);
    const loads = stateLoads(routings, routers);
    const active = meanActive(routings);
    return [hidden.mul(dHidden).sum().add(aux.ref.mul(auxScale)), { aux, active, loads }] as [np.Array, { aux: np.Array; active: np.Array; loads: np.Array }];
  };
  /** A micro-batch's gradients, auxiliary loss, mean active experts and balancing loads (all summed over micro-batches). */
  type Part = [LmModelParams, np.Array, np.Array, np.Array];
  const backward = jit((params: LmModelParams, x: np.Array, key: np.Array, dHidden: np.Array, auxScale: np.Array) => {
    const [[value, { aux, active, loads }], grads] = valueAndGrad(surrogate, { hasAux: true })(params, x, key, dHidden, auxScale);
    value.dispose();
    return [grads, aux, active, loads] as Part;
  });
  const accumulate = jit((a: Part, b: Part) => tree.map((u: np.Array, v: np.Array) => u.add(v), a, b) as Part);
  return async (params, x, y, key) => {
    const [b, s] = x.shape;
    const micro = opts.microBatch ?? microBatchFor(cfg, b, s);
    if (b % micro !== 0) throw new Error(`micro-batch ${micro} does not divide the batch ${b}`);
    const m = b / micro;
    // Micro-batches: each goes forward, through the head (scaled to the whole batch's mean) and
    // backward before the next, so only one micro-batch's activations are alive at a time. With one
    // micro-batch the key is used as it is, so the step is exactly the plain one.
    const keys = m === 1 ? key.reshape([1, ...key.shape]) : random.split(key, m);
    const tokens = micro * s;
    let acc: Part | undefined;
    let dTable: np.Array | undefined;
    const losses: np.Array[] = [];
    const correct: np.Array[] = [];
    for (let i = 0; i < m; i++) {
      const xi = x.ref.slice([i * micro, (i + 1) * micro]); // [micro, S]
      const ki = keys.ref.slice(i); // [2]
      const hidden = forward(tree.ref(params), xi.ref, ki.ref);
      const head = await linearCrossEntropy(params.embed.tokens, hidden, y.ref.slice([i * tokens, (i + 1) * tokens]), { chunk: headChunk, kernel: opts.headKernel, grad: true, scale: 1 / (b * s), dTableInto: dTable });
      losses.push(head.losses.sum());
      correct.push(head.correct.sum());
      dTable = head.dTable!;
      await dTable.blockUntilReady();
      const part = backward(tree.ref(params), xi, ki, head.dHidden!, np.array(1 / m));
      acc = acc ? accumulate(acc, part) : part;
      await acc[1].blockUntilReady();
    }
    tree.dispose([x, y, keys]);
    const [grads, auxSum, activeSum, loads] = acc!;
    return { grads, dTable: dTable!, loss: np.stack(losses).sum().div(b * s), correct: np.stack(correct).sum(), aux: auxSum.div(m), active: activeSum.div(m), loads };
  };
}

/**
 * Build the step. Its arguments are consumed; `x` is `[B, S]` int32 inputs, `y` `[B·S]` int32
 * targets. It returns the packed stats of `unpackStepStats` (`correct` counts tokens; `loss`
 * includes the auxiliary losses).
 */
export function makeLmTrainStep(cfg: LmModelConfig, opt: AdamW, clip: number, opts: LmStepOptions = {}): LmTrainStepFn {
  const gradients = makeLmGradients(cfg, opts);
  const routers = moeRouters(cfg);
  const update = jit(
    (
      grads: LmModelParams, dTable: np.Array, state: AdamWState<LmModelParams>, params: LmModelParams, lr: np.Array,
      loss: np.Array, correct: np.Array, aux: np.Array, active: np.Array, loads: np.Array,
    ) => {
      const full: LmModelParams = { ...grads, embed: { ...grads.embed, tokens: grads.embed.tokens.add(dTable) } };
      const next = clipAndUpdate(full, state, params, lr, opt, clip);
      const stats = np.concatenate([loss.add(aux).reshape([1]), next.gradNorm.reshape([1]), correct.reshape([1]), active, next.routerGradNorm]);
      return [updateRouterStates(next.params, loads, routers), next.state, stats] as [LmModelParams, AdamWState<LmModelParams>, np.Array];
    },
  );
  return async (params, state, x, y, key, lr) => {
    const g = await gradients(params, x, y, key);
    return update(g.grads, g.dTable, state, params, lr, g.loss, g.correct, g.aux, g.active, g.loads);
  };
}

/**
 * The gradient of the training loss (cross-entropy plus auxiliary losses, router noise from `key`)
 * on one batch, exactly as a step computes it but without clipping or update: for gradient-variance
 * measurements (`src/analysis/gradVariance.ts`). `x` `[B, S]`, `y` `[B·S]` and `key` are consumed,
 * `params` is not; returns a fresh gradient tree shaped like the parameters.
 */
export function makeLmGradFn(cfg: LmModelConfig, opts: LmStepOptions = {}): (params: LmModelParams, x: np.Array, y: np.Array, key: np.Array) => Promise<LmModelParams> {
  const gradients = makeLmGradients(cfg, opts);
  return async (params, x, y, key) => {
    const g = await gradients(params, x, y, key);
    tree.dispose([g.loss, g.correct, g.aux, g.active, g.loads]);
    return { ...g.grads, embed: { ...g.grads.embed, tokens: g.grads.embed.tokens.add(g.dTable) } };
  };
}
