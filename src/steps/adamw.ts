/**
 * AdamW (decoupled weight decay) as a pure `{ init, update }` pair, in the style of optax.
 *
 * `m ← β1·m + (1−β1)·g`, `v ← β2·v + (1−β2)·g²`, `p ← p − lr·( m̂ / (√v̂ + ε) + λ·p )` with
 * `m̂ = m/(1−β1ᵗ)`, `v̂ = v/(1−β2ᵗ)`; λ applies only to leaves `isDecayed` accepts (not biases or
 * LayerNorm parameters).
 *
 * Reference: Loshchilov & Hutter 2019, "Decoupled Weight Decay Regularization".
 */
import { numpy as np } from "../engine/jax.js";
import { isDecayed, mapWithPaths } from "../engine/paramTree.js";

export type AdamWOptions = {
  /** @default 0.9 */
  beta1: number;
  /** @default 0.999 */
  beta2: number;
  /** @default 1e-8 */
  eps: number;
  /** Decoupled weight decay λ. @default 0.01 */
  weightDecay: number;
};

export type AdamWState<P> = {
  mu: P;
  nu: P;
  /** Scalar float32: number of updates applied so far. */
  count: np.Array;
};

export type AdamW = {
  init<P>(params: P): AdamWState<P>;
  /**
   * One update. Consumes `grads`, `state`, `params` and `lr` (a scalar array, so a changing learning
   * rate does not retrace a jitted step). Returns the new parameters and state.
   */
  update<P>(grads: P, state: AdamWState<P>, params: P, lr: np.Array): [P, AdamWState<P>];
};

export function adamw(opts: Partial<AdamWOptions> = {}): AdamW {
  const { beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weightDecay = 0.01 } = opts;
  return {
    init(params) {
      const zeros = () => mapWithPaths(params, (_p, x) => np.zerosLike(x.ref));
      return { mu: zeros(), nu: zeros(), count: np.zeros([]) };
    },
    update(grads, state, params, lr) {
      const count = state.count.add(1);
      // Bias corrections 1 − βᵗ, computed in-graph from the count.
      const c1 = np.exp(count.ref.mul(Math.log(beta1))).neg().add(1);
      const c2 = np.exp(count.ref.mul(Math.log(beta2))).neg().add(1);
      const mu = mapWithPaths(state.mu, (_p, m, g) => m.mul(beta1).add(g.ref.mul(1 - beta1)), grads);
      const nu = mapWithPaths(state.nu, (_p, v, g) => v.mul(beta2).add(np.square(g).mul(1 - beta2)), grads);
      const next = mapWithPaths(
        params,
        (path, p, m, v) => {
          const mhat = m.ref.div(c1.ref);
          const vhat = v.ref.div(c2.ref);
          let step = mhat.div(np.sqrt(vhat).add(eps));
          if (weightDecay > 0 && isDecayed(path)) step = step.add(p.ref.mul(weightDecay));
          return p.sub(step.mul(lr.ref));
        },
        mu,
        nu,
      );
      c1.dispose();
      c2.dispose();
      lr.dispose();
      return [next, { mu, nu, count }];
    },
  };
}
