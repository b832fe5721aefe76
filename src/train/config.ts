/**
 * The run configuration: one plain typed object with one default, validated once at the boundary
 * (CLI or `train()`), saved with every run.
 *
 * Defaults are the spec's (§4, §5): d = h = 128, L = 4, E_max = 8, E_min = 2, T = 0.5, σ = 0.1,
 * τ = 50, AdamW lr 1e-3, weight decay 0.01, batch 256, clipping at 1.0, cosine decay with warm-up.
 * Language models (`task: "lm"`) take d, L from the scale preset, h = 2d, batch 32, context 128.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { z } from "zod";
import { UserError } from "../errors.js";
import { ROUTER_KINDS, routerDefaults, ruleOf } from "../moe/routers/registry.js";
import { SCHEDULE_KINDS } from "../moe/schedules.js";
import { BUDGETS } from "../moe/budget.js";
import { DISPATCH_MODES } from "../moe/dispatchPlan.js";
import { HEAD_KERNELS } from "../models/headKernel.js";
import { ENGINES } from "../steps/makeTrainer.js";

const positiveInt = z.number().int().positive();

export const LM_SCALES = ["tiny", "small", "medium"] as const;
export type LmScale = (typeof LM_SCALES)[number];

/**
 * A router's keys. Every key is optional here: a missing one takes the default of the router's kind
 * (`routerDefaults`: the shared `ROUTER_KEY_DEFAULTS` with each rule's own, e.g. temperature 1 and
 * jitter 0.01 for switch), so the defaults live in the rule registry alone.
 */
const routerSchema = z
  .strictObject({
    kind: z.enum(ROUTER_KINDS).default("percentile"),
    temperature: z.number().positive().optional(),
    noise: z.number().nonnegative().optional(),
    tau: z.number().min(0).max(100).optional(),
    k: positiveInt.optional(),
    renormalize: z.enum(["gates", "softmax-of-gates"]).optional(),
    capacityFactorTrain: z.number().positive().optional(),
    capacityFactorEval: z.number().positive().optional(),
    minCapacity: z.number().int().nonnegative().optional(),
    balanceCoef: z.number().nonnegative().optional(),
    zLossCoef: z.number().nonnegative().optional(),
    jitter: z.number().min(0).lt(1).optional(),
    p: z.number().gt(0).max(1).optional(),
    entropyCoef: z.number().nonnegative().optional(),
    threshold: z.number().min(0).max(1).optional(),
    biasRate: z.number().nonnegative().optional(),
    l1Init: z.number().positive().optional(),
    l1Growth: z.number().gt(1).optional(),
    nullRatio: z.number().nonnegative().optional(),
  })
  .refine(({ kind, biasRate }) => !(biasRate && (ruleOf(kind).gate === "relu" || ruleOf(kind).routerWidth)), {
    message: "the balancing bias shifts the real experts' softmax gates; remoe balances through its L1 term and adamoe through its null-aware loss instead",
    path: ["biasRate"],
  })
  .transform(({ kind, ...given }) => {
    const out = routerDefaults(kind);
    for (const [key, value] of Object.entries(given)) if (value !== undefined) (out as Record<string, unknown>)[key] = value;
    return out;
  });

export const configSchema = z
  .strictObject({
    /** `image`: classification (spec §4 image MLP-MoE). `lm`: next-token language modelling. */
    task: z.enum(["image", "lm"]).default("image"),
    /** Images: `mnist`, `fashion-mnist`, `cifar10`, or a folder with train/<class>/*.png and test/<class>/*.png (`data/imageFolder.ts`). */
    dataset: z.string().min(1).default("mnist"),
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
    /** Which engine runs the training step (`src/steps/makeTrainer.ts`): `native` is our WebAssembly SIMD kernels (on the CPU, for the models and routers `nativeUnsupported` accepts), `jax` jax-js's compiled step (every model, CPU or WebGPU); `auto` takes native where it can. */
    engine: z.enum(ENGINES).default("auto"),
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
    layers: positiveInt.max(1024).optional(),
    schedule: z.enum(SCHEDULE_KINDS).default("uniform"),
    eMax: positiveInt.max(1024).default(8),
    eMin: positiveInt.default(2),
    /**
     * `matched` rescales the schedule (or the explicit list) to the uniform schedule's total expert
     * count L·eMax, keeping its shape (`matchBudget` in `src/moe/budget.ts`); `free` uses it as is.
     * Dense models ignore it.
     */
    budget: z.enum(BUDGETS).default("free"),
    /** Explicit experts per layer; implies `schedule: "custom"`. */
    experts: z.array(positiveInt).optional(),
    /**
     * Fine-grained expert segmentation (DeepSeekMoE): each expert split into m narrower ones, so a layer
     * of N experts of hidden size h becomes m·N experts of h/m, and a router's `k` (where it reads one)
     * becomes m·k; the experts' parameters and compute stay the same (the router grows). 1: none. h must
     * be a multiple of m.
     */
    segments: positiveInt.default(1),
    /**
     * Always-on shared experts in every MoE block beside the routed ones (DeepSeekMoE): S experts of the
     * layer's expert size applied to every token with weight 1 (one FFN of hidden S·h, `models/blockFfn.ts`).
     * Not routed and not counted in k; their compute is in the FLOPs. 0: none.
     */
    sharedExperts: z.number().int().nonnegative().default(0),
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
        k: z.number().int().min(2).max(256).default(8),
        lossWindow: z.number().int().min(2).default(20),
      })
      .optional(),
    /**
     * Images [ours]: training images held out as the validation split, evaluated at every epoch's end
     * (and every `evalEvery` steps); the test set is evaluated once, at the end. The same images for
     * every run seed (`data/holdOut.ts`). `auto`: 5,000, or a tenth of a smaller training split
     * (`validationSize`). 0: no validation split, the test set every epoch (the protocol of run
     * folders written before this key, which read as 0). Language models hold out documents instead
     * (`validationFraction`).
     */
    validation: z.union([z.literal("auto"), z.number().int().nonnegative()]).default("auto"),
    /** Also evaluate on the validation split every n steps, besides every epoch's end. */
    evalEvery: positiveInt.optional(),
    /**
     * Keep the training state of the best validation evaluation (highest accuracy; lowest loss for
     * language models) in `best.safetensors`, and report the test set on its parameters. Images need
     * a validation split for it.
     */
    keepBest: z.boolean().default(false),
    /** Use only the first n training / test examples (sequences for language models), for quick runs. */
    trainLimit: positiveInt.optional(),
    testLimit: positiveInt.optional(),
  })
  .transform(fillTaskDefaults)
  .superRefine((c, ctx) => {
    // Sizes that cannot fit: parameters, gradients and two Adam moments in float32 within wasm's 4 GiB.
    const perLayer = c.model === "moe" ? c.eMax * (c.budget === "matched" ? 2 : 1) : 1;
    const expertRows = c.experts ? c.experts.reduce((a, b) => a + b, 0) : c.layers * perLayer;
    const floats = expertRows * 2 * c.d * c.h + (c.task === "lm" ? (50257 + c.context) * c.d : 3072 * c.d);
    if (floats * 16 > 4 * 2 ** 30) {
      ctx.addIssue({ code: "custom", path: ["d"], message: `d = ${c.d}, h = ${c.h}, ${expertRows} expert blocks: about ${(floats * 16 / 2 ** 30).toFixed(0)} GiB of parameters and optimizer state, more than WebAssembly's 4 GiB` });
    }
    if (c.keepBest && c.task === "image" && c.validation === 0) {
      ctx.addIssue({ code: "custom", path: ["keepBest"], message: "needs a validation split to choose by (validation > 0): the test set never chooses" });
    }
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

/**
 * Configuration keys renamed since run folders were first written: the old name, the new one and
 * the old values that changed with it. Old run folders and config files keep working.
 */
export const RENAMED_KEYS: Record<string, { to: string; values: Record<string, string> }> = {
  stepKernel: { to: "engine", values: { jit: "jax" } },
};

/** Rename old keys (and their old values) to the current ones, with one note per rename. */
export function renameOldKeys(input: unknown, onNote?: (line: string) => void): unknown {
  if (!input || typeof input !== "object" || Array.isArray(input)) return input;
  const c = { ...(input as Record<string, unknown>) };
  for (const [old, { to, values }] of Object.entries(RENAMED_KEYS)) {
    if (!(old in c)) continue;
    const value = c[old];
    delete c[old];
    if (to in c) {
      onNote?.(`config key "${old}" is now "${to}"; the "${to}" given is used`);
      continue;
    }
    const renamed = typeof value === "string" && value in values ? values[value] : value;
    c[to] = renamed;
    onNote?.(`config key "${old}" is now "${to}" (${JSON.stringify(value)} read as ${JSON.stringify(renamed)})`);
  }
  return c;
}

export type ResolveOptions = {
  /** Called with a one-line note for each renamed key read (`RENAMED_KEYS`). */
  onNote?: (line: string) => void;
};

/** Validate and fill defaults. Throws `UserError` with a one-line message on any problem. */
export function resolveConfig(input: unknown, opts: ResolveOptions = {}): TrainConfig {
  const result = configSchema.safeParse(mergeLayerRouters(renameOldKeys(input ?? {}, opts.onNote)));
  if (!result.success) throw new UserError(formatIssues(result.error));
  return result.data;
}

/** The spec defaults, fully resolved. */
export function defaultConfig(): TrainConfig {
  return resolveConfig({});
}

/**
 * Keys a run folder's saved configuration predates, read as what that run did: an image run without
 * `validation` had no validation split (it evaluated the test set every epoch).
 */
function withRunFolderDefaults(saved: Record<string, unknown>): Record<string, unknown> {
  return saved.task !== "lm" && !("validation" in saved) ? { ...saved, validation: 0 } : saved;
}

/** A run folder's saved `config.json`, resolved (old keys renamed with a note); a `UserError` when missing or damaged. */
export function readRunConfig(dir: string, opts: ResolveOptions = {}): TrainConfig {
  const path = join(dir, "config.json");
  if (!existsSync(path)) throw new UserError(`${dir}: no config.json, not a dynamoe run folder`);
  let saved: unknown;
  try {
    saved = JSON.parse(readFileSync(path, "utf8"));
  } catch (err) {
    throw new UserError(`${path}: not valid JSON (${(err as Error).message.split("\n")[0]}); the run folder is damaged`);
  }
  if (!saved || typeof saved !== "object" || Array.isArray(saved)) throw new UserError(`${path}: not a JSON object; the run folder is damaged`);
  try {
    return resolveSavedConfig(saved as Record<string, unknown>, opts);
  } catch (err) {
    if (err instanceof UserError) throw new UserError(`${path}: ${err.message}`);
    throw err;
  }
}

/**
 * A saved configuration as today's code reads it: keys it predates take what that run did
 * (`withRunFolderDefaults`) or today's defaults, old names are renamed. So configurations saved before
 * a key existed compare equal to those saved after, where the run was the same. Throws `UserError`.
 */
export function resolveSavedConfig(saved: Record<string, unknown>, opts: ResolveOptions = {}): TrainConfig {
  return resolveConfig(withRunFolderDefaults(saved), opts);
}

/**
 * The keys a resumed run may change: the learning rate and its schedule's floor, how long it trains,
 * and how often it logs and checkpoints. Everything else (the model, the data, the router, the seed,
 * the optimizer's other settings) would make the checkpoint mean something else.
 */
export const RESUME_CHANGEABLE_KEYS = ["lr", "minLrRatio", "epochs", "maxSteps", "logEvery", "checkpointEvery", "evalBatchSize"] as const;

/**
 * The saved configuration with `changes` applied for a resumed run: each changed key that may change
 * gets a note; a key that may not (and differs from the saved value) is a `UserError` naming it.
 */
export function applyResumeChanges(saved: TrainConfig, changes: Record<string, unknown>, onNote?: (line: string) => void): TrainConfig {
  if (Object.keys(changes).length === 0) return saved;
  const next = resolveConfig({ ...saved, ...changes }) as Record<string, unknown>;
  const before = saved as Record<string, unknown>;
  const changed = Object.keys(next).filter((k) => JSON.stringify(next[k]) !== JSON.stringify(before[k]));
  const allowed = new Set<string>(RESUME_CHANGEABLE_KEYS);
  const refused = changed.filter((k) => !allowed.has(k));
  if (refused.length > 0) {
    throw new UserError(`--resume cannot change ${refused.join(", ")} (the checkpoint was trained with the saved value); only ${RESUME_CHANGEABLE_KEYS.join(", ")} may change`);
  }
  for (const k of changed) onNote?.(`resuming with ${k} ${JSON.stringify(next[k])} (was ${JSON.stringify(before[k])})`);
  return next as TrainConfig;
}
