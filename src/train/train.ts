/**
 * The training loop, top to bottom: load data, build the model, then for each epoch shuffle, step,
 * log, checkpoint and evaluate. A run folder holds `config.json`, `metrics.jsonl`,
 * `checkpoint.safetensors` and, at the end, `summary.json`; with the `gradVariance` option also
 * `grad-variance.jsonl` (`src/analysis/measureGradVariance.ts`).
 *
 * Resuming (`resume: true`) continues from the checkpoint and ends with exactly the metrics an
 * uninterrupted run would have: the data order depends only on (seed, epoch), the PRNG key and the
 * half-filled logging window are part of the checkpoint, and metric lines written after the
 * checkpoint are dropped.
 */
import { existsSync, lstatSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { initEngine } from "../engine/engine.js";
import { numpy as np, random, tree } from "../engine/jax.js";
import { splitKeyOnHost } from "../engine/seedKey.js";
import { batchesPerEpoch, epochPermutation } from "../data/batches.js";
import type { LmDataset } from "../data/text/lmData.js";
import type { ImageDataset } from "../data/types.js";
import { UserError } from "../errors.js";
import { GRAD_VARIANCE_FILE, gradVarianceRecord, loggedTrainLosses, measureGradVariance, type GradVarianceRecord } from "../analysis/measureGradVariance.js";
import type { ImageModelConfig, ImageModelParams } from "../models/imageModel.js";
import type { LmModelConfig, LmModelParams } from "../models/lmModel.js";
import { adamw, type AdamWState } from "../steps/adamw.js";
import { appendLine, LOCK_FILE, lockRunFolder, readJsonLines, sweepTempFiles, TEMP_NAME, writeFileAtomic } from "../io/runFiles.js";
import { makeFolder } from "../io/makeFolder.js";
import { BEST_FILE, CHECKPOINT_FILE, checkpointExists, loadCheckpoint, NonFiniteError, saveCheckpoint, type Progress } from "./checkpoint.js";
import { applyResumeChanges, readRunConfig, resolveConfig, type TrainConfig, type TrainConfigInput } from "./config.js";
import { makeEvaluator, type EvalResult } from "./evaluate.js";
import { cosineWithWarmup } from "./lrSchedule.js";
import { DATA_FILE, imageTask } from "./imageTask.js";
import type { TaskRun } from "./task.js";
import { makeTrainer } from "../steps/makeTrainer.js";
import { spawnNodeWorker } from "../kernels/nodeWorkers.js";
import { unpackStepStats } from "../steps/imageStep.js";

export { modelConfigFor } from "./imageTask.js";
export { dispatchLabels } from "./dispatchLabels.js";

/** Progress events, for progress bars and logs. */
export type TrainEvent =
  | { type: "tokenize"; side: "train" | "validation"; done: number; total: number }
  | { type: "start"; totalSteps: number; stepsPerEpoch: number; params: number; resumedFrom: number; config: TrainConfig }
  | { type: "step"; step: number; epoch: number; loss: number; lr: number; stepMs: number }
  | { type: "eval"; step: number; epoch: number; split: "validation" | "test"; result: EvalResult }
  | { type: "gradVariance"; record: GradVarianceRecord }
  | { type: "checkpoint"; step: number }
  /** A one-line note for the user, e.g. that an old configuration key was read under its new name. */
  | { type: "note"; message: string };

export type TrainOptions = {
  /** Run folder; created if missing. Without one nothing is written to disk. */
  outDir?: string;
  /** Continue from `outDir`'s checkpoint (its saved config is used; `config` is ignored). */
  resume?: boolean;
  /**
   * With `resume`: configuration keys to change for the rest of the run. Only the keys that are safe
   * to change mid-run (`RESUME_CHANGEABLE_KEYS`: learning rate, epochs, logging) are accepted, each with
   * a note; any other is a `UserError` naming it.
   */
  changes?: Record<string, unknown>;
  /** Already-loaded images (else loaded from `config.dataset`). */
  dataset?: ImageDataset;
  /** Already-loaded text for `task: "lm"` (else loaded from `config.corpus`). */
  corpus?: LmDataset;
  onEvent?: (e: TrainEvent) => void;
  /** Aborting stops after the current step, writing a checkpoint first. */
  signal?: AbortSignal;
};

export type TrainSummary = {
  task: "image" | "lm";
  /** The dataset or corpus name. */
  dataset: string;
  model: "dense" | "moe";
  router: string | null;
  schedule: string | null;
  /** `matched`: the schedule was rescaled to the uniform total L·eMax (`src/moe/budget.ts`); `experts` is the result. */
  budget: "free" | "matched";
  experts: number[];
  params: number;
  /** Language models: parameters without the token and position embeddings. */
  paramsNonEmbedding?: number;
  steps: number;
  epochs: number;
  /** The test set at the end (language models: the validation split, evaluated every epoch); on the best parameters with `keepBest`. */
  test: EvalResult;
  /** Images with a validation split: its last evaluation. */
  validation?: EvalResult;
  /** With `keepBest`: the step of the best validation evaluation and its accuracy (images) or loss (language models). */
  best?: { step: number; accuracy: number; loss: number };
  /** Mean experts active per token in each MoE layer, on the test set. */
  meanActive: number[];
  /** How each MoE layer computed its experts in a training step (`dispatchPlan.ts`), e.g. `gather C=40`; `native sparse` for the native step. */
  dispatch: string[];
  /** Which engine ran the steps (`steps/makeTrainer.ts`): jax-js's compiled step or our native kernels. */
  engine: "jax" | "native";
  medianStepMs: number;
  /** Seconds of wall time: this process's, plus, for a resumed run, each earlier process's up to its last checkpoint. */
  wallSeconds: number;
  /** The backend that ran the steps: wasm (CPU) or webgpu, with the adapter's name. */
  device: "wasm" | "webgpu";
  adapter?: string;
  threads: number;
  /** True when `maxSteps` stopped the run before it finished its epochs. */
  stoppedEarly: boolean;
};

export type TrainResult =
  | { summary: TrainSummary; params: ImageModelParams; modelConfig: ImageModelConfig }
  | { summary: TrainSummary; params: LmModelParams; modelConfig: LmModelConfig };

/** Raised when training is interrupted through `signal`; a checkpoint was written first. */
export class InterruptedError extends UserError {
  override name = "InterruptedError";
}

/** Raised when the loss becomes NaN or infinite; the last good checkpoint is kept. */
export class DivergedError extends UserError {
  override name = "DivergedError";
}

/** Running sums over a logging window; part of the checkpoint so resumed logs match exactly. */
type Window = { steps: number; loss: number; correct: number; examples: number; gradNorm: number; lr: number; ms: number; active: number[]; routerGradNorm: number[] };

function emptyWindow(layers: number): Window {
  const z = () => new Array<number>(layers).fill(0);
  return { steps: 0, loss: 0, correct: 0, examples: 0, gradNorm: 0, lr: 0, ms: 0, active: z(), routerGradNorm: z() };
}

/** The files a run folder holds; none of them may be a link (a planted one would redirect our writes). */
const RUN_FILES = ["config.json", "metrics.jsonl", CHECKPOINT_FILE, BEST_FILE, "summary.json", GRAD_VARIANCE_FILE, "split.json", DATA_FILE];

/** Refuse a folder that cannot take a new run: one that holds a run, or other files of its own. */
function checkNewRunFolder(outDir: string): void {
  if (existsSync(join(outDir, CHECKPOINT_FILE)) || existsSync(join(outDir, "summary.json"))) {
    throw new UserError(`${outDir} already holds a run: use --resume ${outDir} to continue it, or choose another --out`);
  }
  // Files that other dynamoe commands put in a run folder: a sweep's config and error log, the quick-run marker, analyses, plots.
  const own = new Set([...RUN_FILES, LOCK_FILE, "plots", "sweep-config.json", "sweep-error.log", "QUICK", "grad-variance-final.json", "pytorch"]);
  const foreign = readdirSync(outDir).filter((name) => !own.has(name) && !TEMP_NAME.test(name));
  if (foreign.length > 0 && !existsSync(join(outDir, "config.json"))) {
    throw new UserError(`${outDir} is not empty and not a dynamoe run folder (it holds ${foreign.slice(0, 3).join(", ")}${foreign.length > 3 ? ", …" : ""}); choose another --out`);
  }
}

function checkNoLinks(outDir: string): void {
  for (const name of RUN_FILES) {
    const path = join(outDir, name);
    if (existsSync(path) || lstatExists(path)) {
      if (lstatSync(path).isSymbolicLink()) throw new UserError(`${path} is a symbolic link; a run folder's files must be plain files`);
    }
  }
}

function lstatExists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The checkpoint's half-filled logging window, checked against the model's layer count. */
function parseWindow(text: string | undefined, layers: number, path: string): Window {
  let w: Window;
  try {
    w = JSON.parse(text ?? "") as Window;
  } catch {
    throw new UserError(`${path}: its logging window is missing or not JSON (the file was altered)`);
  }
  const nums = ["steps", "loss", "correct", "examples", "gradNorm", "lr", "ms"] as const;
  const ok = w && typeof w === "object" && nums.every((k) => typeof w[k] === "number" && Number.isFinite(w[k]))
    && [w.active, w.routerGradNorm].every((a) => Array.isArray(a) && a.length === layers && a.every((v) => typeof v === "number" && Number.isFinite(v)));
  if (!ok) throw new UserError(`${path}: its logging window is not a valid record (the file was altered)`);
  return w;
}

/** Train a model. Validates `config` (throwing `UserError` on a bad one) and returns the summary. */
export async function train(configInput: TrainConfigInput = {}, opts: TrainOptions = {}): Promise<TrainResult> {
  const t0 = performance.now();
  const { outDir } = opts;
  if (opts.resume && !outDir) throw new UserError("resume needs a run folder");
  const onNote = (message: string) => opts.onEvent?.({ type: "note", message });
  let config: TrainConfig;
  if (opts.resume) {
    const saved = readRunConfig(outDir!, { onNote });
    config = applyResumeChanges(saved, opts.changes ?? {}, onNote);
  } else {
    config = resolveConfig(configInput, { onNote });
  }
  let release = () => {};
  if (outDir) {
    if (existsSync(outDir) && !statSync(outDir).isDirectory()) throw new UserError(`--out ${outDir} is not a folder`);
    makeFolder(outDir, "the run folder");
    release = lockRunFolder(outDir);
  }
  try {
    if (outDir) {
      if (!opts.resume) checkNewRunFolder(outDir);
      checkNoLinks(outDir);
      sweepTempFiles(outDir);
      if (opts.resume && opts.changes && Object.keys(opts.changes).length > 0) writeFileAtomic(join(outDir, "config.json"), JSON.stringify(config, null, 2) + "\n");
    }
    return await trainIn(config, opts, t0);
  } finally {
    release();
  }
}

async function trainIn(config: TrainConfig, opts: TrainOptions, t0: number): Promise<TrainResult> {
  const { outDir } = opts;
  const ckptPath = outDir ? join(outDir, CHECKPOINT_FILE) : "";
  const engine = await initEngine();

  // The loop below only passes parameters between the task's own functions, so it is typed over `unknown`.
  const task = (
    config.task === "lm"
      ? await (await import("./lmTask.js")).lmTask(config, opts.corpus, (side, done, total) => opts.onEvent?.({ type: "tokenize", side, done, total }))
      : await imageTask(config, opts.dataset)
  ) as unknown as TaskRun<unknown> & { modelConfig: ImageModelConfig | LmModelConfig };
  const layers = task.experts.length;
  const stepsPerEpoch = batchesPerEpoch(task.trainExamples, config.batchSize);
  if (stepsPerEpoch === 0) throw new UserError(`batch size ${config.batchSize} exceeds the ${task.trainExamples} training examples`);
  const totalSteps = Math.min(config.epochs * stepsPerEpoch, config.maxSteps ?? Infinity);

  const hyper = { beta1: config.beta1, beta2: config.beta2, eps: config.eps, weightDecay: config.weightDecay };
  const optimizer = adamw(hyper);
  const lrAt = cosineWithWarmup({ lr: config.lr, warmupSteps: config.warmupSteps, totalSteps, minLrRatio: config.minLrRatio });
  const [initKey, trainKey] = splitTwoKey(random.key(config.seed));

  let params = task.init(initKey);
  const counts = task.paramCounts(params);
  let opt: AdamWState<unknown> = optimizer.init(params);
  let key = trainKey;
  let progress: Progress = { step: 0, epoch: 0, batch: 0 };
  let window = emptyWindow(layers);
  const metricsPath = outDir ? join(outDir, "metrics.jsonl") : "";
  const gv = config.gradVariance;
  const gvPath = outDir && gv ? join(outDir, GRAD_VARIANCE_FILE) : "";
  /** Logged training losses, for the loss variance of gradient-variance records. */
  let trainLosses: number[] = [];
  /** The step of the last checkpoint written or resumed from (null before the first). */
  let lastCheckpointStep: number | null = null;
  /** The step of the last evaluation already in metrics.jsonl when resuming (so it is not logged twice). */
  let evalLoggedAt = -1;
  /** Whether the final test line is already in metrics.jsonl (a run resumed after it). */
  let testLogged = false;
  /** With `keepBest`: the best validation evaluation so far (its state is in `best.safetensors`). */
  let best: { step: number; accuracy: number; loss: number } | null = null;
  if (config.keepBest && !outDir) throw new UserError("keepBest needs a run folder to keep the best state in (--out)");
  const bestPath = outDir ? join(outDir, BEST_FILE) : "";

  /** Wall time of the earlier processes of a resumed run, up to the checkpoint it resumes from. */
  let wallBefore = 0;
  const wallSeconds = () => wallBefore + (performance.now() - t0) / 1000;
  if (opts.resume && checkpointExists(ckptPath)) {
    tree.dispose(opt);
    key.dispose();
    const state = loadCheckpoint(ckptPath, params);
    ({ params, opt, key, progress } = state);
    if (progress.step !== progress.epoch * stepsPerEpoch + progress.batch || progress.batch > stepsPerEpoch) {
      throw new UserError(`${ckptPath}: its progress (step ${progress.step}, epoch ${progress.epoch}, batch ${progress.batch}) does not fit ${stepsPerEpoch} steps per epoch (the file was altered, or the data changed)`);
    }
    window = parseWindow(state.metadata.window, layers, ckptPath);
    truncateMetrics(metricsPath, progress.step);
    lastCheckpointStep = progress.step;
    const last = readJsonLines<{ type?: string; step?: number }>(metricsPath).records.at(-1);
    if (last?.type === "eval") evalLoggedAt = last.step ?? -1;
    testLogged = last?.type === "test";
    best = parseBest(state.metadata.best, ckptPath);
    wallBefore = parseWallSeconds(state.metadata.wallSeconds);
    if (gvPath) truncateMetrics(gvPath, progress.step);
    trainLosses = loggedTrainLosses(metricsPath);
  } else if (outDir) {
    writeFileAtomic(join(outDir, "config.json"), JSON.stringify(config, null, 2) + "\n");
    for (const [name, text] of Object.entries(task.runFiles ?? {})) writeFileAtomic(join(outDir, name), text);
    writeFileAtomic(metricsPath, "");
    if (gvPath) writeFileAtomic(gvPath, "");
  }
  const resumedFrom = progress.step;
  opts.onEvent?.({ type: "start", totalSteps, stepsPerEpoch, params: counts.params, resumedFrom, config });

  const trainer = await makeTrainer(
    task.modelConfig,
    { engine: config.engine, device: engine.device, batch: config.batchSize, adam: hyper, clip: config.clip, lm: task.stepOptions },
    params, opt, task.batches,
  );
  /** Evaluation runs on the step's engine: our kernels on as many threads as the step where it is native. */
  const evalThreads = trainer.kind === "native" ? { threads: trainer.threads, spawn: spawnNodeWorker } : null;
  const evaluator = task.makeEvaluator(evalThreads);
  /** Gradients for the variance measurement: the native engine's own where it runs the step (its params are the resident ones), else the task's jitted one. */
  const nativeGradient = trainer.gradient?.bind(trainer);
  const gradFn = !gv ? null : nativeGradient ? (_params: unknown, order: Int32Array, start: number, key: np.Array) => nativeGradient(order, start, key) : task.makeGradFn();
  /** A gradient-variance measurement at the current parameters; written before any checkpoint at the same step, so a resume never loses one. */
  const measureVariance = async () => {
    const r = await measureGradVariance(gradFn!, trainer.params(), { seed: config.seed, step: progress.step, k: gv!.k, trainExamples: task.trainExamples, batchSize: config.batchSize });
    const record = gradVarianceRecord(progress.step, r, trainLosses, gv!.lossWindow);
    if (gvPath) appendLine(gvPath, JSON.stringify(record));
    opts.onEvent?.({ type: "gradVariance", record });
  };
  const stepTimes: number[] = [];
  const log = (line: Record<string, unknown>) => {
    if (metricsPath) appendLine(metricsPath, JSON.stringify(line));
  };
  /** Where a diverged run stands: the last finite checkpoint, and how to go on from it. */
  const keptAdvice = () =>
    outDir && lastCheckpointStep !== null
      ? `; the last finite checkpoint (step ${lastCheckpointStep}) is kept in ${outDir}: continue from it with a lower learning rate, e.g. dynamoe train --resume ${outDir} --lr ${config.lr / 2}`
      : "; try a lower --lr or a stronger clip";
  const checkpoint = async () => {
    if (!outDir) return;
    try {
      await saveCheckpoint(ckptPath, { params: trainer.params(), opt: trainer.opt(), key, progress }, { window: JSON.stringify(window), best: JSON.stringify(best), wallSeconds: String(wallSeconds()) });
    } catch (err) {
      if (err instanceof NonFiniteError) throw new DivergedError(`${err.message} at step ${progress.step}${keptAdvice()}`);
      throw err;
    }
    lastCheckpointStep = progress.step;
    opts.onEvent?.({ type: "checkpoint", step: progress.step });
  };
  const flushWindow = () => {
    if (window.steps === 0) return;
    const n = window.steps;
    trainLosses.push(window.loss / n);
    log({
      type: "train",
      step: progress.step,
      epoch: progress.epoch,
      loss: window.loss / n,
      accuracy: window.correct / window.examples,
      lr: window.lr / n,
      gradNorm: window.gradNorm / n,
      stepMs: window.ms / n,
      ...(layers ? { active: window.active.map((a) => a / n), routerGradNorm: window.routerGradNorm.map((g) => g / n) } : {}),
    });
    window = emptyWindow(layers);
  };

  /** The split evaluated during training: validation, or for images without one the test set. */
  const evalSplit: "validation" | "test" = config.task === "lm" || task.makeTestEvaluator ? "validation" : "test";
  const evalLine = (r: EvalResult) => {
    const lm = r.perplexity !== undefined ? { perplexity: r.perplexity, byFrequency: r.byFrequency, ...(r.byLoss ? { byLoss: r.byLoss } : {}) } : {};
    return { loss: r.loss, accuracy: r.accuracy, ...lm, ...(layers ? { active: r.active, routing: r.routing } : {}) };
  };
  /**
   * One eval line in metrics.jsonl and one event; `epoch` is fractional for evaluations mid-epoch.
   * With `keepBest`, a better validation result writes the training state to `best.safetensors`
   * (before the checkpoint that records it, so a resumed run never points at an older best).
   */
  const reportEval = async (r: EvalResult, epoch: number) => {
    log({ type: "eval", step: progress.step, epoch, split: evalSplit, ...evalLine(r) });
    opts.onEvent?.({ type: "eval", step: progress.step, epoch, split: evalSplit, result: r });
    const better = best === null || (config.task === "lm" ? r.loss < best.loss : r.accuracy > best.accuracy);
    if (config.keepBest && better) {
      await saveCheckpoint(bestPath, { params: trainer.params(), opt: trainer.opt(), key, progress }, { window: JSON.stringify(window) });
      best = { step: progress.step, accuracy: r.accuracy, loss: r.loss };
    }
  };
  let lastEval: EvalResult | null = null;
  let stoppedEarly = false;
  outer: while (progress.epoch < config.epochs) {
    const perm = epochPermutation(config.seed, progress.epoch, task.trainExamples);
    while (progress.batch < stepsPerEpoch) {
      // Give the event loop a turn: a step's awaits resolve as microtasks only, so without this a
      // SIGINT / SIGTERM handler (which aborts `signal`) would never run while training.
      await new Promise((resolve) => setImmediate(resolve));
      if (opts.signal?.aborted) {
        // Keep the half-filled logging window in the checkpoint so the resumed run logs exactly the same lines.
        await checkpoint();
        throw new InterruptedError(
          `interrupted at step ${progress.step}` + (outDir ? `; checkpoint saved, continue with: dynamoe train --resume ${outDir}` : ""),
        );
      }
      if (progress.step >= totalSteps) {
        stoppedEarly = true;
        break outer;
      }
      const ts = performance.now();
      const lr = lrAt(progress.step);
      const [k, sub] = await splitKeyOnHost(key);
      key = k;
      const s = unpackStepStats(await trainer.step(perm, progress.batch * config.batchSize, sub, lr), layers);
      const ms = performance.now() - ts;
      if (!Number.isFinite(s.loss)) throw new DivergedError(`loss became ${s.loss} at step ${progress.step + 1}${keptAdvice()}`);
      stepTimes.push(ms);
      window.steps += 1;
      window.loss += s.loss;
      window.correct += s.correct;
      window.examples += task.countedPerStep;
      window.gradNorm += s.gradNorm;
      window.lr += lr;
      window.ms += ms;
      for (let l = 0; l < layers; l++) {
        window.active[l] += s.active[l];
        window.routerGradNorm[l] += s.routerGradNorm[l];
      }
      progress = { step: progress.step + 1, epoch: progress.epoch, batch: progress.batch + 1 };
      opts.onEvent?.({ type: "step", step: progress.step, epoch: progress.epoch, loss: s.loss, lr, stepMs: ms });
      if (progress.step % config.logEvery === 0) flushWindow();
      if (config.evalEvery && progress.step % config.evalEvery === 0 && progress.batch < stepsPerEpoch) {
        await reportEval(await evaluator(trainer.params()), progress.epoch + progress.batch / stepsPerEpoch);
      }
      if (gv && progress.step % gv.every === 0) await measureVariance();
      if (progress.step % config.checkpointEvery === 0 && progress.batch < stepsPerEpoch) await checkpoint();
    }
    flushWindow();
    lastEval = await evaluator(trainer.params());
    await reportEval(lastEval, progress.epoch + 1);
    progress = { step: progress.step, epoch: progress.epoch + 1, batch: 0 };
    await checkpoint();
  }
  if (stoppedEarly && evalLoggedAt === progress.step) {
    // Resumed after the final evaluation was logged: evaluate again for the summary only.
    lastEval = await evaluator(trainer.params());
  } else if (stoppedEarly) {
    flushWindow();
    lastEval = await evaluator(trainer.params());
    await reportEval(lastEval, progress.epoch + progress.batch / stepsPerEpoch);
    await checkpoint();
  }
  // Resumed after the last epoch's checkpoint: the run is trained and logged; the summary needs its evaluation.
  lastEval ??= await evaluator(trainer.params());
  // Images with a validation split: the test set once, at the end, on the best parameters with keepBest.
  let testEval = lastEval;
  if (task.makeTestEvaluator) {
    const testEvaluator = task.makeTestEvaluator(evalThreads);
    if (config.keepBest && best) {
      const state = loadCheckpoint(bestPath, task.init(random.key(0)));
      testEval = await testEvaluator(state.params);
      tree.dispose([state.params, state.opt, state.key]);
    } else {
      testEval = await testEvaluator(trainer.params());
    }
    testEvaluator.close();
    if (!testLogged) log({ type: "test", step: best && config.keepBest ? best.step : progress.step, split: "test", ...evalLine(testEval) });
  }
  evaluator.close();
  key.dispose();
  const finalParams = trainer.finish();

  const sorted = [...stepTimes].sort((a, b) => a - b);
  const summary: TrainSummary = {
    task: config.task,
    dataset: task.dataName,
    model: task.kind,
    router: task.kind === "moe" ? routerLabel(config) : null,
    schedule: task.kind === "moe" ? config.schedule : null,
    budget: task.kind === "moe" ? config.budget : "free",
    experts: task.experts,
    params: counts.params,
    ...(counts.paramsNonEmbedding !== undefined ? { paramsNonEmbedding: counts.paramsNonEmbedding } : {}),
    steps: progress.step,
    epochs: progress.epoch,
    test: testEval,
    ...(task.makeTestEvaluator ? { validation: lastEval } : {}),
    ...(config.keepBest && best ? { best } : {}),
    meanActive: testEval.active,
    dispatch: trainer.kind === "native" ? task.experts.map(() => "native sparse") : task.dispatch,
    engine: trainer.kind,
    medianStepMs: sorted.length ? sorted[Math.floor(sorted.length / 2)] : 0,
    wallSeconds: wallSeconds(),
    device: engine.device,
    ...(engine.adapter ? { adapter: engine.adapter } : {}),
    threads: trainer.threads,
    stoppedEarly,
  };
  if (outDir) writeFileAtomic(join(outDir, "summary.json"), JSON.stringify(summary, null, 2) + "\n");
  return { summary, params: finalParams, modelConfig: task.modelConfig } as TrainResult;
}

/** The checkpoint's wall time so far; 0 for checkpoints written before it was recorded. */
function parseWallSeconds(text: string | undefined): number {
  const v = Number(text);
  return text !== undefined && Number.isFinite(v) && v >= 0 ? v : 0;
}

/** The checkpoint's record of the best validation evaluation (`keepBest`), or null. */
function parseBest(text: string | undefined, path: string): { step: number; accuracy: number; loss: number } | null {
  if (text === undefined || text === "null") return null;
  try {
    const b = JSON.parse(text) as { step: unknown; accuracy: unknown; loss: unknown };
    if (typeof b.step === "number" && typeof b.accuracy === "number" && typeof b.loss === "number") return { step: b.step, accuracy: b.accuracy, loss: b.loss };
  } catch {
    // reported below
  }
  throw new UserError(`${path}: its record of the best evaluation is not valid (the file was altered)`);
}

/** The router kind, or the per-layer kinds joined with commas when layers differ. */
function routerLabel(config: TrainConfig): string {
  const kinds = config.layerRouters?.map((r) => r.kind) ?? [config.router.kind];
  return new Set(kinds).size === 1 ? kinds[0] : kinds.join(",");
}

/** Split a key into two; consumes it. */
function splitTwoKey(key: np.Array): [np.Array, np.Array] {
  const ks = random.split(key, 2);
  const a = ks.ref.slice(0);
  const b = ks.slice(1);
  return [a, b];
}

/**
 * Drop metric lines logged after `step` (they belong to the part of a killed run being redone), and
 * a last line torn by the kill.
 */
function truncateMetrics(path: string, step: number): void {
  if (!existsSync(path)) return;
  const { records } = readJsonLines<{ step: number }>(path);
  writeFileAtomic(path, records.filter((r) => r.step <= step).map((r) => JSON.stringify(r) + "\n").join(""));
}
