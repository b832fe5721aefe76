/**
 * Gradient variance (spec §7): K mini-batch gradients at the same parameters, and the trace of their
 * covariance, `tr Σ̂ = (1/(K−1)) · Σ_k ‖g_k − ḡ‖²` (the mean squared deviation from their mean, with
 * Bessel's correction), per parameter group and in total; and the variance of the training loss over
 * a sliding window of logged steps.
 *
 * The trace is additive over parameters, so each group's value is the sum over its leaves and the
 * total is the sum over the groups. Gradients are accumulated with Welford's update, one leaf at a
 * time under `jit`: only the running mean (one parameter-sized tree) and the current gradient are
 * alive, and the sum of squared deviations per leaf is read back as a `[leaves]` vector and summed
 * in float64 on the host.
 *
 * Reference: DynaMoE (arXiv 2603.01697) claims dynamic routing reduces gradient variance; the method
 * is ours (spec §7).
 */
import { jit, numpy as np, tree } from "../engine/jax.js";
import { flattenWithPaths } from "../engine/paramTree.js";

export type GradVarianceResult = {
  /** Gradients taken (K). */
  k: number;
  /** `tr Σ̂` over all parameters: the sum of `groups`. */
  total: number;
  /** `tr Σ̂` restricted to each parameter group (`paramGroup`), by name. */
  groups: Record<string, number>;
};

/**
 * The group a parameter belongs to, from its dotted path in the parameter tree:
 * `blocks.{l}.moe.router` (router), `blocks.{l}.moe.experts` (every expert's w1, b1, w2, b2),
 * `blocks.{l}.ffn` (the dense baseline's FFN), `blocks.{l}.norm` (the block's LayerNorms),
 * `blocks.{l}.attn` (the language model's attention), and the top-level `embed`, `norm` (final
 * LayerNorm) and `head`. Any other path is grouped by its first segment.
 */
export function paramGroup(path: string): string {
  const parts = path.split(".");
  if (parts[0] !== "blocks" || parts.length < 3) return parts[0];
  const block = `blocks.${parts[1]}`;
  switch (parts[2]) {
    case "moe":
      return parts[3] === "router" ? `${block}.moe.router` : `${block}.moe.experts`;
    case "norm":
    case "attnNorm":
      return `${block}.norm`;
    default:
      return `${block}.${parts[2]}`;
  }
}

export type GradVarianceOptions = {
  /** Maps a leaf's path to its group's name. @default paramGroup */
  group?: (path: string) => string;
};

/**
 * Welford's update over every leaf at once: with `δ = g − m`, the new mean is `m + δ/k` and the
 * leaf's sum of squared deviations grows by `(k−1)/k · ‖δ‖²`. Consumes `means`, `grads`, `invK`;
 * returns the new means and the `[leaves]` increments.
 */
const welfordStep = jit((means: np.Array[], grads: np.Array[], invK: np.Array): [np.Array[], np.Array] => {
  const next: np.Array[] = [];
  const inc: np.Array[] = [];
  means.forEach((m, i) => {
    const delta = grads[i].sub(m.ref);
    inc.push(np.square(delta.ref).sum());
    next.push(m.add(delta.mul(invK.ref)));
  });
  const scale = np.subtract(1, invK); // (k−1)/k
  const incs = inc.length ? np.stack(inc).mul(scale) : np.zeros([0]);
  return [next, incs];
});

/**
 * The trace of the gradient covariance over `batches`, per group and in total.
 * @param gradFn returns the gradient tree for one batch (shaped like the parameters); the tree is
 *   consumed here. It may be async (the language model's head is).
 * @param batches K ≥ 2 batches (whatever `gradFn` takes).
 */
export async function gradVariance<B>(gradFn: (batch: B) => unknown | Promise<unknown>, batches: B[], opts: GradVarianceOptions = {}): Promise<GradVarianceResult> {
  const k = batches.length;
  if (k < 2) throw new Error(`gradVariance needs at least 2 batches, got ${k}`);
  const group = opts.group ?? paramGroup;
  let paths: string[] = [];
  let means: np.Array[] = [];
  let sums = new Float64Array(0); // per leaf, Σ_k ‖g_k − ḡ‖² so far
  for (let i = 0; i < k; i++) {
    const leaves = flattenWithPaths(await gradFn(batches[i]));
    if (i === 0) {
      paths = leaves.map(([p]) => p);
      means = leaves.map(([, g]) => g);
      sums = new Float64Array(paths.length);
      continue;
    }
    if (leaves.length !== paths.length || leaves.some(([p], j) => p !== paths[j])) {
      tree.dispose([means, leaves.map(([, g]) => g)]);
      throw new Error("gradVariance: the gradient trees of two batches differ in structure");
    }
    const [next, inc] = welfordStep(
      means,
      leaves.map(([, g]) => g),
      np.array(1 / (i + 1)),
    );
    means = next;
    const v = await inc.data();
    for (let j = 0; j < v.length; j++) sums[j] += v[j];
  }
  tree.dispose(means);
  const groups: Record<string, number> = {};
  let total = 0;
  paths.forEach((p, j) => {
    const name = group(p);
    const v = sums[j] / (k - 1);
    groups[name] = (groups[name] ?? 0) + v;
    total += v;
  });
  return { k, total, groups };
}

/**
 * Sample variance (`1/(n−1)`) of the last `window` values of `values` (all of them when fewer);
 * null when fewer than 2. Applied to the logged training losses: each is a mean over `logEvery`
 * steps, so it measures the loss's fluctuation, and its downward trend, over about `window·logEvery`
 * steps.
 */
export function windowVariance(values: readonly number[], window: number): number | null {
  const xs = values.slice(-window);
  const n = xs.length;
  if (n < 2) return null;
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  return xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (n - 1);
}
