/**
 * The image model's evaluation pass on our kernels: the forward pass of `nativeImageStep.ts` in
 * evaluation mode (no router noise or jitter, the evaluation capacities, the routers' state read and
 * never moved), over batches of up to `batch` images (the last may be smaller), with the sums that
 * `train/evaluate.ts` turns into an evaluation: summed cross-entropy, correct count, active experts
 * per layer and each MoE layer's routing counts (`analysis/hostRoutingCounts.ts`). The same numbers
 * as `imageStep.ts`'s jitted `makeEvalStep`, held against it by `test/steps/nativeImageEval.test.ts`.
 *
 * It owns its kernel memory (the parameters only, no gradients or moments) and threads, so a run's
 * training step and its evaluation never share buffers; `load` copies a parameter tree in.
 */
import { hostRoutingCounts } from "../analysis/hostRoutingCounts.js";
import type { RoutingCounts } from "../analysis/routingStats.js";
import type { KernelPool } from "../kernels/kernelPool.js";
import type { Arena, Buf } from "../kernels/mlpKernel.js";
import type { Kernels } from "../kernels/parallelKernels.js";
import type { ImageModelConfig, ImageModelParams } from "../models/imageModel.js";
import { layerRouter } from "../models/stackConfig.js";
import { hostCrossEntropy } from "./hostCrossEntropy.js";
import { nativeImageUnsupported } from "./nativeImageStep.js";
import { NativeParams } from "./nativeParams.js";
import { LN_EPS, NativeStack } from "./nativeStack.js";
import { nativeMemory, NativeEvalPass, ONE_THREAD, type NativeThreads } from "./nativeStep.js";

/** One batch's sums: `lossSum` `Σ CE`, `correct`, `active[l]` `Σ_t active_t`, and each MoE layer's routing counts. */
export type EvalBatchSums = { lossSum: number; correct: number; active: number[]; counts: RoutingCounts[] };

export class NativeImageEval extends NativeEvalPass<ImageModelParams> {
  protected readonly k: Kernels;
  protected readonly pool: KernelPool | null;
  protected readonly mem: Arena;
  protected readonly p: NativeParams<ImageModelParams>;
  private readonly stack: NativeStack;
  private readonly X: Buf; private readonly H: Buf; private readonly Z: Buf; private readonly xhat: Buf; private readonly rstd: Buf; private readonly logits: Buf;

  private constructor(readonly cfg: ImageModelConfig, readonly batch: number, params: ImageModelParams, threads: NativeThreads) {
    super();
    const { d, inputDim, numClasses: c } = cfg;
    const b = batch;
    const memory = nativeMemory(threads);
    const mem = (this.mem = memory.mem);
    this.p = new NativeParams(mem, params, false);
    this.X = mem.take(b * inputDim); this.H = mem.take(b * d);
    this.stack = new NativeStack(cfg, b, mem, null, { forwardOnly: true });
    this.Z = mem.take(b * d); this.xhat = mem.take(b * d); this.rstd = mem.take(b); this.logits = mem.take(b * c);
    ({ k: this.k, pool: this.pool } = memory.commit());
    this.stack.bind();
  }

  /** An evaluation pass for batches of up to `batch` images, shaped for `params` (not consumed, not loaded: call `load`). */
  static async create(cfg: ImageModelConfig, batch: number, params: ImageModelParams, threads: NativeThreads = ONE_THREAD): Promise<NativeImageEval> {
    const reason = nativeImageUnsupported(cfg);
    if (reason) throw new Error(`the native evaluation does not support ${reason}`);
    const e = new NativeImageEval(cfg, batch, params, threads);
    await e.pool?.ready();
    return e;
  }

  /** The sums over `x` `[rows, inputDim]`, labels `y` `[rows]`, rows ≤ `batch`. */
  evaluate(x: Float32Array, y: Int32Array): EvalBatchSums {
    const { cfg, k, p } = this;
    const { d, inputDim, numClasses: c } = cfg;
    const b = y.length;
    if (!(b >= 1 && b <= this.batch) || x.length !== b * inputDim) throw new Error(`native evaluation: a batch of ${y.length} is not [1..${this.batch}, ${inputDim}]`);
    const P = (path: string) => p.at(path, "P");
    this.mem.f32(this.X).set(x);
    const counts: RoutingCounts[] = [];
    k.matmul(b, d, inputDim, this.X.at, inputDim, 1, P("embed.w"), d, this.H.at, d, 0);
    k.add_bias(this.H.at, P("embed.b"), b, d);
    const { active } = this.stack.forward(k, p, this.H, null, {
      train: false,
      rows: b,
      onRouting: (l, routing, rows) => counts.push(hostRoutingCounts(routing, rows, cfg.experts[l], layerRouter(cfg, l), y, c)),
    });
    k.layernorm_forward(this.H.at, P("norm.scale"), P("norm.bias"), b, d, LN_EPS, this.Z.at, this.xhat.at, this.rstd.at);
    k.matmul(b, c, d, this.Z.at, d, 1, P("head.w"), c, this.logits.at, c, 0);
    k.add_bias(this.logits.at, P("head.b"), b, c);
    const { lossSum, correct } = hostCrossEntropy(this.mem.f32({ at: this.logits.at, n: b * c }), y, b, c, null);
    return { lossSum, correct, active: active.map((a) => a * b), counts };
  }

}
