/**
 * The language model's tied output layer on our kernels: `z = Z Eᵀ` over the 50,257-way vocabulary,
 * in chunks of C rows through `lmHead.c` (its vocabulary in blocks shared out over the threads), giving
 * each row's cross-entropy `logsumexp(z) − z[y]` and whether its target is the arg-max (an exact tie
 * counts as correct, as `models/lmHead.ts`); in training also `∂L/∂Z` of the mean loss and `∂L/∂E`
 * added into the table's gradient. Used by the training step (`nativeLmStep.ts`) and the evaluation
 * pass (`nativeLmEval.ts`).
 */
import type { Arena, Buf } from "../kernels/mlpKernel.js";
import type { Kernels } from "../kernels/parallelKernels.js";

/** Where a training pass puts its gradients: ∂L/∂Z `[T, d]`, and the byte offset of the table's gradient ∂L/∂E. */
export type HeadGrads = { dZ: Buf; dE: number };

export class NativeLmHead {
  /** Rows per chunk (a multiple of 8). */
  readonly chunk: number;
  private readonly blocks: number;
  private readonly groups: number;
  /** A padded chunk of hidden rows and targets, z `[V, C]`, block maxima and sums `[blocks, C]`, per-column m, S-weights, target logits. */
  private readonly hPad: Buf; private readonly yPad: Buf; private readonly z: Buf; private readonly bmax: Buf; private readonly bsum: Buf;
  private readonly m: Buf; private readonly w: Buf; private readonly picked: Buf;
  /** Training only: ∂L/∂h parts `[groups, C, d]` and head_grads' per-group column factors `[groups, C]`. */
  private readonly dhParts: Buf | null; private readonly factors: Buf | null;

  /** Takes its buffers from `mem` (before `mem.commit()`) for up to `rows` rows in chunks of `chunk`; `training` adds the gradients' buffers. */
  constructor(private readonly mem: Arena, private readonly d: number, private readonly vocab: number, rows: number, chunk: number, training: boolean) {
    const HB = mem.k.head_block_rows(), GROUP = mem.k.head_group_blocks();
    const C = (this.chunk = Math.ceil(Math.min(chunk, rows) / 8) * 8);
    this.blocks = Math.ceil(vocab / HB);
    this.groups = Math.ceil(this.blocks / GROUP);
    this.hPad = mem.take(C * d); this.yPad = mem.take(C); this.z = mem.take(vocab * C);
    this.bmax = mem.take(this.blocks * C); this.bsum = mem.take(this.blocks * C);
    this.m = mem.take(C); this.w = mem.take(C); this.picked = mem.take(C);
    this.dhParts = training ? mem.take(this.groups * C * d) : null;
    this.factors = training ? mem.take(this.groups * C) : null;
  }

  /**
   * The head over `T` rows of `Z` `[T, d]` with targets `tgt` `[T]` (int32), the table at byte offset
   * `E`: the summed loss and correct count; each row's loss and correctness into `losses` and
   * `correct` when given; with `grads`, the mean loss's gradients.
   */
  run(k: Kernels, E: number, Z: Buf, tgt: Buf, T: number, out: { grads?: HeadGrads; losses?: Float32Array; correct?: Float32Array } = {}): { loss: number; correct: number } {
    const { mem, d, vocab: V, chunk: C, blocks: nb } = this;
    const { grads } = out;
    if (grads && !this.dhParts) throw new Error("native LM head: gradients from a head built for evaluation");
    const scale = Math.fround(1 / T);
    const bmax = mem.f32(this.bmax), bsum = mem.f32(this.bsum), m = mem.f32(this.m), w = mem.f32(this.w), picked = mem.f32(this.picked);
    let loss = 0, correct = 0;
    for (let s0 = 0; s0 < T; s0 += C) {
      const n = Math.min(C, T - s0);
      // A whole chunk is read in place; the last, partial one from zero-padded copies.
      let h = Z.at + s0 * d * 4, y = tgt.at + s0 * 4;
      if (n < C) {
        const hp = mem.f32(this.hPad), yp = mem.i32(this.yPad);
        hp.fill(0);
        hp.set(mem.f32({ at: h, n: n * d }));
        yp.fill(0);
        yp.set(mem.i32({ at: y, n }));
        h = this.hPad.at;
        y = this.yPad.at;
      }
      k.head_stats(E, V, d, h, y, C, this.z.at, this.bmax.at, this.bsum.at, this.picked.at, 0, nb);
      for (let c = 0; c < C; c++) {
        let mx = -Infinity;
        for (let b = 0; b < nb; b++) mx = Math.max(mx, bmax[b * C + c]);
        let sum = 0;
        for (let b = 0; b < nb; b++) sum += bsum[b * C + c] * Math.exp(bmax[b * C + c] - mx);
        m[c] = mx;
        w[c] = c < n ? scale / sum : 0;
        if (c < n) {
          const rowLoss = Math.log(sum) + mx - picked[c];
          const right = picked[c] >= mx ? 1 : 0;
          loss += rowLoss;
          correct += right;
          if (out.losses) out.losses[s0 + c] = rowLoss;
          if (out.correct) out.correct[s0 + c] = right;
        }
      }
      if (!grads) continue;
      k.head_grads(E, V, d, h, y, C, n, scale, this.z.at, this.bmax.at, this.m.at, this.w.at, this.factors!.at, grads.dE, this.dhParts!.at, 0, this.groups);
      // ∂L/∂Z of the chunk: the groups' parts added in order.
      const dz = grads.dZ.at + s0 * d * 4;
      k.zero(dz, n * d);
      for (let g = 0; g < this.groups; g++) k.add(dz, this.dhParts!.at + g * C * d * 4, n * d);
    }
    return { loss, correct };
  }
}
