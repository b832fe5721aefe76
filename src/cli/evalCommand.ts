/** `dynamoe eval --run DIR`: rebuild the run's model, load its checkpoint, evaluate on its held-out split. */
import { initEngine } from "../engine/engine.js";
import { random, tree } from "../engine/jax.js";
import { initImageModel } from "../models/imageModel.js";
import { initLmModel } from "../models/lmModel.js";
import { loadCheckpoint } from "../train/checkpoint.js";
import type { TrainConfig } from "../train/config.js";
import { makeEvaluator, type EvalResult } from "../train/evaluate.js";
import { nativeThreads } from "../engine/preload.js";
import { spawnNodeWorker } from "../kernels/nodeWorkers.js";
import { chooseEngine } from "../steps/makeTrainer.js";
import { modelConfigFor } from "../train/train.js";
import { openRunFolder } from "./runFolder.js";
import { lmBreakdownLines } from "./lmBreakdownLines.js";

/** A run evaluates on the engine its config picks for this device: our kernels where they run the model, else jax-js. */
async function evaluateImageRun(config: TrainConfig, ckpt: string, device: string, dataDir?: string) {
  const { loadImageDataset } = await import("../data/loadImageDataset.js");
  const data = await loadImageDataset(config.dataset, { dataDir: dataDir ?? config.dataDir });
  const modelCfg = modelConfigFor(config, data.inputDim, data.numClasses);
  const state = loadCheckpoint(ckpt, initImageModel(random.key(0), modelCfg));
  const test = config.testLimit ? { ...data.test, n: Math.min(config.testLimit, data.test.n) } : data.test;
  const native = chooseEngine(config.engine, modelCfg, device) === "native" ? { threads: nativeThreads(), spawn: spawnNodeWorker } : null;
  const evaluator = makeEvaluator(modelCfg, config.evalBatchSize, native);
  const r = await evaluator(state.params, test);
  evaluator.close();
  tree.dispose([state.params, state.opt, state.key]);
  return { r, progress: state.progress };
}

async function evaluateLmRun(config: TrainConfig, ckpt: string, device: string) {
  const { lmModelConfigFor, loadRunCorpus } = await import("../train/lmTask.js");
  const { makeLmEvaluator } = await import("../train/lmEvaluate.js");
  const data = await loadRunCorpus(config);
  const modelCfg = lmModelConfigFor(config, data.vocab);
  const state = loadCheckpoint(ckpt, initLmModel(random.key(0), modelCfg));
  const native = chooseEngine(config.engine, modelCfg, device) === "native" ? { threads: nativeThreads(), spawn: spawnNodeWorker } : null;
  const evaluator = makeLmEvaluator(modelCfg, { batchSize: config.evalBatchSize, headChunk: config.headChunk, headKernel: config.headKernel, buckets: data.buckets, limit: config.testLimit, native });
  const r = await evaluator(state.params, data.validation);
  evaluator.close();
  tree.dispose([state.params, state.opt, state.key]);
  return { r, progress: state.progress };
}

export async function evalCommand(flags: { run: string; dataDir?: string }): Promise<void> {
  const { config, checkpoint } = openRunFolder(flags.run);
  const { device } = await initEngine();
  const { r, progress }: { r: EvalResult; progress: { step: number; epoch: number } } =
    config.task === "lm" ? await evaluateLmRun(config, checkpoint, device) : await evaluateImageRun(config, checkpoint, device, flags.dataDir);
  const lines = [`run                ${flags.run} (step ${progress.step}, epoch ${progress.epoch})`];
  if (r.perplexity !== undefined) {
    lines.push(`validation ppl     ${r.perplexity.toFixed(2)}  (loss ${r.loss.toFixed(4)}, next-token accuracy ${(100 * r.accuracy).toFixed(2)}%, ${r.n} tokens)`);
  } else {
    lines.push(`test accuracy      ${(100 * r.accuracy).toFixed(2)}%  (loss ${r.loss.toFixed(4)}, ${r.n} examples)`);
  }
  if (r.active.length) lines.push(`active per layer   ${r.active.map((a) => a.toFixed(2)).join(", ")}`, ...lmBreakdownLines(r));
  process.stdout.write(lines.join("\n") + "\n");
}
