/**
 * The tied LM head with its cross-entropy, fused and chunked ("linear cross-entropy"), with the
 * gradient written out by hand:
 *
 *   z = h Eᵀ,  ℓ_t = logsumexp(z_t) − z_t[y_t],  ∂ℓ/∂z = softmax(z) − onehot(y) =: G,
 *   ∂L/∂h = s · G E,  ∂L/∂E = s · Gᵀ h   (s = 1/T for the mean over T tokens)
 *
 * Why not `valueAndGrad` of `h Eᵀ` inside the jitted step: a batch of 32 × 128 tokens has
 * `[4096, 50257]` logits, 823 MB in f32, and autodiff keeps them and their softmax for the backward
 * pass, which overruns wasm's 4 GiB memory; and jax-js's `jit` fuses the softmax into the following
 * matmuls' operands and recomputes it per output element (`npm run bench:lm -- --naive` times
 * the plain head against this one). Here the tokens go through in chunks of `chunk` rows, each op runs eagerly as
 * its own kernel, and all of each chunk's outputs are waited for before the next is queued (eager ops
 * allocate their outputs when queued, and a pending op keeps its inputs), so only one chunk's
 * `[chunk, V]` arrays are ever alive.
 *
 * On the CPU (`kernel: "auto"`, the default) the same computation runs instead on our WebAssembly
 * SIMD kernel, `src/kernels/linearCrossEntropy.c`, which fuses it per chunk; with it a whole Tiny
 * step ran 1.7–2.3× faster than with these jax-js ops (`npm run bench:lm` times both, see
 * docs/language-models.md); this code stays as the reference
 * it is tested against and as the WebGPU path.
 */
import { numpy as np, vjp } from "../engine/jax.js";
import { fusedHeadSupports, fusedLinearCrossEntropy } from "../kernels/fusedLinearCrossEntropy.js";

import type { HeadKernel } from "./headKernel.js";

export type HeadOptions = {
  /**
   * `fused`: our WebAssembly SIMD kernel (`src/kernels/`), CPU only, d a multiple of 8; `jax`: the
   * jax-js ops below (any device; the reference); `auto`: fused where it applies.
   * @default "auto"
   */
  kernel?: HeadKernel;
  /** Tokens per chunk of the jax path (the fused kernel works in chunks of 64). @default 512 */
  chunk?: number;
  /** Also compute the gradients. */
  grad?: boolean;
  /** Loss scale s of the gradients (1/T for a mean over T tokens). @default 1 / T */
  scale?: number;
  /** `[V, d]` a gradient to add `∂L/∂E` to (consumed), as when summing over micro-batches. @default zeros */
  dTableInto?: np.Array;
};

export type HeadResult = {
  /** `[T]` per-token cross-entropy (natural log). */
  losses: np.Array;
  /** `[T]` 1 where the arg-max token is the target, else 0 (float32). */
  correct: np.Array;
  /** `[T, d]` `s · G E`, when `grad`. */
  dHidden?: np.Array;
  /** `[V, d]` `s · Gᵀ h`, when `grad`. */
  dTable?: np.Array;
};

/**
 * Cross-entropy of the tied head's logits `hidden · tableᵀ` against `targets`, and its gradients.
 * @param table `[V, d]` the token embedding; not consumed.
 * @param hidden `[T, d]` final hidden states; consumed.
 * @param targets `[T]` int32 next-token ids; consumed.
 */
export async function linearCrossEntropy(table: np.Array, hidden: np.Array, targets: np.Array, opts: HeadOptions = {}): Promise<HeadResult> {
  const [t, d] = hidden.shape;
  const v = table.shape[0];
  const kernel = opts.kernel ?? "auto";
  const fusedApplies = table.device === "wasm" && fusedHeadSupports(d);
  if (kernel === "fused" && !fusedApplies) throw new Error(`head kernel "fused" needs the wasm device and d a multiple of 8 (got ${table.device}, d = ${d})`);
  if (kernel === "fused" || (kernel === "auto" && fusedApplies)) {
    return fusedLinearCrossEntropy(table, hidden, targets, { grad: opts.grad, scale: opts.scale, dTableInto: opts.dTableInto });
  }
  const chunk = Math.min(opts.chunk ?? 512, t);
  const scale = opts.scale ?? 1 / t;
  const losses: np.Array[] = [];
  const correct: np.Array[] = [];
  const dHidden: np.Array[] = [];
  if (!opts.grad) opts.dTableInto?.dispose();
  let dTable: np.Array | undefined = opts.grad ? (opts.dTableInto ?? np.zeros([v, d])) : undefined; // [V, d]
  for (let s = 0; s < t; s += chunk) {
    const e = Math.min(s + chunk, t);
    const c = e - s;
    // The chunk's logits are held transposed, [V, C]: jax-js's wasm matmul runs E·hᵀ up to 3× faster
    // than h·Eᵀ (at d = 128), and then the two gradient matmuls read it in their fast orders too.
    const h = hidden.ref.slice([s, e]); // [C, d]
    const y = targets.ref.slice([s, e]).reshape([1, c]); // [1, C]
    const logits = np.matmul(table.ref, h.ref.transpose()); // [V, C]
    const max = np.max(logits.ref, 0, { keepdims: true }); // [1, C]
    const exp = np.exp(logits.ref.sub(max.ref)); // [V, C]
    const sum = exp.ref.sum(0, { keepdims: true }); // [1, C]
    const picked = np.takeAlongAxis(logits, y, 0); // [1, C]
    // The target is the arg-max when its logit is the maximum (an exact tie counts as correct).
    correct.push(picked.ref.greaterEqual(max.ref).astype(np.float32).reshape([c]));
    losses.push(np.log(sum.ref).add(max).sub(picked).reshape([c]));
    if (dTable) {
      // The softmax part of G; the one-hot part is added below for all chunks at once.
      const pT = exp.mul(np.divide(scale, sum)); // [V, C]  s · softmax(z)ᵀ
      dHidden.push(np.matmul(pT.ref.transpose(), table.ref)); // [C, d]
      dTable = dTable.add(np.matmul(pT, h)); // [V, d]  (pᵀ h: jax-js runs the equivalent (hᵀ p)ᵀ far slower)
    } else {
      exp.dispose();
      sum.dispose();
      h.dispose();
    }
    // Every output of this chunk is computed before the next is queued: a pending op keeps its
    // inputs (the [C, V] logits and softmax) alive, and the allocator cannot reuse them otherwise.
    await Promise.all([losses.at(-1)!, correct.at(-1)!, dHidden.at(-1), dTable].map((a) => a?.blockUntilReady()));
  }
  const cat = (xs: np.Array[]) => (xs.length === 1 ? xs[0] : np.concatenate(xs));
  const result: HeadResult = { losses: cat(losses), correct: cat(correct) };
  if (dTable) {
    // The one-hot part, −s·onehot(y): ∂/∂h = −s·E[y] (a gather) and ∂/∂E = −s·scatter(y, h), the
    // gather's transpose, taken from jax-js's vjp rather than a [T, V] one-hot matmul.
    const [picked, pullback] = vjp((tab: np.Array) => np.take(tab, targets.ref, 0), [table.ref]); // [T, d]
    result.dHidden = cat(dHidden).sub(picked.mul(scale));
    const [scattered] = pullback(hidden.mul(-scale)) as [np.Array];
    pullback.dispose?.();
    result.dTable = dTable.add(scattered);
  } else {
    hidden.dispose();
  }
  targets.dispose();
  return result;
}
