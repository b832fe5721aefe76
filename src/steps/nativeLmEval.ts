/**
 * The language model's evaluation pass on our kernels: the forward pass of `nativeLmStep.ts` in
 * evaluation mode (no router noise, the evaluation capacities, the routers' state read and never
 * moved) over up to `batch` sequences (the last batch may have fewer), giving what
 * `train/lmEvaluate.ts` builds an evaluation from: each position's loss and correctness, each MoE
 * layer's active experts per position and its routing counts with the input token's frequency
 * bucket as the class. The same numbers as the jitted trunk and the head of `lmEvaluate.ts`, held
 * against them by `test/steps/nativeLmEval.test.ts`.
 *
 * It owns its kernel memory (the parameters only, and one set of the blocks' buffers shared by every
 * layer) and threads; `load` copies a parameter tree in.
 */
import { hostRoutingCounts } from "../analysis/hostRoutingCounts.js";
import type { RoutingCounts } from "../analysis/routingStats.js";
import type { KernelPool } from "../kernels/kernelPool.js";
import type { Arena, Buf } from "../kernels/mlpKernel.js";
import type { Kernels } from "../kernels/parallelKernels.js";
import type { LmModelConfig, LmModelParams } from "../models/lmModel.js";
import { layerRouter } from "../models/stackConfig.js";
import { NativeAttention } from "./nativeAttention.js";
import { NativeLmHead } from "./nativeLmHead.js";
import { NATIVE_HEAD_CHUNK, nativeLmUnsupported } from "./nativeLmStep.js";
import { NativeParams } from "./nativeParams.js";
import { LN_EPS, NativeStack } from "./nativeStack.js";
import { nativeMemory, NativeEvalPass, ONE_THREAD, type NativeThreads } from "./nativeStep.js";

/** One batch of B·S positions: `losses` and `correct` (0 or 1) per position, `active[l]` per position, each MoE layer's counts. */
export type LmEvalBatch = { losses: Float32Array; correct: Float32Array; active: Float32Array[]; counts: RoutingCounts[] };

export class NativeLmEval extends NativeEvalPass<LmModelParams> {
  protected readonly k: Kernels;
  protected readonly pool: KernelPool | null;
  protected readonly mem: Arena;
  protected readonly p: NativeParams<LmModelParams>;
  private readonly stack: NativeStack;
  private readonly head: NativeLmHead;
  private readonly tok: Buf; private readonly tgt: Buf; private readonly H: Buf; private readonly Z: Buf; private readonly xhat: Buf; private readonly rstd: Buf;

  private constructor(readonly cfg: LmModelConfig, readonly batch: number, params: LmModelParams, threads: NativeThreads, chunk: number) {
    super();
    const { d, vocab: V, context: S } = cfg;
    const T = batch * S;
    const memory = nativeMemory(threads);
    const mem = (this.mem = memory.mem);
    this.p = new NativeParams(mem, params, false);
    this.tok = mem.take(T); this.tgt = mem.take(T); this.H = mem.take(T * d);
    const attention = cfg.attention ? new NativeAttention(cfg, batch, mem, { forwardOnly: true }) : null;
    this.stack = new NativeStack(cfg, T, mem, attention, { forwardOnly: true });
    this.Z = mem.take(T * d); this.xhat = mem.take(T * d); this.rstd = mem.take(T);
    this.head = new NativeLmHead(mem, d, V, T, chunk, false);
    ({ k: this.k, pool: this.pool } = memory.commit());
    this.stack.bind();
  }

  /** An evaluation pass for up to `batch` sequences, shaped for `params` (not consumed, not loaded: call `load`). */
  static async create(cfg: LmModelConfig, batch: number, params: LmModelParams, threads: NativeThreads = ONE_THREAD, chunk = NATIVE_HEAD_CHUNK): Promise<NativeLmEval> {
    const reason = nativeLmUnsupported(cfg);
    if (reason) throw new Error(`the native evaluation does not support ${reason}`);
    const e = new NativeLmEval(cfg, batch, params, threads, chunk);
    await e.pool?.ready();
    return e;
  }

  /**
   * Token ids `x` `[b·S]` (sequence-major, b ≤ `batch`), next-token targets `y` `[b·S]`, and each
   * position's class for the routing counts (its input token's frequency bucket) among `classes`.
   */
  evaluate(x: Int32Array, y: Int32Array, classOf: Int32Array, classes: number): LmEvalBatch {
    const { cfg, k, p, mem } = this;
    const { d, vocab: V, context: S } = cfg;
    const T = x.length;
    const b = T / S;
    if (!(Number.isInteger(b) && b >= 1 && b <= this.batch) || y.length !== T) throw new Error(`native LM evaluation: ${x.length} tokens are not [1..${this.batch}, ${S}]`);
    for (let i = 0; i < T; i++) {
      if (!(x[i] >= 0 && x[i] < V)) throw new Error(`native LM evaluation: token ${x[i]} outside the vocabulary [0, ${V})`);
      if (!(y[i] >= 0 && y[i] < V)) throw new Error(`native LM evaluation: target ${y[i]} outside the vocabulary [0, ${V})`);
    }
    const P = (path: string) => p.at(path, "P");
    mem.i32(this.tok).set(x);
    mem.i32(this.tgt).set(y);
    k.gather_rows(P("embed.tokens"), d, this.tok.at, 0, T, this.H.at);
    for (let s = 0; s < b; s++) k.add(this.H.at + s * S * d * 4, P("embed.positions"), S * d);
    const counts: RoutingCounts[] = [];
    const active: Float32Array[] = [];
    this.stack.forward(k, p, this.H, null, {
      train: false,
      rows: T,
      onRouting: (l, routing, rows) => {
        const perPosition = new Float32Array(rows);
        counts.push(hostRoutingCounts(routing, rows, cfg.experts[l], layerRouter(cfg, l), classOf, classes, perPosition));
        active.push(perPosition);
      },
    });
    k.layernorm_forward(this.H.at, P("norm.scale"), P("norm.bias"), T, d, LN_EPS, this.Z.at, this.xhat.at, this.rstd.at);
    const losses = new Float32Array(T), correct = new Float32Array(T);
    this.head.run(k, P("embed.tokens"), this.Z, this.tgt, T, { losses, correct });
    return { losses, correct, active, counts };
  }

}
