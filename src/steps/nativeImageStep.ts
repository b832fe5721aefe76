/**
 * The image model's whole training step (forward, cross-entropy, backward, clipping, AdamW) on our
 * WebAssembly SIMD kernels, with every parameter, gradient and optimizer moment resident in kernel
 * memory between steps: the same function as `imageStep.ts`'s jax-js step, computed by hand.
 *
 *   h = x W_e + b_e;  per block: n = LN(h), h += FFN(n) or Σ_{i∈S(n)} w_i E_i(n);  logits = LN(h) W_o + b_o
 *
 * MoE layers are truly sparse: expert i runs only on the tokens routed to it (gathered rows), so
 * compute follows the routing. It runs the routing rules that have a host form (`HOST_ROUTER_KINDS`,
 * routed by `moe/hostRouter.ts`); `nativeImageUnsupported` says why a configuration needs the jax-js
 * step instead. The router draws follow `moe/drawSchedule.ts` on the host, so both steps make the
 * same routing decisions and `test/steps/nativeImageStep.test.ts` holds one against the other.
 */
import type { HostKey } from "../engine/hostRandom.js";
import { numpy as np } from "../engine/jax.js";
import { flattenWithPaths, isDecayed, mapWithPaths } from "../engine/paramTree.js";
import { Arena, mlpInstance, type Buf } from "../kernels/mlpKernel.js";
import type { KernelPool, SpawnWorker } from "../kernels/kernelPool.js";
import { mlpPool, parallelKernels, type Kernels } from "../kernels/parallelKernels.js";
import { hostStepDraws, type HostDraws } from "../moe/drawSchedule.js";
import { allocHostRouting, hostRoute, hostRouteBackward, type HostRouting } from "../moe/hostRouter.js";
import { HOST_ROUTER_KINDS, routerCapacity } from "../moe/routers/registry.js";
import type { ImageModelConfig, ImageModelParams } from "../models/imageModel.js";
import { layerRouter } from "../models/stackConfig.js";
import type { AdamWOptions, AdamWState } from "./adamw.js";

const LN_EPS = 1e-5;

/** Why the native step cannot run `cfg` (then the jitted jax-js step does), or null when it can. */
export function nativeImageUnsupported(cfg: ImageModelConfig): string | null {
  if (cfg.kind === "dense") return null;
  if (typeof cfg.capacity === "number") return "a numeric dispatch capacity";
  for (let l = 0; l < cfg.layers; l++) {
    const r = layerRouter(cfg, l);
    if (!HOST_ROUTER_KINDS.includes(r.kind)) return `the ${r.kind} router`;
  }
  return null;
}

/** The threads a native step runs on: how many, how a worker starts, and (tests) the smallest call worth splitting. */
export type NativeThreads = { threads: number; spawn: SpawnWorker; minWork?: number };
const ONE_THREAD: NativeThreads = { threads: 1, spawn: () => ({ stop() {} }) };

type Leaf = { path: string; shape: number[]; off: number; n: number; decayed: boolean };

/** Buffers of one block. */
type Block = {
  xhat: Buf; rstd: Buf; normed: Buf; dNormed: Buf;
  /** Dense FFN: pre-activation, activation and the tanh GELU kept for its backward pass, `[B, h]`. */
  pre?: Buf; act?: Buf; tanh?: Buf;
  moe?: {
    n: number; routing: HostRouting; z: Buf; dz: Buf; tokens: Buf; pairW: Buf;
    /** Router input jitter: the factors `[B, d]` and the jittered router input `[B, d]`. */
    jitter?: Buf; xr?: Buf;
    /** Per pair (grouped by expert): input `[P, d]`, pre-activation and activation `[P, h]`, output `[P, d]`. */
    xe: Buf; pre: Buf; act: Buf; tanh: Buf; out: Buf; dPair: Buf;
  };
};

/** What a native step owns; `step` advances it, `params()`/`opt()` read it back as jax-js trees. */
export class NativeImageStep {
  private readonly k: Kernels;
  private readonly pool: KernelPool | null;
  private readonly mem: Arena;
  private readonly leaves: Leaf[];
  private readonly byPath: Map<string, Leaf>;
  private readonly skeleton: unknown;
  private readonly P: Buf; private readonly G: Buf; private readonly M: Buf; private readonly V: Buf;
  private readonly X: Buf; private readonly H: Buf; private readonly dH: Buf;
  private readonly blocks: Block[];
  private readonly xhatF: Buf; private readonly rstdF: Buf; private readonly Z: Buf; private readonly dZ: Buf;
  private readonly logits: Buf; private readonly dLogits: Buf;
  private readonly tmpD: Buf; private readonly tmpH: Buf;
  private readonly drawFn: ((key: HostKey) => HostDraws[]) | null;
  private count: number;

  private constructor(
    readonly cfg: ImageModelConfig,
    readonly batch: number,
    private readonly hyper: AdamWOptions,
    private readonly clip: number,
    params: ImageModelParams,
    count: number,
    threads: NativeThreads,
  ) {
    const { d, h, inputDim, numClasses: c } = cfg;
    const b = batch;
    const kernels = mlpInstance();
    const mem = (this.mem = new Arena(kernels));
    const startPool = mlpPool(mem, threads.threads, threads.spawn);
    let total = 0;
    this.leaves = flattenWithPaths(params).map(([path, leaf]) => {
      const n = leaf.shape.reduce((x, y) => x * y, 1);
      const out = { path, shape: [...leaf.shape], off: total, n, decayed: isDecayed(path) };
      total += Math.ceil(n / 4) * 4; // each leaf 16-byte aligned
      return out;
    });
    this.byPath = new Map(this.leaves.map((l) => [l.path, l]));
    this.skeleton = mapWithPaths(params, (_p, leaf) => ({ shape: leaf.shape, dtype: leaf.dtype }) as unknown as np.Array);
    this.P = mem.take(total); this.G = mem.take(total); this.M = mem.take(total); this.V = mem.take(total);
    this.X = mem.take(b * inputDim); this.H = mem.take(b * d); this.dH = mem.take(b * d);
    this.blocks = Array.from({ length: cfg.layers }, (_, l) => {
      const block: Block = { xhat: mem.take(b * d), rstd: mem.take(b), normed: mem.take(b * d), dNormed: mem.take(b * d) };
      if (cfg.kind === "dense") {
        block.pre = mem.take(b * h);
        block.act = mem.take(b * h);
        block.tanh = mem.take(b * h);
      } else {
        const n = cfg.experts[l];
        const pairs = b * n;
        const tokens = mem.take(pairs), pairW = mem.take(pairs);
        const jittered = layerRouter(cfg, l).jitter > 0;
        block.moe = {
          n, z: mem.take(b * n), dz: mem.take(b * n), tokens, pairW,
          ...(jittered ? { jitter: mem.take(b * d), xr: mem.take(b * d) } : {}),
          xe: mem.take(pairs * d), pre: mem.take(pairs * h), act: mem.take(pairs * h), tanh: mem.take(pairs * h), out: mem.take(pairs * d), dPair: mem.take(pairs),
          routing: undefined as unknown as HostRouting,
        };
      }
      return block;
    });
    this.xhatF = mem.take(b * d); this.rstdF = mem.take(b); this.Z = mem.take(b * d); this.dZ = mem.take(b * d);
    this.logits = mem.take(b * c); this.dLogits = mem.take(b * c);
    const maxPairs = Math.max(b, ...this.blocks.map((bl) => (bl.moe ? b * bl.moe.n : 0)));
    this.tmpD = mem.take(maxPairs * d); this.tmpH = mem.take(maxPairs * h);
    mem.commit();
    this.pool = startPool();
    this.k = parallelKernels(kernels, this.pool, threads.minWork);
    for (const block of this.blocks) {
      if (block.moe) block.moe.routing = allocHostRouting(b, block.moe.n, mem.i32(block.moe.tokens), mem.f32(block.moe.pairW));
    }
    this.drawFn = hostStepDraws(this.blocks.map((bl, l) => (bl.moe ? { router: layerRouter(cfg, l), experts: bl.moe.n } : null)), b, d);
    this.count = count;
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
    const count = (await opt.count.ref.data())[0];
    const s = new NativeImageStep(cfg, batch, hyper, clip, params, count, threads);
    await s.load(params, opt);
    return s;
  }

  private async load(params: ImageModelParams, opt: AdamWState<ImageModelParams>): Promise<void> {
    const into = async (dst: Buf, t: unknown) => {
      const view = this.mem.f32(dst);
      for (const [path, leaf] of flattenWithPaths(t)) view.set((await leaf.ref.data()) as Float32Array, this.byPath.get(path)!.off);
    };
    await into(this.P, params);
    await into(this.M, opt.mu);
    await into(this.V, opt.nu);
  }

  /** A jax-js tree shaped like the parameters, from buffer `src`. */
  private tree(src: Buf): ImageModelParams {
    const view = this.mem.f32(src);
    return mapWithPaths(this.skeleton as ImageModelParams, (path) => {
      const leaf = this.byPath.get(path)!;
      return np.array(view.slice(leaf.off, leaf.off + leaf.n)).reshape(leaf.shape);
    });
  }

  /** The current parameters as fresh jax-js arrays (the caller owns them). */
  params(): ImageModelParams {
    return this.tree(this.P);
  }

  /** The current optimizer state as fresh jax-js arrays (the caller owns them). */
  opt(): AdamWState<ImageModelParams> {
    return { mu: this.tree(this.M), nu: this.tree(this.V), count: np.array(this.count) };
  }

  /** The gradient of the last step, before clipping, as fresh jax-js arrays (for tests). */
  gradients(): ImageModelParams {
    return this.tree(this.G);
  }

  /** Byte offset of a parameter (`which` = P) or its gradient (`which` = G). */
  private at(path: string, which: "P" | "G"): number {
    const leaf = this.byPath.get(path);
    if (!leaf) throw new Error(`native step: no parameter ${path}`);
    return this[which].at + leaf.off * 4;
  }

  /**
   * One training step on `x` `[B, inputDim]` and labels `y` `[B]`, router noise from `key`
   * (consumed), learning rate `lr`. Returns the packed stats of `unpackStepStats`.
   */
  async step(x: Float32Array, y: Int32Array, key: np.Array, lr: number): Promise<Float32Array> {
    let draws: HostDraws[] | null = null;
    if (this.drawFn) {
      const words = await key.data();
      draws = this.drawFn([words[0], words[1]]);
    } else key.dispose();
    const { cfg, batch: b, k } = this;
    const { d, h, inputDim, numClasses: c } = cfg;
    const f32 = (buf: Buf) => this.mem.f32(buf);
    const P = (p: string) => this.at(p, "P");
    const G = (p: string) => this.at(p, "G");
    if (x.length !== b * inputDim || y.length !== b) throw new Error(`native step: a batch of ${y.length} is not [${b}, ${inputDim}]`);
    f32(this.X).set(x);
    k.zero(this.G.at, this.G.n);

    // Forward.  h [B, d] = x W_e + b_e
    k.matmul(b, d, inputDim, this.X.at, inputDim, 1, P("embed.w"), d, this.H.at, d, 0);
    k.add_bias(this.H.at, P("embed.b"), b, d);
    const active: number[] = [];
    let aux = 0;
    this.blocks.forEach((bl, l) => {
      const pre = `blocks.${l}`;
      k.layernorm_forward(this.H.at, P(`${pre}.norm.scale`), P(`${pre}.norm.bias`), b, d, LN_EPS, bl.normed.at, bl.xhat.at, bl.rstd.at);
      if (!bl.moe) {
        const f = `${pre}.ffn`;
        k.matmul(b, h, d, bl.normed.at, d, 1, P(`${f}.up.w`), h, bl.pre!.at, h, 0);
        k.add_bias(bl.pre!.at, P(`${f}.up.b`), b, h);
        k.gelu_forward_t(bl.pre!.at, bl.act!.at, bl.tanh!.at, b * h);
        k.matmul(b, d, h, bl.act!.at, h, 1, P(`${f}.down.w`), d, this.H.at, d, 1); // h += act W_down
        k.add_bias(this.H.at, P(`${f}.down.b`), b, d);
        return;
      }
      const m = bl.moe;
      const rcfg = layerRouter(cfg, l);
      const n = m.n;
      const draw = draws?.[l] ?? {};
      let routerIn = bl.normed.at;
      if (draw.jitter) {
        const u = f32(m.jitter!), xr = f32(m.xr!), xn = f32(bl.normed);
        u.set(draw.jitter);
        for (let i = 0; i < xr.length; i++) xr[i] = Math.fround(xn[i] * u[i]);
        routerIn = m.xr!.at;
      }
      const layerNoise = draw.noise ?? null;
      k.matmul(b, n, d, routerIn, d, 1, P(`${pre}.moe.router.w`), n, m.z.at, n, 0);
      const z = f32(m.z);
      for (let i = 0; i < z.length; i++) z[i] = Math.fround(z[i] / rcfg.temperature);
      aux += hostRoute(rcfg, z, b, n, layerNoise, m.routing, routerCapacity(b, n, rcfg, true) ?? b);
      active.push(m.routing.offsets[n] / b);
      for (let e = 0; e < n; e++) {
        const p0 = m.routing.offsets[e], rows = m.routing.offsets[e + 1] - p0;
        if (rows === 0) continue;
        const idx = m.tokens.at + p0 * 4;
        const xe = m.xe.at + p0 * d * 4, pe = m.pre.at + p0 * h * 4, ae = m.act.at + p0 * h * 4, oe = m.out.at + p0 * d * 4;
        k.gather_rows(bl.normed.at, d, idx, 0, rows, xe);
        k.matmul(rows, h, d, xe, d, 1, P(`${pre}.moe.w1`) + e * d * h * 4, h, pe, h, 0);
        k.add_bias(pe, P(`${pre}.moe.b1`) + e * h * 4, rows, h);
        k.gelu_forward_t(pe, ae, m.tanh.at + p0 * h * 4, rows * h);
        k.matmul(rows, d, h, ae, h, 1, P(`${pre}.moe.w2`) + e * h * d * 4, d, oe, d, 0);
        k.add_bias(oe, P(`${pre}.moe.b2`) + e * d * 4, rows, d);
        k.scatter_add_rows(this.H.at, d, idx, m.pairW.at + p0 * 4, rows, oe);
      }
    });
    k.layernorm_forward(this.H.at, P("norm.scale"), P("norm.bias"), b, d, LN_EPS, this.Z.at, this.xhatF.at, this.rstdF.at);
    k.matmul(b, c, d, this.Z.at, d, 1, P("head.w"), c, this.logits.at, c, 0);
    k.add_bias(this.logits.at, P("head.b"), b, c);

    // Cross-entropy, its gradient ∂L/∂logits = (softmax − onehot) / B, and the correct count.
    const lg = f32(this.logits), dl = f32(this.dLogits);
    let loss = 0, correct = 0;
    for (let r = 0; r < b; r++) {
      const at = r * c;
      let mx = -Infinity, arg = 0;
      for (let j = 0; j < c; j++) if (lg[at + j] > mx) (mx = lg[at + j]), (arg = j);
      let sum = 0;
      for (let j = 0; j < c; j++) sum += Math.exp(lg[at + j] - mx);
      const label = y[r];
      if (!(label >= 0 && label < c)) throw new Error(`native step: label ${label} outside [0, ${c})`);
      loss += Math.log(sum) + mx - lg[at + label];
      if (arg === label) correct++;
      for (let j = 0; j < c; j++) dl[at + j] = (Math.exp(lg[at + j] - mx) / sum - (j === label ? 1 : 0)) / b;
    }
    loss = loss / b + aux;

    // Backward through the head and the final LayerNorm.
    k.matmul(d, c, b, this.Z.at, 1, d, this.dLogits.at, c, G("head.w"), c, 0);
    k.sum_rows(this.dLogits.at, b, c, G("head.b"));
    k.matmul_t(b, d, c, this.dLogits.at, c, 1, P("head.w"), c, this.dZ.at, d, 0);
    k.layernorm_backward(this.dZ.at, this.xhatF.at, this.rstdF.at, P("norm.scale"), b, d, this.dH.at, 0, G("norm.scale"), G("norm.bias"));

    // The blocks, last to first; dH holds ∂L/∂h of the residual stream.
    for (let l = cfg.layers - 1; l >= 0; l--) {
      const bl = this.blocks[l];
      const pre = `blocks.${l}`;
      if (!bl.moe) {
        const f = `${pre}.ffn`;
        k.matmul(h, d, b, bl.act!.at, 1, h, this.dH.at, d, G(`${f}.down.w`), d, 0);
        k.sum_rows(this.dH.at, b, d, G(`${f}.down.b`));
        k.matmul_t(b, h, d, this.dH.at, d, 1, P(`${f}.down.w`), d, this.tmpH.at, h, 0);
        k.gelu_backward_t(bl.pre!.at, bl.tanh!.at, this.tmpH.at, this.tmpH.at, b * h);
        k.matmul(d, h, b, bl.normed.at, 1, d, this.tmpH.at, h, G(`${f}.up.w`), h, 0);
        k.sum_rows(this.tmpH.at, b, h, G(`${f}.up.b`));
        k.matmul_t(b, d, h, this.tmpH.at, h, 1, P(`${f}.up.w`), h, bl.dNormed.at, d, 0);
      } else {
        const m = bl.moe;
        const n = m.n;
        const rcfg = layerRouter(cfg, l);
        k.zero(bl.dNormed.at, b * d);
        for (let e = 0; e < n; e++) {
          const p0 = m.routing.offsets[e], rows = m.routing.offsets[e + 1] - p0;
          if (rows === 0) continue;
          const idx = m.tokens.at + p0 * 4;
          const xe = m.xe.at + p0 * d * 4, pe = m.pre.at + p0 * h * 4, ae = m.act.at + p0 * h * 4, oe = m.out.at + p0 * d * 4;
          const dOut = this.tmpD.at, dAct = this.tmpH.at;
          // ∂L/∂w of each pair, then ∂L/∂out = w · ∂L/∂h of its token.
          k.gathered_dots(this.dH.at, d, idx, oe, rows, m.dPair.at + p0 * 4);
          k.gather_rows(this.dH.at, d, idx, m.pairW.at + p0 * 4, rows, dOut);
          k.matmul(h, d, rows, ae, 1, h, dOut, d, G(`${pre}.moe.w2`) + e * h * d * 4, d, 0);
          k.sum_rows(dOut, rows, d, G(`${pre}.moe.b2`) + e * d * 4);
          k.matmul_t(rows, h, d, dOut, d, 1, P(`${pre}.moe.w2`) + e * h * d * 4, d, dAct, h, 0);
          k.gelu_backward_t(pe, m.tanh.at + p0 * h * 4, dAct, dAct, rows * h);
          k.matmul(d, h, rows, xe, 1, d, dAct, h, G(`${pre}.moe.w1`) + e * d * h * 4, h, 0);
          k.sum_rows(dAct, rows, h, G(`${pre}.moe.b1`) + e * h * 4);
          k.matmul_t(rows, d, h, dAct, h, 1, P(`${pre}.moe.w1`) + e * d * h * 4, h, dOut, d, 0); // ∂L/∂x of the gathered rows
          k.scatter_add_rows(bl.dNormed.at, d, idx, 0, rows, dOut);
        }
        // The router: ∂L/∂z from the weights, then through z = n W_r / T.
        const dz = f32(m.dz);
        hostRouteBackward(rcfg, m.routing, b, n, f32(m.dPair), dz);
        for (let i = 0; i < dz.length; i++) dz[i] = Math.fround(dz[i] / rcfg.temperature);
        const routerIn = m.xr ? m.xr.at : bl.normed.at;
        k.matmul(d, n, b, routerIn, 1, d, m.dz.at, n, G(`${pre}.moe.router.w`), n, 0);
        if (!m.jitter) k.matmul_t(b, d, n, m.dz.at, n, 1, P(`${pre}.moe.router.w`), n, bl.dNormed.at, d, 1);
        else {
          // Through the jitter: ∂L/∂n += (∂L/∂x_r) ⊙ u.
          k.matmul_t(b, d, n, m.dz.at, n, 1, P(`${pre}.moe.router.w`), n, this.tmpD.at, d, 0);
          const g = this.mem.f32({ at: this.tmpD.at, n: b * d }), u = f32(m.jitter), dn = f32(bl.dNormed);
          for (let i = 0; i < g.length; i++) dn[i] += g[i] * u[i];
        }
      }
      k.layernorm_backward(bl.dNormed.at, bl.xhat.at, bl.rstd.at, P(`${pre}.norm.scale`), b, d, this.dH.at, 1, G(`${pre}.norm.scale`), G(`${pre}.norm.bias`));
    }
    k.matmul(inputDim, d, b, this.X.at, 1, inputDim, this.dH.at, d, G("embed.w"), d, 0);
    k.sum_rows(this.dH.at, b, d, G("embed.b"));

    // Global norm, clipping and AdamW, leaf by leaf (weight decay on the leaves `isDecayed` names).
    const gradNorm = Math.sqrt(k.sum_squares(this.G.at, this.G.n));
    const routerGradNorm: number[] = [];
    this.blocks.forEach((bl, l) => {
      if (bl.moe) routerGradNorm.push(Math.sqrt(k.sum_squares(G(`blocks.${l}.moe.router.w`), this.byPath.get(`blocks.${l}.moe.router.w`)!.n)));
    });
    const gscale = this.clip > 0 ? Math.min(Math.fround(this.clip / Math.fround(gradNorm + 1e-6)), 1) : 1;
    this.count += 1;
    const { beta1, beta2, eps, weightDecay } = this.hyper;
    const c1 = 1 - Math.exp(this.count * Math.log(beta1));
    const c2 = 1 - Math.exp(this.count * Math.log(beta2));
    for (const leaf of this.leaves) {
      const o = leaf.off * 4;
      k.adamw(this.P.at + o, this.G.at + o, this.M.at + o, this.V.at + o, leaf.n, lr, beta1, beta2, eps, leaf.decayed ? weightDecay : 0, c1, c2, gscale);
    }
    return Float32Array.from([loss, gradNorm, correct, ...active, ...routerGradNorm]);
  }

  /** Threads the kernels run on. */
  get threads(): number {
    return this.pool?.threads ?? 1;
  }

  /** Stop the worker threads (the state stays readable). */
  close(): void {
    this.pool?.close();
  }

  /** Bytes of kernel memory this step holds. */
  get bytes(): number {
    return this.mem.bytes;
  }
}
