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
 */
import { jit, numpy as np, tree, valueAndGrad } from "../engine/jax.js";
import { linearCrossEntropy } from "../models/lmHead.js";
import { applyLmTrunk, type LmModelConfig, type LmModelParams } from "../models/lmModel.js";
import { disposeRouting } from "../moe/moeLayer.js";
import type { AdamW, AdamWState } from "./adamw.js";
import { clipAndUpdate, meanActive, sumAux } from "./trainStep.js";

export type LmTrainStepFn = (
  params: LmModelParams,
  opt: AdamWState<LmModelParams>,
  x: np.Array,
  y: np.Array,
  key: np.Array,
  lr: np.Array,
) => Promise<[LmModelParams, AdamWState<LmModelParams>, np.Array]>;

/**
 * Build the step. Its arguments are consumed; `x` is `[B, S]` int32 inputs, `y` `[B·S]` int32
 * targets. It returns the packed stats of `unpackStepStats` (`correct` counts tokens; `loss`
 * includes the auxiliary losses).
 */
export function makeLmTrainStep(cfg: LmModelConfig, opt: AdamW, clip: number, headChunk: number): LmTrainStepFn {
  const forward = jit((params: LmModelParams, x: np.Array, key: np.Array) => {
    const { hidden, routings } = applyLmTrunk(params, x, cfg, { train: true, key });
    tree.dispose(params);
    routings.forEach(disposeRouting);
    return hidden;
  });
  const surrogate = (params: LmModelParams, x: np.Array, key: np.Array, dHidden: np.Array) => {
    const { hidden, routings } = applyLmTrunk(params, x, cfg, { train: true, key });
    tree.dispose(params);
    const aux = sumAux(routings);
    const active = meanActive(routings);
    return [hidden.mul(dHidden).sum().add(aux.ref), { aux, active }] as [np.Array, { aux: np.Array; active: np.Array }];
  };
  const backward = jit((params: LmModelParams, x: np.Array, key: np.Array, dHidden: np.Array) => {
    const [[value, { aux, active }], grads] = valueAndGrad(surrogate, { hasAux: true })(params, x, key, dHidden);
    value.dispose();
    return [grads, aux, active] as [LmModelParams, np.Array, np.Array];
  });
  const update = jit(
    (grads: LmModelParams, dTable: np.Array, state: AdamWState<LmModelParams>, params: LmModelParams, lr: np.Array, loss: np.Array, correct: np.Array, aux: np.Array, active: np.Array) => {
      const full: LmModelParams = { ...grads, embed: { ...grads.embed, tokens: grads.embed.tokens.add(dTable) } };
      const next = clipAndUpdate(full, state, params, lr, opt, clip);
      const stats = np.concatenate([loss.add(aux).reshape([1]), next.gradNorm.reshape([1]), correct.reshape([1]), active, next.routerGradNorm]);
      return [next.params, next.state, stats] as [LmModelParams, AdamWState<LmModelParams>, np.Array];
    },
  );
  return async (params, state, x, y, key, lr) => {
    const hidden = forward(tree.ref(params), x.ref, key.ref);
    const head = await linearCrossEntropy(params.embed.tokens, hidden, y, { chunk: headChunk, grad: true });
    const [grads, aux, active] = backward(tree.ref(params), x, key, head.dHidden!);
    return update(grads, head.dTable!, state, params, lr, head.losses.mean(), head.correct.sum(), aux, active);
  };
}
