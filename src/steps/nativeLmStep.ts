/**
 * The language model's whole training step on our kernels (the paper's per-position model, or with
 * causal self-attention before each block), with the state resident in kernel memory as in
 * `nativeImageStep.ts`:
 *
 *   h_t = E[x_t] + P[t mod S];  the blocks (`nativeStack.ts`, attention in `nativeAttention.ts`);  z = LN(h) Eᵀ (tied head);
 *   L = mean_t (logsumexp(z_t) − z_t[y_t]) + auxiliary losses
 *
 * The 50,257-way head goes through `lmHead.c` in chunks of tokens, its vocabulary in blocks shared
 * out over the threads; its `∂L/∂E` is added into the token table's gradient in kernel memory. The
 * whole batch runs at once (no micro-batches: the buffers are allocated once and fit at the presets'
 * sizes). The same function as `lmStep.ts`'s jax-js step with one micro-batch, and held against it by
 * `test/steps/nativeLmStep.test.ts`.
 */
import type { numpy as np } from "../engine/jax.js";
import type { KernelPool } from "../kernels/kernelPool.js";
import type { Arena, Buf } from "../kernels/mlpKernel.js";
import type { Kernels } from "../kernels/parallelKernels.js";
import type { LmModelConfig, LmModelParams } from "../models/lmModel.js";
import type { HostDraws } from "../moe/drawSchedule.js";
import type { AdamWOptions, AdamWState } from "./adamw.js";
import { NativeAttention } from "./nativeAttention.js";
import { NativeLmHead } from "./nativeLmHead.js";
import { NativeParams } from "./nativeParams.js";
import { LN_EPS, NativeStack, nativeStackUnsupported } from "./nativeStack.js";
import { nativeMemory, NativeStep, ONE_THREAD, type NativeThreads } from "./nativeStep.js";

/** Tokens per chunk of the head when not given. */
export const NATIVE_HEAD_CHUNK = 256;

/** Why the native step cannot run `cfg` (then the jax-js step does), or null when it can. */
export function nativeLmUnsupported(cfg: LmModelConfig): string | null {
  if (cfg.d % 8 !== 0) return `width d = ${cfg.d} (the head's tiles need a multiple of 8)`;
  return nativeStackUnsupported(cfg);
}

export class NativeLmStep extends NativeStep<LmModelParams> {
  protected readonly k: Kernels;
  protected readonly pool: KernelPool | null;
  protected readonly mem: Arena;
  protected readonly p: NativeParams<LmModelParams>;
  protected readonly stack: NativeStack;
  private readonly rows: number;
  private readonly tok: Buf; private readonly tgt: Buf;
  private readonly H: Buf; private readonly dH: Buf;
  private readonly xhatF: Buf; private readonly rstdF: Buf; private readonly Z: Buf; private readonly dZ: Buf;
  private readonly head: NativeLmHead;

  private constructor(
    readonly cfg: LmModelConfig,
    readonly batch: number,
    private readonly hyper: AdamWOptions,
    private readonly clip: number,
    params: LmModelParams,
    threads: NativeThreads,
    chunk: number,
  ) {
    super();
    const { d, vocab: V, context: S } = cfg;
    const T = (this.rows = batch * S);
    const memory = nativeMemory(threads);
    const mem = (this.mem = memory.mem);
    this.p = new NativeParams(mem, params);
    this.tok = mem.take(T); this.tgt = mem.take(T);
    this.H = mem.take(T * d); this.dH = mem.take(T * d);
    this.stack = new NativeStack(cfg, T, mem, cfg.attention ? new NativeAttention(cfg, batch, mem) : null);
    this.xhatF = mem.take(T * d); this.rstdF = mem.take(T); this.Z = mem.take(T * d); this.dZ = mem.take(T * d);
    this.head = new NativeLmHead(mem, d, V, T, chunk, true);
    ({ k: this.k, pool: this.pool } = memory.commit());
    this.stack.bind();
  }

  /**
   * A native step holding copies of `params` and `opt` (neither is consumed), on `threads`; `chunk`
   * tokens per pass of the head. `close()` ends it.
   */
  static async create(
    cfg: LmModelConfig, batch: number, hyper: AdamWOptions, clip: number, params: LmModelParams, opt: AdamWState<LmModelParams>,
    threads: NativeThreads = ONE_THREAD, chunk = NATIVE_HEAD_CHUNK,
  ): Promise<NativeLmStep> {
    const reason = nativeLmUnsupported(cfg);
    if (reason) throw new Error(`the native step does not support ${reason}`);
    const s = new NativeLmStep(cfg, batch, hyper, clip, params, threads, chunk);
    await s.start(params, opt);
    return s;
  }

  /**
   * One step on token ids `x` `[B·S]` (sequence-major) and next-token targets `y` `[B·S]`, router
   * noise from `key` (consumed), learning rate `lr`. Returns the packed stats of `unpackStepStats`
   * (`correct` counts tokens; `loss` includes the auxiliary losses).
   */
  async step(x: Int32Array, y: Int32Array, key: np.Array, lr: number): Promise<Float32Array> {
    const { loss, correct, active } = this.pass(x, y, await this.draws(key));
    const { gradNorm, norms } = this.p.update(this.k, lr, this.hyper, this.clip, this.stack.routerPaths());
    this.stack.updateStates(this.p);
    return Float32Array.from([loss, gradNorm, correct, ...active, ...norms]);
  }

  /**
   * The gradient of the loss on `x`, `y` with router noise from `key` (consumed), at the current
   * parameters, before clipping, as fresh jax-js arrays; nothing is updated (gradient variance).
   */
  async gradient(x: Int32Array, y: Int32Array, key: np.Array): Promise<LmModelParams> {
    const draws = await this.draws(key);
    this.stack.uncounted(() => this.pass(x, y, draws));
    return this.gradients();
  }

  /** Forward and backward on one batch: the mean loss (with the auxiliary losses), correct count and active experts; the gradient in G. */
  private pass(x: Int32Array, y: Int32Array, draws: HostDraws[] | null): { loss: number; correct: number; active: number[] } {
    const { cfg, k, p, rows: T } = this;
    const { d, vocab: V, context: S } = cfg;
    const B = this.batch;
    const mem = this.mem;
    const P = (path: string) => p.at(path, "P");
    const G = (path: string) => p.at(path, "G");
    if (x.length !== T || y.length !== T) throw new Error(`native LM step: a batch of ${x.length} tokens is not [${B}, ${S}]`);
    for (let i = 0; i < T; i++) {
      if (!(x[i] >= 0 && x[i] < V)) throw new Error(`native LM step: token ${x[i]} outside the vocabulary [0, ${V})`);
      if (!(y[i] >= 0 && y[i] < V)) throw new Error(`native LM step: target ${y[i]} outside the vocabulary [0, ${V})`);
    }
    mem.i32(this.tok).set(x);
    mem.i32(this.tgt).set(y);
    k.zero(p.G.at, p.G.n);

    // Forward: embeddings, the blocks, the final LayerNorm.
    k.gather_rows(P("embed.tokens"), d, this.tok.at, 0, T, this.H.at);
    for (let b = 0; b < B; b++) k.add(this.H.at + b * S * d * 4, P("embed.positions"), S * d);
    const { aux, active } = this.stack.forward(k, p, this.H, draws);
    k.layernorm_forward(this.H.at, P("norm.scale"), P("norm.bias"), T, d, LN_EPS, this.Z.at, this.xhatF.at, this.rstdF.at);

    // The head, chunk by chunk: loss and correct count, ∂L/∂Z, and ∂L/∂E into the table's gradient.
    const { loss, correct } = this.head.run(k, P("embed.tokens"), this.Z, this.tgt, T, { grads: { dZ: this.dZ, dE: G("embed.tokens") } });

    // Backward: the final LayerNorm, the blocks, the embeddings.
    k.layernorm_backward(this.dZ.at, this.xhatF.at, this.rstdF.at, P("norm.scale"), T, d, this.dH.at, 0, G("norm.scale"), G("norm.bias"));
    this.stack.backward(k, p, this.dH);
    // A token may occur many times: its rows are added on one thread, in order.
    mem.k.scatter_add_rows(G("embed.tokens"), d, this.tok.at, 0, T, this.dH.at);
    for (let b = 0; b < B; b++) k.add(G("embed.positions"), this.dH.at + b * S * d * 4, S * d);
    return { loss: loss / T + aux, correct, active };
  }
}
