/**
 * One jitted training step: forward, loss, gradients, clipping and AdamW in a single compiled
 * program, plus the jitted evaluation pass. Both keep shapes static (fixed batch size), so each
 * compiles once.
 */
import { jit, nn, numpy as np, tree, valueAndGrad } from "../engine/jax.js";
import { applyImageModel, type ImageModelConfig, type ImageModelParams } from "../models/imageModel.js";
import { routingCounts } from "../analysis/routingStats.js";
import { disposeRoutingExtras } from "../moe/moeLayer.js";
import type { Routing } from "../moe/routing.js";
import type { AdamW, AdamWState } from "./adamw.js";
import { flattenWithPaths, mapWithPaths } from "../engine/paramTree.js";
import { moeRouters, stateLoads, updateRouterStates } from "./routerStates.js";

/**
 * What a step reports, packed into one `[3 + 2L]` array so the host reads it with a single transfer:
 * `[loss, gradNorm, correct, active_0..active_{L−1}, routerGradNorm_0..routerGradNorm_{L−1}]`
 * (L = 0 for the dense model). `loss` includes auxiliary losses; `gradNorm` is before clipping;
 * `active_l` is layer l's mean experts per token; `routerGradNorm_l` the norm of its router's gradient.
 */
export type StepStats = {
  loss: number;
  gradNorm: number;
  correct: number;
  active: number[];
  routerGradNorm: number[];
};

/** Unpack a step's stats vector; `layers` is the number of MoE layers (0 for dense). */
export function unpackStepStats(v: ArrayLike<number>, layers: number): StepStats {
  const a = Array.from(v);
  return {
    loss: a[0],
    gradNorm: a[1],
    correct: a[2],
    active: a.slice(3, 3 + layers),
    routerGradNorm: a.slice(3 + layers, 3 + 2 * layers),
  };
}

export type TrainStepFn = (
  params: ImageModelParams,
  opt: AdamWState<ImageModelParams>,
  x: np.Array,
  y: np.Array,
  key: np.Array,
  lr: np.Array,
) => [ImageModelParams, AdamWState<ImageModelParams>, np.Array];

/** Mean cross-entropy of `[B, C]` logits against `[B]` int32 labels; consumes both. */
export function crossEntropy(logits: np.Array, labels: np.Array): np.Array {
  const classes = logits.shape[logits.shape.length - 1];
  return nn.logSoftmax(logits, -1).mul(nn.oneHot(labels, classes)).sum(-1).mean().neg();
}

/** Correct predictions in a batch; consumes both. */
function countCorrect(logits: np.Array, labels: np.Array): np.Array {
  return np.argmax(logits, -1).equal(labels).astype(np.float32).sum();
}

/** `[L]` per-layer mean active experts; consumes the routing records except `auxLoss` (see `sumAux`). */
export function meanActive(routings: Routing[]): np.Array {
  if (routings.length === 0) return np.zeros([0]);
  const means = routings.map((r) => {
    const m = r.active.mean();
    r.mask.dispose();
    r.weights.dispose();
    r.probs.dispose();
    disposeRoutingExtras(r);
    return m;
  });
  return np.stack(means);
}

export function sumAux(routings: Routing[]): np.Array {
  return routings.reduce((acc, r) => acc.add(r.auxLoss), np.zeros([]));
}

function sqNorm(t: unknown): np.Array {
  return flattenWithPaths(t).reduce((acc, [, g]) => acc.add(np.square(g.ref).sum()), np.zeros([]));
}

/** A model whose blocks may hold an MoE layer (image and language models). */
type BlockModel = { blocks: { moe?: { router: { w: np.Array } } }[] };

/**
 * The end of every training step (inside `jit`): the global gradient norm, each MoE layer's router
 * gradient norm, clipping to `clip` (0: none) and the optimizer update. Consumes `grads`, `state`,
 * `params` and `lr`.
 */
export function clipAndUpdate<P extends BlockModel>(
  grads: P,
  state: AdamWState<P>,
  params: P,
  lr: np.Array,
  opt: AdamW,
  clip: number,
): { params: P; state: AdamWState<P>; gradNorm: np.Array; routerGradNorm: np.Array } {
  const gradNorm = np.sqrt(sqNorm(grads));
  const moeBlocks = grads.blocks.filter((b) => b.moe);
  const routerGradNorm = moeBlocks.length ? np.stack(moeBlocks.map((b) => np.sqrt(np.square(b.moe!.router.w.ref).sum()))) : np.zeros([0]);
  let clipped = grads;
  if (clip > 0) {
    const scale = np.minimum(np.divide(clip, gradNorm.ref.add(1e-6)), 1);
    clipped = mapWithPaths(grads, (_p, g) => g.mul(scale.ref));
    scale.dispose();
  }
  const [nextParams, nextState] = opt.update(clipped, state, params, lr);
  return { params: nextParams, state: nextState, gradNorm, routerGradNorm };
}

/**
 * The image model's training loss (cross-entropy plus auxiliary losses, router noise from `key`) and
 * its stats, for `valueAndGrad(…, { hasAux: true })`. Consumes all its arguments.
 */
function imageLoss(cfg: ImageModelConfig) {
  const routers = moeRouters(cfg);
  return (params: ImageModelParams, x: np.Array, y: np.Array, key: np.Array) => {
    const { logits, routings } = applyImageModel(params, x, cfg, { train: true, key });
    tree.dispose(params);
    const aux = sumAux(routings);
    const correct = countCorrect(logits.ref, y.ref);
    const loss = crossEntropy(logits, y).add(aux);
    const loads = stateLoads(routings, routers);
    return [loss, { correct, loads, active: meanActive(routings) }] as [np.Array, ImageLossAux];
  };
}

/** What the image loss reports beside its value: correct predictions, the routers' state loads (`stateLoads`), mean active experts per layer. */
type ImageLossAux = { correct: np.Array; loads: np.Array; active: np.Array };

/** Build the jitted training step for a model configuration, optimizer and clip norm. */
export function makeTrainStep(cfg: ImageModelConfig, opt: AdamW, clip: number): TrainStepFn {
  const lossFn = imageLoss(cfg);
  const routers = moeRouters(cfg);
  const step = (
    params: ImageModelParams,
    state: AdamWState<ImageModelParams>,
    x: np.Array,
    y: np.Array,
    key: np.Array,
    lr: np.Array,
  ) => {
    const [[loss, { correct, loads, active }], grads] = valueAndGrad(lossFn, { hasAux: true })(tree.ref(params), x, y, key);
    const updated = clipAndUpdate(grads, state, params, lr, opt, clip);
    const { state: nextState, gradNorm, routerGradNorm } = updated;
    const nextParams = updateRouterStates(updated.params, loads, routers);
    const stats = np.concatenate([loss.reshape([1]), gradNorm.reshape([1]), correct.reshape([1]), active, routerGradNorm]);
    return [nextParams, nextState, stats] as [ImageModelParams, AdamWState<ImageModelParams>, np.Array];
  };
  return jit(step) as unknown as TrainStepFn;
}

/**
 * The jitted gradient of the training loss on one batch, exactly as a step computes it but without
 * clipping or update: for gradient-variance measurements (`src/analysis/gradVariance.ts`). `x`
 * `[B, inputDim]`, `y` `[B]` int32 and `key` are consumed, `params` is not; returns a fresh gradient
 * tree shaped like the parameters.
 */
export function makeImageGradFn(cfg: ImageModelConfig): (params: ImageModelParams, x: np.Array, y: np.Array, key: np.Array) => ImageModelParams {
  const lossFn = imageLoss(cfg);
  const compiled = jit((params: ImageModelParams, x: np.Array, y: np.Array, key: np.Array) => {
    const [[loss, { correct, loads, active }], grads] = valueAndGrad(lossFn, { hasAux: true })(params, x, y, key);
    tree.dispose([loss, correct, loads, active]);
    return grads;
  });
  return (params, x, y, key) => compiled(tree.ref(params), x, y, key);
}

/**
 * Jitted evaluation of one batch (no noise, no gradients). Consumes `x` and `y`, not the params.
 * Returns `[2 + L + Σ_l routingCountsSize(N_l, C)]`: `[summed cross-entropy, correct, summed active
 * experts per layer..., routing counts of layer 0, layer 1, ...]` (see `routingCounts`).
 */
export function makeEvalStep(cfg: ImageModelConfig): (params: ImageModelParams, x: np.Array, y: np.Array) => np.Array {
  const evalFn = (params: ImageModelParams, x: np.Array, y: np.Array): np.Array => {
    const b = x.shape[0];
    const { logits, routings } = applyImageModel(params, x, cfg, { train: false });
    tree.dispose(params);
    sumAux(routings).dispose();
    const counts = routings.map((r) => routingCounts(r, y, cfg.numClasses));
    const correct = countCorrect(logits.ref, y.ref);
    const lossSum = crossEntropy(logits, y).mul(b);
    return np.concatenate([lossSum.reshape([1]), correct.reshape([1]), meanActive(routings).mul(b), ...counts]);
  };
  const compiled = jit(evalFn);
  return (params, x, y) => compiled(tree.ref(params), x, y);
}
