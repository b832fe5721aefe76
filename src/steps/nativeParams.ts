/**
 * A model's parameters, gradients and AdamW moments in kernel memory, for the native steps: one
 * flat buffer each (`P`, `G`, `M`, `V`), every leaf 16-byte aligned at the same offset in all four,
 * read back as jax-js trees only when asked. `update` is the step's end: the global gradient norm,
 * clipping and AdamW, leaf by leaf (weight decay on the leaves `isDecayed` names), as `adamw.ts`.
 */
import { numpy as np } from "../engine/jax.js";
import { flattenWithPaths, isDecayed, mapWithPaths } from "../engine/paramTree.js";
import type { Arena, Buf } from "../kernels/mlpKernel.js";
import type { Kernels } from "../kernels/parallelKernels.js";
import type { AdamWOptions, AdamWState } from "./adamw.js";

type Leaf = { path: string; shape: number[]; off: number; n: number; decayed: boolean };

export class NativeParams<T> {
  private readonly leaves: Leaf[];
  private readonly byPath: Map<string, Leaf>;
  private readonly skeleton: T;
  readonly P: Buf; readonly G: Buf; readonly M: Buf; readonly V: Buf;
  /** AdamW's step count. */
  count = 0;

  /**
   * Take the four buffers for a tree shaped like `params` from `mem` (before `mem.commit()`); with
   * `training` false (evaluation) only `P`, and `G`, `M` and `V` must not be read.
   */
  constructor(private readonly mem: Arena, params: T, training = true) {
    let total = 0;
    this.leaves = flattenWithPaths(params).map(([path, leaf]) => {
      const n = leaf.shape.reduce((x, y) => x * y, 1);
      const out = { path, shape: [...leaf.shape], off: total, n, decayed: isDecayed(path) };
      total += Math.ceil(n / 4) * 4; // each leaf 16-byte aligned
      return out;
    });
    this.byPath = new Map(this.leaves.map((l) => [l.path, l]));
    this.skeleton = mapWithPaths(params, (_p, leaf) => ({ shape: leaf.shape, dtype: leaf.dtype }) as unknown as np.Array);
    this.P = mem.take(total);
    const none: Buf = { at: -1, n: 0 };
    [this.G, this.M, this.V] = training ? [mem.take(total), mem.take(total), mem.take(total)] : [none, none, none];
  }

  /** Copy `params` and `opt` (training) in (after `mem.commit()`; neither is consumed). */
  async load(params: T, opt?: AdamWState<T>): Promise<void> {
    const into = async (dst: Buf, t: unknown) => {
      const view = this.mem.f32(dst);
      for (const [path, leaf] of flattenWithPaths(t)) view.set((await leaf.ref.data()) as Float32Array, this.byPath.get(path)!.off);
    };
    await into(this.P, params);
    if (!opt) return;
    await into(this.M, opt.mu);
    await into(this.V, opt.nu);
    this.count = (await opt.count.ref.data())[0];
  }

  /** A jax-js tree shaped like the parameters, from buffer `src` (fresh arrays the caller owns). */
  tree(src: Buf): T {
    const view = this.mem.f32(src);
    return mapWithPaths(this.skeleton, (path) => {
      const leaf = this.byPath.get(path)!;
      return np.array(view.slice(leaf.off, leaf.off + leaf.n)).reshape(leaf.shape);
    });
  }

  opt(): AdamWState<T> {
    return { mu: this.tree(this.M), nu: this.tree(this.V), count: np.array(this.count) };
  }

  /** Byte offset of a parameter (`which` = P) or of its gradient (`which` = G). */
  at(path: string, which: "P" | "G"): number {
    const leaf = this.byPath.get(path);
    if (!leaf) throw new Error(`native step: no parameter ${path}`);
    if (this[which].at < 0) throw new Error(`native step: no ${which} buffer (evaluation)`);
    return this[which].at + leaf.off * 4;
  }

  /** Elements of a parameter. */
  size(path: string): number {
    return this.byPath.get(path)!.n;
  }

  /**
   * The end of a step: the global gradient norm (and the norms of `normPaths`' gradients), clipping
   * to `clip` (0: none) and AdamW at `lr`. Returns the norms before clipping.
   */
  update(k: Kernels, lr: number, hyper: AdamWOptions, clip: number, normPaths: string[]): { gradNorm: number; norms: number[] } {
    const gradNorm = Math.sqrt(k.sum_squares(this.G.at, this.G.n));
    const norms = normPaths.map((p) => Math.sqrt(k.sum_squares(this.at(p, "G"), this.size(p))));
    const gscale = clip > 0 ? Math.min(Math.fround(clip / Math.fround(gradNorm + 1e-6)), 1) : 1;
    this.count += 1;
    const { beta1, beta2, eps, weightDecay } = hyper;
    const c1 = 1 - Math.exp(this.count * Math.log(beta1));
    const c2 = 1 - Math.exp(this.count * Math.log(beta2));
    for (const leaf of this.leaves) {
      const o = leaf.off * 4;
      k.adamw(this.P.at + o, this.G.at + o, this.M.at + o, this.V.at + o, leaf.n, lr, beta1, beta2, eps, leaf.decayed ? weightDecay : 0, c1, c2, gscale);
    }
    return { gradNorm, norms };
  }
}
