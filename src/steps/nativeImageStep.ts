/**
 * The image model's whole training step (forward, cross-entropy, backward, clipping, AdamW) on our
 * WebAssembly SIMD kernels, with every parameter, gradient and optimizer moment resident in kernel
 * memory between steps: the same function as `imageStep.ts`'s jax-js step, computed by hand.
 *
 *   h = x W_e + b_e;  the blocks (`nativeStack.ts`);  logits = LN(h) W_o + b_o
 *
 * It runs the routing rules that have a host form (`HOST_ROUTER_KINDS`); `nativeImageUnsupported`
 * says why a configuration needs the jax-js step instead. `test/steps/nativeImageStep.test.ts` holds
 * it against the jitted step, `test/steps/nativeThreads.test.ts` holds it against itself on 1–3 threads.
 */
import type { numpy as np } from "../engine/jax.js";
import type { KernelPool } from "../kernels/kernelPool.js";
import type { Arena, Buf } from "../kernels/mlpKernel.js";
import type { Kernels } from "../kernels/parallelKernels.js";
import type { ImageModelConfig, ImageModelParams } from "../models/imageModel.js";
import type { HostDraws } from "../moe/drawSchedule.js";
import type { AdamWOptions, AdamWState } from "./adamw.js";
import { hostCrossEntropy } from "./hostCrossEntropy.js";
import { NativeParams } from "./nativeParams.js";
import { LN_EPS, NativeStack, nativeStackUnsupported } from "./nativeStack.js";
import { nativeMemory, NativeStep, ONE_THREAD, type NativeThreads } from "./nativeStep.js";

/** Why the native step cannot run `cfg` (then the jitted jax-js step does), or null when it can. */
export function nativeImageUnsupported(cfg: ImageModelConfig): string | null {
  return nativeStackUnsupported(cfg);
}

/** What a native step owns; `step` advances it, `params()`/`opt()` read it back as jax-js trees. */
export class NativeImageStep extends NativeStep<ImageModelParams> {
  protected readonly k: Kernels;
  protected readonly pool: KernelPool | null;
  protected readonly mem: Arena;
  protected readonly p: NativeParams<ImageModelParams>;
  protected readonly stack: NativeStack;
  private readonly X: Buf; private readonly H: Buf; private readonly dH: Buf;
  private readonly xhatF: Buf; private readonly rstdF: Buf; private readonly Z: Buf; private readonly dZ: Buf;
  private readonly logits: Buf; private readonly dLogits: Buf;

  private constructor(
    readonly cfg: ImageModelConfig,
    readonly batch: number,
    private readonly hyper: AdamWOptions,
    private readonly clip: number,
    params: ImageModelParams,
    threads: NativeThreads,
  ) {
    super();
    const { d, inputDim, numClasses: c } = cfg;
    const b = batch;
    const memory = nativeMemory(threads);
    const mem = (this.mem = memory.mem);
    this.p = new NativeParams(mem, params);
    this.X = mem.take(b * inputDim); this.H = mem.take(b * d); this.dH = mem.take(b * d);
    this.stack = new NativeStack(cfg, b, mem);
    this.xhatF = mem.take(b * d); this.rstdF = mem.take(b); this.Z = mem.take(b * d); this.dZ = mem.take(b * d);
    this.logits = mem.take(b * c); this.dLogits = mem.take(b * c);
    ({ k: this.k, pool: this.pool } = memory.commit());
    this.stack.bind();
  }

  /**
   * A native step holding copies of `params` and `opt` (neither is consumed), on `threads` threads
   * (workers started by `spawn`); the numbers are the same for any thread count. `close()` ends it.
   */
  static async create(
    cfg: ImageModelConfig, batch: number, hyper: AdamWOptions, clip: number, params: ImageModelParams, opt: AdamWState<ImageModelParams>,
    threads: NativeThreads = ONE_THREAD,
  ): Promise<NativeImageStep> {
    const reason = nativeImageUnsupported(cfg);
    if (reason) throw new Error(`the native step does not support ${reason}`);
    const s = new NativeImageStep(cfg, batch, hyper, clip, params, threads);
    await s.start(params, opt);
    return s;
  }

  /**
   * One training step on `x` `[B, inputDim]` and labels `y` `[B]`, router noise from `key`
   * (consumed), learning rate `lr`. Returns the packed stats of `unpackStepStats`.
   */
  async step(x: Float32Array, y: Int32Array, key: np.Array, lr: number): Promise<Float32Array> {
    const { loss, correct, active } = this.pass(x, y, await this.draws(key));
    const { gradNorm, norms } = this.p.update(this.k, lr, this.hyper, this.clip, this.stack.routerPaths());
    this.stack.updateStates(this.p);
    return Float32Array.from([loss, gradNorm, correct, ...active, ...norms]);
  }

  /**
   * The gradient of the loss on `x`, `y` with router noise from `key` (consumed), at the current
   * parameters, before clipping, as fresh jax-js arrays; nothing is updated (gradient variance).
   */
  async gradient(x: Float32Array, y: Int32Array, key: np.Array): Promise<ImageModelParams> {
    const draws = await this.draws(key);
    this.stack.uncounted(() => this.pass(x, y, draws));
    return this.gradients();
  }

  /** Forward and backward on one batch: the loss (with the auxiliary losses), correct count and active experts; the gradient in G. */
  private pass(x: Float32Array, y: Int32Array, draws: HostDraws[] | null): { loss: number; correct: number; active: number[] } {
    const { cfg, batch: b, k, p } = this;
    const { d, inputDim, numClasses: c } = cfg;
    const f32 = (buf: Buf) => this.mem.f32(buf);
    const P = (path: string) => p.at(path, "P");
    const G = (path: string) => p.at(path, "G");
    if (x.length !== b * inputDim || y.length !== b) throw new Error(`native step: a batch of ${y.length} is not [${b}, ${inputDim}]`);
    f32(this.X).set(x);
    k.zero(p.G.at, p.G.n);

    // Forward.  h [B, d] = x W_e + b_e, the blocks, the head.
    k.matmul(b, d, inputDim, this.X.at, inputDim, 1, P("embed.w"), d, this.H.at, d, 0);
    k.add_bias(this.H.at, P("embed.b"), b, d);
    const { aux, active } = this.stack.forward(k, p, this.H, draws);
    k.layernorm_forward(this.H.at, P("norm.scale"), P("norm.bias"), b, d, LN_EPS, this.Z.at, this.xhatF.at, this.rstdF.at);
    k.matmul(b, c, d, this.Z.at, d, 1, P("head.w"), c, this.logits.at, c, 0);
    k.add_bias(this.logits.at, P("head.b"), b, c);

    // Cross-entropy, its gradient ∂L/∂logits = (softmax − onehot) / B, and the correct count.
    const { lossSum, correct } = hostCrossEntropy(f32(this.logits), y, b, c, f32(this.dLogits));
    const loss = lossSum / b + aux;

    // Backward through the head and the final LayerNorm, the blocks, the input layer.
    k.matmul(d, c, b, this.Z.at, 1, d, this.dLogits.at, c, G("head.w"), c, 0);
    k.sum_rows(this.dLogits.at, b, c, G("head.b"));
    k.matmul_t(b, d, c, this.dLogits.at, c, 1, P("head.w"), c, this.dZ.at, d, 0);
    k.layernorm_backward(this.dZ.at, this.xhatF.at, this.rstdF.at, P("norm.scale"), b, d, this.dH.at, 0, G("norm.scale"), G("norm.bias"));
    this.stack.backward(k, p, this.dH);
    k.matmul(inputDim, d, b, this.X.at, 1, inputDim, this.dH.at, d, G("embed.w"), d, 0);
    k.sum_rows(this.dH.at, b, d, G("embed.b"));
    return { loss, correct, active };
  }
}
