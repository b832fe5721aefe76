/**
 * The run configuration: one plain typed object with one default, validated once at the boundary
 * (CLI or `train()`), saved with every run.
 *
 * Defaults are the spec's (§4, §5): d = h = 128, L = 4, E_max = 8, E_min = 2, T = 0.5, σ = 0.1,
 * τ = 50, AdamW lr 1e-3, weight decay 0.01, batch 256, clipping at 1.0, cosine decay with warm-up.
 * Language models (`task: "lm"`) take d, L from the scale preset, h = 2d, batch 32, context 128.
 */
import { z } from "zod";
import { UserError } from "../errors.js";
import { KIND_DEFAULTS, ROUTER_KINDS } from "../moe/routing.js";
import { SCHEDULE_KINDS } from "../moe/schedules.js";
import { BUDGETS } from "../moe/budget.js";
import { DISPATCH_MODES } from "../moe/dispatchPlan.js";
import { HEAD_KERNELS } from "../models/headKernel.js";
import { STEP_KERNELS } from "./trainer.js";

const positiveInt = z.number().int().positive();

export const LM_SCALES = ["tiny", "small", "medium"] as const;
export type LmScale = (typeof LM_SCALES)[number];

const routerSchema = z.strictObject({
  kind: z.enum(ROUTER_KINDS).default("percentile"),
  /** Default by kind: `KIND_DEFAULTS` (0.5 for DynaMoE's rules and top-k, 1 for the other papers' routers). */
  temperature: z.number().positive().optional(),
  noise: z.number().nonnegative().default(0.1),
  tau: z.number().min(0).max(100).default(50),
  k: positiveInt.default(2),
  renormalize: z.enum(["gates", "softmax-of-gates"]).default("gates"),
  capacityFactorTrain: z.number().positive().default(1.25),
  capacityFactorEval: z.number().positive().default(2.0),
  minCapacity: z.number().int().nonnegative().default(4),
  balanceCoef: z.number().nonnegative().default(0.01),
  zLossCoef: z.number().nonnegative().default(0.001),
  /** Default by kind: `KIND_DEFAULTS` (0.01 for switch, 0 for the others). */
  jitter: z.number().min(0).lt(1).optional(),
  p: z.number().gt(0).max(1).default(0.4),
  entropyCoef: z.number().nonnegative().default(1e-4),
  threshold: z.number().min(0).max(1).default(0.2),
}).transform((r) => ({
  ...r,
  temperature: r.temperature ?? KIND_DEFAULTS[r.kind].temperature,
  jitter: r.jitter ?? KIND_DEFAULTS[r.kind].jitter,
}));

export const configSchema = z
  .strictObject({
    /** `image`: classification (spec §4 image MLP-MoE). `lm`: next-token language modelling. */
    task: z.enum(["image", "lm"]).default("image"),
    dataset: z.enum(["mnist", "fashion-mnist", "cifar10"]).default("mnist"),
    /** Language modelling: `sotu`, `gutenberg`, `recycling-the-web-1k`, or a .txt/.jsonl/.parquet path. */
    corpus: z.string().min(1).default("sotu"),
    /** Language modelling: the size preset of spec §4 (d, L; h = 2d); explicit `d`, `h`, `layers` win. */
    scale: z.enum(LM_SCALES).default("tiny"),
    /** Language modelling: positions per sequence. */
    context: positiveInt.default(128),
    /** Language modelling: causal self-attention before each MoE block (ours; the paper has none). */
    attention: z.boolean().default(false),
    /** Attention heads (must divide d). @default the largest divisor of d that is at most d/32 (heads of about 32) */
    heads: positiveInt.optional(),
    /** Language modelling: fraction of documents held out for validation. */
    validationFraction: z.number().gt(0).lt(1).default(0.1),
    /** Language modelling: tokens per chunk of the 50,257-way output layer (memory vs. speed). */
    headChunk: positiveInt.default(512),
    /** Language modelling: the output layer's implementation (`src/models/lmHead.ts`): `auto` is our fused SIMD kernel on the CPU, jax-js ops on WebGPU. */
    headKernel: z.enum(HEAD_KERNELS).default("auto"),
    /** How a training step runs (`src/train/trainer.ts`): `native` is our SIMD kernels (image models with percentile, top-k or threshold routers, on the CPU), `jit` jax-js's compiled step; `auto` takes native where it can. */
    stepKernel: z.enum(STEP_KERNELS).default("auto"),
    /** Language modelling: sequences per pass of the trunk, gradients summed (must divide the batch). @default the largest that fits wasm's 4 GiB */
    microBatch: positiveInt.optional(),
    /** Directory with the dataset's files, instead of the default source. */
    dataDir: z.string().optional(),
    model: z.enum(["dense", "moe"]).default("moe"),
    /** Model width. @default 128 for images; the scale preset's for language models */
    d: positiveInt.optional(),
    /** Expert / FFN hidden size. @default 128 for images; 2d for language models */
    h: positiveInt.optional(),
    /** Blocks L. @default 4 for images; the scale preset's for language models */
    layers: positiveInt.optional(),
    schedule: z.enum(SCHEDULE_KINDS).default("uniform"),
    eMax: positiveInt.default(8),
    eMin: positiveInt.default(2),
    /**
     * `matched` rescales the schedule (or the explicit list) to the uniform schedule's total expert
     * count L·eMax, keeping its shape (`matchBudget` in `src/moe/budget.ts`); `free` uses it as is.
     * Dense models ignore it.
     */
    budget: z.enum(BUDGETS).default("free"),
    /** Explicit experts per layer; implies `schedule: "custom"`. */
    experts: z.array(positiveInt).optional(),
    router: routerSchema.default(routerSchema.parse({})),
    /**
     * Per-layer router settings (length `layers`), each merged over `router`: e.g.
     * `[{ "kind": "switch" }, { "kind": "top-p" }, ...]`.
     */
    layerRouters: z.array(routerSchema).optional(),
    /** How MoE layers compute their experts: `auto` picks dense-masked or sparse dispatch by measured cost. */
    dispatch: z.enum(DISPATCH_MODES).default("auto"),
    /** Slots per expert: `exact` (never drops beyond the router) or a capacity factor f, `C = ⌈f·T/N⌉`. */
    dispatchCapacity: z.union([z.literal("exact"), z.number().positive()]).default("exact"),
    epochs: positiveInt.default(3),
    /** @default 256 images, 32 sequences */
    batchSize: positiveInt.optional(),
    /** @default 1000 images, the training batch size for sequences */
    evalBatchSize: positiveInt.optional(),
    lr: z.number().positive().default(1e-3),
    weightDecay: z.number().nonnegative().default(0.01),
    beta1: z.number().min(0).max(1).default(0.9),
    beta2: z.number().min(0).max(1).default(0.999),
    eps: z.number().positive().default(1e-8),
    warmupSteps: z.number().int().nonnegative().default(50),
    minLrRatio: z.number().min(0).max(1).default(0),
    /** Global gradient-norm clip; 0 disables. */
    clip: z.number().nonnegative().default(1.0),
    seed: z.number().int().nonnegative().default(0),
    /** Steps between metric lines. */
    logEvery: positiveInt.default(20),
    /** Steps between checkpoints (also written at the end of every epoch); a multiple of logEvery. @default 100 (images), logEvery (language models: their steps are slow) */
    checkpointEvery: positiveInt.optional(),
    /** Stop after this many training steps in total (for smoke tests and benchmarks). */
    maxSteps: positiveInt.optional(),
    /**
     * Gradient variance during training (spec §7, `src/analysis/gradVariance.ts`): every `every`
     * steps, K = `k` mini-batch gradients at the same parameters, written to `grad-variance.jsonl`
     * with the variance of the last `lossWindow` logged training losses. Off when absent.
     */
    gradVariance: z
      .strictObject({
        every: positiveInt,
        k: z.number().int().min(2).default(8),
        lossWindow: z.number().int().min(2).default(20),
      })
      .optional(),
    /** Use only the first n training / test examples (sequences for language models), for quick runs. */
    trainLimit: positiveInt.optional(),
    testLimit: positiveInt.optional(),
  })
  .transform(fillTaskDefaults)
  .superRefine((c, ctx) => {
    if (c.eMin > c.eMax) ctx.addIssue({ code: "custom", path: ["eMin"], message: `must be ≤ eMax (${c.eMax})` });
    if (c.schedule === "custom" && !c.experts) {
      ctx.addIssue({ code: "custom", path: ["experts"], message: "schedule custom needs an experts list" });
    }
    if (c.experts && c.experts.length !== c.layers) {
      ctx.addIssue({
        code: "custom",
        path: ["experts"],
        message: `has ${c.experts.length} entries but layers is ${c.layers}`,
      });
    }
    if (c.layerRouters && c.layerRouters.length !== c.layers) {
      ctx.addIssue({ code: "custom", path: ["layerRouters"], message: `has ${c.layerRouters.length} entries but layers is ${c.layers}` });
    }
    if (c.task === "lm" && c.attention && c.d % c.heads !== 0) {
      ctx.addIssue({ code: "custom", path: ["heads"], message: `${c.heads} heads do not divide d = ${c.d}` });
    }
    if (c.microBatch !== undefined && c.batchSize % c.microBatch !== 0) {
      ctx.addIssue({ code: "custom", path: ["microBatch"], message: `must divide batchSize (${c.batchSize})` });
    }
    if (c.checkpointEvery % c.logEvery !== 0) {
      ctx.addIssue({ code: "custom", path: ["checkpointEvery"], message: `must be a multiple of logEvery (${c.logEvery})` });
    }
  })
  .transform((c) => (c.experts ? { ...c, schedule: "custom" as const } : c));

export type TrainConfig = z.output<typeof configSchema>;

/** The language-model presets of spec §4 [ours]: h = 2d, E_max 8, E_min 2, context 128, batch 32. */
export const LM_PRESETS: Record<LmScale, { d: number; layers: number }> = {
  tiny: { d: 64, layers: 2 },
  small: { d: 128, layers: 4 },
  medium: { d: 256, layers: 6 },
};

/** Heads of size about 32: the largest divisor of d that is at most d/32 (at least 1). */
function defaultHeads(d: number): number {
  let heads = Math.max(1, Math.floor(d / 32));
  while (d % heads !== 0) heads--;
  return heads;
}

/** Fill the sizes whose defaults depend on the task (and, for language models, on the scale). */
function fillTaskDefaults<
  C extends { task: "image" | "lm"; scale: LmScale; d?: number; h?: number; layers?: number; heads?: number; batchSize?: number; evalBatchSize?: number; checkpointEvery?: number; logEvery: number },
>(c: C) {
  const lm = c.task === "lm";
  const d = c.d ?? (lm ? LM_PRESETS[c.scale].d : 128);
  const batchSize = c.batchSize ?? (lm ? 32 : 256);
  return {
    ...c,
    d,
    h: c.h ?? (lm ? 2 * d : 128),
    layers: c.layers ?? (lm ? LM_PRESETS[c.scale].layers : 4),
    heads: c.heads ?? defaultHeads(d),
    batchSize,
    evalBatchSize: c.evalBatchSize ?? (lm ? batchSize : 1000),
    checkpointEvery: c.checkpointEvery ?? (lm ? c.logEvery : 100),
  };
}
export type TrainConfigInput = z.input<typeof configSchema>;

/** One line per problem: `config.router.tau: Too big: expected number to be <=100`. */
function formatIssues(error: z.ZodError): string {
  return error.issues
    .map((i) => {
      const path = i.path.length ? `config.${i.path.join(".")}` : "config";
      if (i.code === "unrecognized_keys") return `${path}: unknown key(s) ${i.keys.map((k) => `"${k}"`).join(", ")}`;
      return `${path}: ${i.message}`;
    })
    .join("; ");
}

/** Each `layerRouters` entry is read as overrides of `router` (idempotent, so saved configs re-resolve). */
function mergeLayerRouters(input: unknown): unknown {
  if (!input || typeof input !== "object" || Array.isArray(input)) return input;
  const c = input as Record<string, unknown>;
  if (!Array.isArray(c.layerRouters)) return input;
  const base = c.router && typeof c.router === "object" ? (c.router as object) : {};
  return { ...c, layerRouters: c.layerRouters.map((r: unknown) => (r && typeof r === "object" && !Array.isArray(r) ? { ...base, ...r } : r)) };
}

/** Validate and fill defaults. Throws `UserError` with a one-line message on any problem. */
export function resolveConfig(input: unknown): TrainConfig {
  const result = configSchema.safeParse(mergeLayerRouters(input ?? {}));
  if (!result.success) throw new UserError(formatIssues(result.error));
  return result.data;
}

/** The spec defaults, fully resolved. */
export function defaultConfig(): TrainConfig {
  return resolveConfig({});
}
