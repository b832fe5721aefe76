/**
 * The language model's attention sublayers on our kernels (`models/attention.ts`), run by
 * `NativeStack` before each block's MoE or FFN part, forward and backward over the residual stream
 * `h` `[B·S, d]` in kernel memory:
 *
 *   n = LN_attn(h);  qkv = n W_qkv + b_qkv;  a = attention(qkv) (`attention.c`);  h += a W_o + b_o
 *
 * The projections are the mlp module's matmuls over all B·S rows (split by output rows, so their
 * parameter gradients are summed over tokens in one fixed order); only the core (scores, mask,
 * softmax, weighted sum) is new, computed whole per (sequence, head) pair.
 */
import type { Arena, Buf } from "../kernels/mlpKernel.js";
import type { Kernels } from "../kernels/parallelKernels.js";
import type { LmModelConfig } from "../models/lmModel.js";
import type { NativeParams } from "./nativeParams.js";
import { LN_EPS, type PreSublayer } from "./nativeStack.js";

/** Buffers one layer keeps for its backward pass. */
type Layer = {
  /** LayerNorm's xhat `[R, d]`, rstd `[R]` and output `[R, d]`. */
  xhat: Buf; rstd: Buf; normed: Buf;
  /** `[R, 3d]` the projection's output; `[B, H, S, S]` the softmax; `[R, d]` the attended values. */
  qkv: Buf; probs: Buf; a: Buf;
};

export class NativeAttention implements PreSublayer {
  private readonly layers: Layer[];
  /** Shared by the layers' backward passes: ∂L/∂a `[R, d]`, ∂L/∂qkv `[R, 3d]`, ∂L/∂n `[R, d]`, dP rows `[B·H, S]`. */
  private readonly da: Buf; private readonly dqkv: Buf; private readonly dn: Buf; private readonly scratch: Buf;
  private readonly rows: number;
  private readonly dh: number;
  private readonly scale: number;

  /**
   * Takes the buffers for `batch` sequences of `cfg.context` positions from `mem` (before
   * `mem.commit()`); `forwardOnly` (evaluation): one set shared by the layers, and no backward pass.
   */
  constructor(readonly cfg: LmModelConfig, readonly batch: number, mem: Arena, private readonly opts: { forwardOnly?: boolean } = {}) {
    const { d, heads: H, context: S } = cfg;
    const R = (this.rows = batch * S);
    this.dh = d / H;
    this.scale = Math.fround(1 / Math.sqrt(this.dh));
    const layer = (): Layer => ({
      xhat: mem.take(R * d), rstd: mem.take(R), normed: mem.take(R * d),
      qkv: mem.take(R * 3 * d), probs: mem.take(batch * H * S * S), a: mem.take(R * d),
    });
    const one = opts.forwardOnly ? layer() : null;
    this.layers = Array.from({ length: cfg.layers }, () => one ?? layer());
    const none: Buf = { at: -1, n: 0 };
    [this.da, this.dqkv, this.dn, this.scratch] = opts.forwardOnly
      ? [none, none, none, none]
      : [mem.take(R * d), mem.take(R * 3 * d), mem.take(R * d), mem.take(batch * H * S)];
  }

  /** Layer `l`'s sublayer on the first `R` rows (whole sequences): `H` `[R, d]` += attention(LN(H)), in place. */
  forward(k: Kernels, p: NativeParams<unknown>, H: Buf, l: number, R = this.rows): void {
    const { cfg, dh, scale } = this;
    const { d, heads, context: S } = cfg;
    if (R % S !== 0 || R > this.rows) throw new Error(`native attention: ${R} rows are not whole sequences of ${S} within ${this.rows}`);
    const P = (path: string) => p.at(path, "P");
    const L = this.layers[l];
    const pre = `blocks.${l}`;
    k.layernorm_forward(H.at, P(`${pre}.attnNorm.scale`), P(`${pre}.attnNorm.bias`), R, d, LN_EPS, L.normed.at, L.xhat.at, L.rstd.at);
    k.matmul(R, 3 * d, d, L.normed.at, d, 1, P(`${pre}.attn.qkv.w`), 3 * d, L.qkv.at, 3 * d, 0);
    k.add_bias(L.qkv.at, P(`${pre}.attn.qkv.b`), R, 3 * d);
    k.attention_forward(L.qkv.at, S, heads, dh, scale, L.probs.at, L.a.at, 0, (R / S) * heads);
    k.matmul(R, d, d, L.a.at, d, 1, P(`${pre}.attn.out.w`), d, H.at, d, 1); // h += a W_o
    k.add_bias(H.at, P(`${pre}.attn.out.b`), R, d);
  }

  /**
   * Layer `l`'s backward pass: `dH` `[R, d]` holds ∂L/∂h after the sublayer and is left holding it
   * before (the residual path plus the LayerNorm's); the parameter gradients go into `p.G`.
   */
  backward(k: Kernels, p: NativeParams<unknown>, dH: Buf, l: number): void {
    if (this.opts.forwardOnly) throw new Error("native attention: backward on a forward-only sublayer");
    const { cfg, rows: R, dh, scale } = this;
    const { d, heads, context: S } = cfg;
    const P = (path: string) => p.at(path, "P");
    const G = (path: string) => p.at(path, "G");
    const L = this.layers[l];
    const pre = `blocks.${l}`;
    k.matmul(d, d, R, L.a.at, 1, d, dH.at, d, G(`${pre}.attn.out.w`), d, 0); // aᵀ dH
    k.sum_rows(dH.at, R, d, G(`${pre}.attn.out.b`));
    k.matmul_t(R, d, d, dH.at, d, 1, P(`${pre}.attn.out.w`), d, this.da.at, d, 0); // dH W_oᵀ
    k.attention_backward(L.qkv.at, L.probs.at, this.da.at, S, heads, dh, scale, this.dqkv.at, this.scratch.at, 0, this.batch * heads);
    k.matmul(d, 3 * d, R, L.normed.at, 1, d, this.dqkv.at, 3 * d, G(`${pre}.attn.qkv.w`), 3 * d, 0); // nᵀ dqkv
    k.sum_rows(this.dqkv.at, R, 3 * d, G(`${pre}.attn.qkv.b`));
    k.matmul_t(R, d, 3 * d, this.dqkv.at, 3 * d, 1, P(`${pre}.attn.qkv.w`), 3 * d, this.dn.at, d, 0); // dqkv W_qkvᵀ
    k.layernorm_backward(this.dn.at, L.xhat.at, L.rstd.at, P(`${pre}.attnNorm.scale`), R, d, dH.at, 1, G(`${pre}.attnNorm.scale`), G(`${pre}.attnNorm.bias`));
  }
}
