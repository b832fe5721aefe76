/**
 * The stack of blocks shared by the image and the language model, on our kernels: per block
 * `n = LN(h); h += FFN(n)` or `h += Σ_{i∈S(n)} w_i E_i(n)`, forward and backward over a residual
 * stream of `rows` rows held in kernel memory, after an optional sublayer of its own (`PreSublayer`:
 * the language model's attention).
 *
 * MoE layers are truly sparse: expert i runs only on the rows routed to it (gathered), so compute
 * follows the routing. Routing runs on the host (`moe/hostRouter.ts`) with the draws of
 * `moe/drawSchedule.ts`, so the native steps make the jax-js steps' routing decisions.
 */
import type { Arena, Buf } from "../kernels/mlpKernel.js";
import type { Kernels } from "../kernels/parallelKernels.js";
import { hostDrawFloats, hostStepDraws, type DrawLayer, type HostDraws, type UniformInto } from "../moe/drawSchedule.js";
import type { HostKey } from "../engine/hostRandom.js";
import { allocHostRouting, hostRoute, hostRouteBackward, type HostRouting } from "../moe/hostRouter.js";
import { HOST_ROUTER_KINDS, routerCapacity, routerWidth, ruleOf } from "../moe/routers/registry.js";
import { dispatchCapacity } from "../moe/dispatch.js";
import { hasBalanceBias } from "../moe/balanceBias.js";
import { hasL1, hasRouterState, hostRouterStateStep } from "../moe/routerState.js";
import { layerRouter, sharedHidden, type StackConfig } from "../models/stackConfig.js";
import type { NativeParams } from "./nativeParams.js";

export const LN_EPS = 1e-5;

/** Uniform draws by `k.threefry_uniform` into views of kernel memory: `hostUniform`'s bits, on the pool's threads. */
export function kernelUniformInto(k: Pick<Kernels, "threefry_uniform">): UniformInto {
  return (key, lo, hi, out) => k.threefry_uniform(key[0], key[1], 0, out.length, lo, Math.fround(hi - lo), out.byteOffset);
}

/** Why the native engine cannot run this stack, or null when it can. */
export function nativeStackUnsupported(cfg: StackConfig): string | null {
  if (cfg.kind === "dense") return null;
  for (let l = 0; l < cfg.layers; l++) {
    const r = layerRouter(cfg, l);
    if (!HOST_ROUTER_KINDS.includes(r.kind)) return `the ${r.kind} router`;
  }
  return null;
}

/**
 * A residual sublayer run before each block's LayerNorm and MoE or FFN part (the language model's
 * attention, `nativeAttention.ts`): `forward` updates `H` in place for block `l`; `backward` takes
 * ∂L/∂h after it in `dH` and leaves ∂L/∂h before it, its parameter gradients written into `p.G`.
 */
export type PreSublayer = {
  /** `rows` (at most the stack's, a whole number of the sublayer's sequences) of `H` are updated. */
  forward(k: Kernels, p: NativeParams<unknown>, H: Buf, l: number, rows: number): void;
  backward(k: Kernels, p: NativeParams<unknown>, dH: Buf, l: number): void;
};

/**
 * A dense FFN's buffers: the dense block's (`blocks.l.ffn`), or an MoE block's shared experts
 * (`blocks.l.shared`, `models/blockFfn.ts`): pre-activation, activation and the tanh GELU kept for the
 * backward pass, `[R, hidden]`.
 */
type FfnBufs = { path: string; hidden: number; pre: Buf; act: Buf; tanh: Buf };

/**
 * How a forward pass runs: training (router noise and jitter from the draws, the training
 * capacities, the routers' loads counted) or evaluation (none of them, the evaluation capacities);
 * over the first `rows` rows (at most the stack's); `onRouting` sees each MoE layer's routing after
 * its experts ran (evaluation analytics, `analysis/hostRoutingCounts.ts`).
 */
export type ForwardMode = { train: boolean; rows?: number; onRouting?(l: number, routing: HostRouting, rows: number): void };
const TRAINING: ForwardMode = { train: true };

/** Buffers of one block. */
type Block = {
  xhat: Buf; rstd: Buf; normed: Buf; dNormed: Buf;
  ffn?: FfnBufs;
  moe?: {
    /** Experts N, and the router's outputs W (N, or N + null experts: `routerWidth`). */
    n: number; width: number; routing: HostRouting; z: Buf; dz: Buf; tokens: Buf; pairW: Buf;
    /** The router state's loads `[N + 1]`: tokens per expert, then tokens, since the last `updateStates` (stateful routers only). */
    load?: Float64Array;
    /** Router input jitter: the jittered router input `[R, d]`, and where this step's factors `[R, d]` are (a view of the draws). */
    xr?: Buf; jitterAt?: number;
    /** Per pair (grouped by expert): input `[P, d]`, pre-activation and activation `[P, h]`, output `[P, d]`. */
    xe: Buf; pre: Buf; act: Buf; tanh: Buf; out: Buf; dPair: Buf;
  };
};

export class NativeStack {
  private readonly blocks: Block[];
  private readonly tmpD: Buf;
  private readonly tmpH: Buf;
  /** The routers' draws: which, and (training) their buffer in kernel memory, set up by `bind`. */
  private readonly drawLayers: DrawLayer[];
  private readonly drawBuf: Buf | null;
  private drawFn: ((key: HostKey, uniformInto?: UniformInto) => HostDraws[]) | null = null;

  /**
   * Takes the buffers for `rows` rows from `mem` (before `mem.commit()`); `pre` runs before each
   * block. `forwardOnly` (evaluation): the blocks share one set of buffers, sized for the widest
   * layer, and `backward` must not be called.
   */
  constructor(
    readonly cfg: StackConfig, readonly rows: number, private readonly mem: Arena, private readonly pre: PreSublayer | null = null,
    private readonly opts: { forwardOnly?: boolean } = {},
  ) {
    const { d, h } = cfg;
    const b = rows;
    const hs = sharedHidden(cfg);
    const moeLayers = cfg.kind === "dense" ? [] : cfg.experts.slice(0, cfg.layers);
    const nMax = Math.max(0, ...moeLayers);
    const widthMax = Math.max(0, ...moeLayers.map((n, l) => routerWidth(n, layerRouter(cfg, l))));
    // A buffer per block, or (forward only) one per name at the widest layer's size.
    const shared = new Map<string, Buf>();
    const take = (name: string, size: number, widest: number): Buf => {
      if (!opts.forwardOnly) return mem.take(size);
      if (!shared.has(name)) shared.set(name, mem.take(widest));
      return shared.get(name)!;
    };
    const same = (name: string, size: number) => take(name, size, size);
    const ffnBufs = (path: string, hidden: number): FfnBufs => ({ path, hidden, pre: same(`ffn.pre`, b * hidden), act: same(`ffn.act`, b * hidden), tanh: same(`ffn.tanh`, b * hidden) });
    this.blocks = Array.from({ length: cfg.layers }, (_, l) => {
      const block: Block = { xhat: same("xhat", b * d), rstd: same("rstd", b), normed: same("normed", b * d), dNormed: same("dNormed", b * d) };
      if (cfg.kind === "dense") {
        block.ffn = ffnBufs(`blocks.${l}.ffn`, h);
      } else {
        if (hs > 0) block.ffn = ffnBufs(`blocks.${l}.shared`, hs);
        const n = cfg.experts[l];
        const width = routerWidth(n, layerRouter(cfg, l));
        const pairs = b * n, most = b * nMax;
        const tokens = take("tokens", pairs, most), pairW = take("pairW", pairs, most);
        const jittered = layerRouter(cfg, l).jitter > 0;
        block.moe = {
          n, width, z: take("z", b * width, b * widthMax), dz: take("dz", b * width, b * widthMax), tokens, pairW,
          ...(hasRouterState(layerRouter(cfg, l)) ? { load: new Float64Array(n + 1) } : {}),
          ...(jittered ? { xr: same("xr", b * d) } : {}),
          xe: take("xe", pairs * d, most * d), pre: take("pre", pairs * h, most * h), act: take("act", pairs * h, most * h), tanh: take("tanh", pairs * h, most * h),
          out: take("out", pairs * d, most * d), dPair: take("dPair", pairs, most),
          routing: undefined as unknown as HostRouting,
        };
      }
      return block;
    });
    const maxPairs = Math.max(b, ...this.blocks.map((bl) => (bl.moe ? b * bl.moe.n : 0)));
    this.tmpD = mem.take(maxPairs * d);
    this.tmpH = mem.take(Math.max(maxPairs * h, b * hs));
    this.drawLayers = this.blocks.map((bl, l) => (bl.moe ? { router: layerRouter(cfg, l), experts: bl.moe.width } : null));
    const drawFloats = opts.forwardOnly ? 0 : hostDrawFloats(this.drawLayers, b, d);
    this.drawBuf = drawFloats > 0 ? mem.take(drawFloats) : null;
  }

  /** Set up the routing views and the draws' buffer (after `mem.commit()`). */
  bind(): void {
    for (const block of this.blocks) {
      if (block.moe) block.moe.routing = allocHostRouting(this.rows, block.moe.n, this.mem.i32(block.moe.tokens), this.mem.f32(block.moe.pairW), block.moe.width);
    }
    if (this.drawBuf) this.drawFn = hostStepDraws(this.drawLayers, this.rows, this.cfg.d, this.mem.f32(this.drawBuf));
  }

  /**
   * The step's router draws from `key` (null when no router draws anything), in kernel memory: the
   * uniform ones by `k.threefry_uniform` (the same bits as `hostUniform`, on the pool's threads).
   */
  draws(k: Kernels, key: HostKey): HostDraws[] | null {
    return this.drawFn?.(key, kernelUniformInto(k)) ?? null;
  }

  /** Whether any router draws noise (else the key is not read). */
  get drawsNoise(): boolean {
    return this.drawBuf !== null;
  }

  /** Paths of the routers' weights (their gradient norms are step statistics). */
  routerPaths(): string[] {
    return this.blocks.flatMap((bl, l) => (bl.moe ? [`blocks.${l}.moe.router.w`] : []));
  }

  /**
   * Forward through every block, updating the residual stream `H` `[R, d]` in place. Returns the
   * auxiliary losses' sum and each MoE layer's mean active experts per row.
   */
  forward(k: Kernels, p: NativeParams<unknown>, H: Buf, draws: HostDraws[] | null, mode: ForwardMode = TRAINING): { aux: number; active: number[] } {
    const { cfg } = this;
    const b = mode.rows ?? this.rows;
    if (!(b >= 1 && b <= this.rows)) throw new Error(`native stack: ${b} rows, not in [1, ${this.rows}]`);
    const { train } = mode;
    if (!train) draws = null;
    const { d, h } = cfg;
    const f32 = (buf: Buf) => this.mem.f32(buf);
    const P = (path: string) => p.at(path, "P");
    const active: number[] = [];
    let aux = 0;
    this.blocks.forEach((bl, l) => {
      const pre = `blocks.${l}`;
      this.pre?.forward(k, p, H, l, b);
      k.layernorm_forward(H.at, P(`${pre}.norm.scale`), P(`${pre}.norm.bias`), b, d, LN_EPS, bl.normed.at, bl.xhat.at, bl.rstd.at);
      if (bl.ffn) this.ffnForward(k, p, bl.normed, bl.ffn, H, b);
      if (!bl.moe) return;
      const m = bl.moe;
      const rcfg = layerRouter(cfg, l);
      const { n, width } = m;
      const draw = draws?.[l] ?? {};
      let routerIn = bl.normed.at;
      if (draw.jitter) {
        m.jitterAt = draw.jitter.byteOffset; // the draws stay in place until the next step's
        k.mul(bl.normed.at, m.jitterAt, m.xr!.at, b * d, 0);
        routerIn = m.xr!.at;
      }
      const layerNoise = draw.noise ?? null;
      k.matmul(b, width, d, routerIn, d, 1, P(`${pre}.moe.router.w`), width, m.z.at, width, 0);
      const z = f32(m.z).subarray(0, b * width);
      if (rcfg.temperature !== 1) for (let i = 0; i < z.length; i++) z[i] = Math.fround(z[i] / rcfg.temperature);
      const cap = typeof cfg.capacity === "number" ? dispatchCapacity(b, n, rcfg, train, cfg.capacity) : b;
      const state = this.state(p, l);
      aux += hostRoute(rcfg, z, b, n, layerNoise, m.routing, {
        capacity: routerCapacity(b, n, rcfg, train) ?? b, uniform: draw.rule ?? null, dispatchCap: cap, bias: state.bias, l1: state.l1?.[0],
        thresholds: ruleOf(rcfg.kind).thresholds ? this.mem.f32({ at: P(`${pre}.moe.router.thresholds`), n }) : null,
      });
      active.push(m.routing.offsets[n] / b);
      if (m.load && train) {
        for (let e = 0; e < n; e++) m.load[e] += m.routing.offsets[e + 1] - m.routing.offsets[e];
        m.load[n] += b;
      }
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
        k.scatter_add_rows(H.at, d, idx, m.pairW.at + p0 * 4, rows, oe);
      }
      mode.onRouting?.(l, m.routing, b);
    });
    return { aux, active };
  }

  /** A dense FFN on `x` `[R, d]`, its output added to `H` `[R, d]`: the dense block, or an MoE block's shared experts. */
  private ffnForward(k: Kernels, p: NativeParams<unknown>, x: Buf, f: FfnBufs, H: Buf, b: number): void {
    const { d } = this.cfg;
    const hid = f.hidden;
    const P = (path: string) => p.at(`${f.path}.${path}`, "P");
    k.matmul(b, hid, d, x.at, d, 1, P("up.w"), hid, f.pre.at, hid, 0);
    k.add_bias(f.pre.at, P("up.b"), b, hid);
    k.gelu_forward_t(f.pre.at, f.act.at, f.tanh.at, b * hid);
    k.matmul(b, d, hid, f.act.at, hid, 1, P("down.w"), d, H.at, d, 1); // h += act W_down
    k.add_bias(H.at, P("down.b"), b, d);
  }

  /** `ffnForward`'s backward: gradients into `p.G`, ∂L/∂x written into `dX` (`beta` 0) or added to it (1). */
  private ffnBackward(k: Kernels, p: NativeParams<unknown>, x: Buf, f: FfnBufs, dH: Buf, dX: Buf, beta: 0 | 1): void {
    const { rows: b } = this;
    const { d } = this.cfg;
    const hid = f.hidden;
    const P = (path: string) => p.at(`${f.path}.${path}`, "P");
    const G = (path: string) => p.at(`${f.path}.${path}`, "G");
    k.matmul(hid, d, b, f.act.at, 1, hid, dH.at, d, G("down.w"), d, 0);
    k.sum_rows(dH.at, b, d, G("down.b"));
    k.matmul_t(b, hid, d, dH.at, d, 1, P("down.w"), d, this.tmpH.at, hid, 0);
    k.gelu_backward_t(f.pre.at, f.tanh.at, this.tmpH.at, this.tmpH.at, b * hid);
    k.matmul(d, hid, b, x.at, 1, d, this.tmpH.at, hid, G("up.w"), hid, 0);
    k.sum_rows(this.tmpH.at, b, hid, G("up.b"));
    k.matmul_t(b, d, hid, this.tmpH.at, hid, 1, P("up.w"), hid, dX.at, d, beta);
  }

  /** Views of block l's router state in the parameters (`moe/routerState.ts`), null where it has none. */
  private state(p: NativeParams<unknown>, l: number): { bias: Float32Array | null; l1: Float32Array | null } {
    const m = this.blocks[l].moe;
    if (!m?.load) return { bias: null, l1: null };
    const r = layerRouter(this.cfg, l);
    const view = (leaf: string, n: number) => this.mem.f32({ at: p.at(`blocks.${l}.moe.router.${leaf}`, "P"), n });
    return { bias: hasBalanceBias(r) ? view("bias", m.n) : null, l1: hasL1(r) ? view("l1", 1) : null };
  }

  /** Run `f`, whose forward passes must not count toward the routers' state (a gradient measured, not trained on), and put the loads back as they were. */
  uncounted<T>(f: () => T): T {
    const saved = this.blocks.map((bl) => bl.moe?.load?.slice());
    try {
      return f();
    } finally {
      this.blocks.forEach((bl, l) => bl.moe?.load?.set(saved[l]!));
    }
  }

  /**
   * The end of a training step for the routers' state (`moe/routerState.ts`): each stateful layer's
   * state moves by one step from the loads its forward passes counted, which are then reset. Its
   * gradients are zero, so AdamW has left it as it was.
   */
  updateStates(p: NativeParams<unknown>): void {
    this.blocks.forEach((bl, l) => {
      const m = bl.moe;
      if (!m?.load) return;
      const { bias, l1 } = this.state(p, l);
      hostRouterStateStep(bias, l1, m.load, layerRouter(this.cfg, l));
      m.load.fill(0);
    });
  }

  /**
   * Backward through every block, last to first: `dH` `[R, d]` holds ∂L/∂h of the residual stream
   * after the last block and is left holding it before the first; the blocks' parameter gradients
   * are written into `p.G`.
   */
  backward(k: Kernels, p: NativeParams<unknown>, dH: Buf): void {
    if (this.opts.forwardOnly) throw new Error("native stack: backward on a forward-only stack");
    const { cfg, rows: b } = this;
    const { d, h } = cfg;
    const f32 = (buf: Buf) => this.mem.f32(buf);
    const P = (path: string) => p.at(path, "P");
    const G = (path: string) => p.at(path, "G");
    for (let l = cfg.layers - 1; l >= 0; l--) {
      const bl = this.blocks[l];
      const pre = `blocks.${l}`;
      if (!bl.moe) {
        this.ffnBackward(k, p, bl.normed, bl.ffn!, dH, bl.dNormed, 0);
      } else {
        const m = bl.moe;
        const { n, width } = m;
        const rcfg = layerRouter(cfg, l);
        k.zero(bl.dNormed.at, b * d);
        for (let e = 0; e < n; e++) {
          const p0 = m.routing.offsets[e], rows = m.routing.offsets[e + 1] - p0;
          if (rows === 0) continue;
          const idx = m.tokens.at + p0 * 4;
          const xe = m.xe.at + p0 * d * 4, pe = m.pre.at + p0 * h * 4, ae = m.act.at + p0 * h * 4, oe = m.out.at + p0 * d * 4;
          const dOut = this.tmpD.at, dAct = this.tmpH.at;
          // ∂L/∂w of each pair, then ∂L/∂out = w · ∂L/∂h of its token.
          k.gathered_dots(dH.at, d, idx, oe, rows, m.dPair.at + p0 * 4);
          k.gather_rows(dH.at, d, idx, m.pairW.at + p0 * 4, rows, dOut);
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
        const dThresholds = ruleOf(rcfg.kind).thresholds ? this.mem.f32({ at: G(`${pre}.moe.router.thresholds`), n }) : null;
        hostRouteBackward(rcfg, m.routing, b, n, f32(m.dPair), dz, dThresholds);
        if (rcfg.temperature !== 1) for (let i = 0; i < dz.length; i++) dz[i] = Math.fround(dz[i] / rcfg.temperature);
        const routerIn = m.xr ? m.xr.at : bl.normed.at;
        k.matmul(d, width, b, routerIn, 1, d, m.dz.at, width, G(`${pre}.moe.router.w`), width, 0);
        if (!m.xr) k.matmul_t(b, d, width, m.dz.at, width, 1, P(`${pre}.moe.router.w`), width, bl.dNormed.at, d, 1);
        else {
          // Through the jitter: ∂L/∂n += (∂L/∂x_r) ⊙ u.
          k.matmul_t(b, d, width, m.dz.at, width, 1, P(`${pre}.moe.router.w`), width, this.tmpD.at, d, 0);
          k.mul(this.tmpD.at, m.jitterAt!, bl.dNormed.at, b * d, 1);
        }
        if (bl.ffn) this.ffnBackward(k, p, bl.normed, bl.ffn, dH, bl.dNormed, 1); // the shared experts
      }
      k.layernorm_backward(bl.dNormed.at, bl.xhat.at, bl.rstd.at, P(`${pre}.norm.scale`), b, d, dH.at, 1, G(`${pre}.norm.scale`), G(`${pre}.norm.bias`));
      this.pre?.backward(k, p, dH, l);
    }
  }
}
