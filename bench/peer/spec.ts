/**
 * The models `npm run bench -- --peer pytorch` times, and the JSON description of each that the
 * PyTorch mirror (`bench/peer/pytorch_models.py`) builds its model from. The description is made
 * from our resolved model configuration, so both sides have the same sizes by construction; the
 * parameter counts are then checked equal.
 */
import type { ImageModelConfig } from "../../src/models/imageModel.js";
import type { LmModelConfig } from "../../src/models/lmModel.js";
import type { RouterConfig } from "../../src/moe/routers/registry.js";

/** What `pytorch_models.py --spec` reads. */
export type PeerSpec = {
  task: "image" | "lm";
  kind: "dense" | "moe";
  d: number;
  h: number;
  layers: number;
  /** Experts per layer (empty for dense). */
  experts: number[];
  router?: RouterConfig;
  /** Images per step, or sequences per step for the LM. */
  batch: number;
  inputDim?: number;
  numClasses?: number;
  vocab?: number;
  context?: number;
};

/**
 * A benchmarked model: its configuration input (`resolveConfig`) and the target ratio ours / PyTorch
 * at its best, on one thread and on more.
 */
export type PeerModel = { name: string; task: "image" | "lm"; config: Record<string, unknown>; target: { oneThread: number; moreThreads: number } };

/** The image models' targets: at most 0.8× PyTorch on one thread, 0.5× on more. */
const IMAGE_TARGET = { oneThread: 0.8, moreThreads: 0.5 };
/** The language models' targets: at most 0.5× on any thread count. */
const LM_TARGET = { oneThread: 0.5, moreThreads: 0.5 };

/** The models the peer bench times, with their targets (ours / the faster PyTorch variant). */
export const PEER_MODELS: PeerModel[] = [
  { name: "dense", task: "image", config: { model: "dense" }, target: IMAGE_TARGET },
  { name: "moe-uniform", task: "image", config: { model: "moe", schedule: "uniform" }, target: IMAGE_TARGET },
  { name: "moe-descending", task: "image", config: { model: "moe", schedule: "descending" }, target: IMAGE_TARGET },
  { name: "moe-switch", task: "image", config: { model: "moe", schedule: "uniform", router: { kind: "switch" } }, target: IMAGE_TARGET },
  { name: "lm-tiny", task: "lm", config: { task: "lm", scale: "tiny", model: "moe", schedule: "uniform" }, target: LM_TARGET },
  { name: "lm-small", task: "lm", config: { task: "lm", scale: "small", model: "moe", schedule: "uniform" }, target: LM_TARGET },
];

/** The target of `model` at `threads` threads. */
export function peerTarget(model: PeerModel, threads: number): number {
  return threads === 1 ? model.target.oneThread : model.target.moreThreads;
}

function routerOf(cfg: ImageModelConfig | LmModelConfig): RouterConfig | undefined {
  if (cfg.kind !== "moe") return undefined;
  if (cfg.layerRouters?.length) throw new Error("the PyTorch peer mirrors one router for all layers, not layerRouters");
  if (!["percentile", "switch"].includes(cfg.router.kind)) throw new Error(`the PyTorch peer mirrors the percentile and switch routers, not ${cfg.router.kind}`);
  if (typeof cfg.capacity === "number") throw new Error("the PyTorch peer mirrors dispatchCapacity: exact only");
  return cfg.router;
}

/** The description of an image model at a batch size. */
export function imagePeerSpec(cfg: ImageModelConfig, batch: number): PeerSpec {
  const { kind, d, h, layers, inputDim, numClasses } = cfg;
  return { task: "image", kind, d, h, layers, experts: kind === "moe" ? cfg.experts.slice(0, layers) : [], router: routerOf(cfg), batch, inputDim, numClasses };
}

/** The description of a language model at `batch` sequences of its context. */
export function lmPeerSpec(cfg: LmModelConfig, batch: number): PeerSpec {
  if (cfg.attention) throw new Error("the PyTorch peer mirrors the LM without attention (the paper's set-up)");
  const { kind, d, h, layers, vocab, context } = cfg;
  return { task: "lm", kind, d, h, layers, experts: kind === "moe" ? cfg.experts.slice(0, layers) : [], router: routerOf(cfg), batch, vocab, context };
}
