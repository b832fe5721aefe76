/**
 * One MoE layer's training step for the layer benchmarks: `jit(valueAndGrad)` of the layer's output
 * against a fixed random cotangent, on T random tokens, with gradients for the parameters and input.
 */
import { jit, numpy as np, random, tree, valueAndGrad } from "../../src/engine/jax.js";
import { seedKey } from "../../src/engine/seedKey.js";
import { applyMoeLayer, disposeRouting, initMoeLayer, type MoeLayerConfig, type MoeLayerParams } from "../../src/moe/moeLayer.js";

export type LayerStep = {
  /** Run step i (key 10 + i) and wait for its loss and every gradient. */
  run(i: number): Promise<void>;
  dispose(): void;
};

export function makeLayerStep(cfg: MoeLayerConfig, tokens: number): LayerStep {
  const params = initMoeLayer(random.key(0), cfg);
  const x = random.normal(random.key(1), [tokens, cfg.d]);
  const c = random.normal(random.key(2), [tokens, cfg.d]);
  const f = (p: MoeLayerParams, xx: np.Array, key: np.Array) => {
    const { y, routing } = applyMoeLayer(p, xx, cfg, { train: true, key });
    disposeRouting(routing);
    tree.dispose(p);
    return y.mul(c.ref).sum();
  };
  const step = jit(valueAndGrad(f, { argnums: [0, 1] }));
  return {
    async run(i) {
      const [loss, grads] = step(tree.ref(params), x.ref, seedKey(10 + i));
      await loss.data();
      for (const g of tree.leaves(grads) as np.Array[]) await g.data(); // wait for the whole backward
    },
    dispose() {
      tree.dispose([params, x, c]);
      step.dispose?.();
    },
  };
}
