/**
 * A trained language-model run back in code, from its folder alone: `config.json` and the
 * checkpoint (the vocabulary size read from the checkpoint's token table, so no corpus is loaded
 * or tokenized). The image counterpart is `loadRun.ts`.
 *
 *   const run = await loadLmRun("runs/lm-sotu-moe-percentile-uniform-seed0");
 *   // run.params, run.modelConfig: for applyLmTrunk, lmLogits, exportPytorch
 *   run.dispose();
 */
import { join } from "node:path";
import { random, tree } from "../engine/jax.js";
import { UserError } from "../errors.js";
import { initLmModel, type LmModelConfig, type LmModelParams } from "../models/lmModel.js";
import { CHECKPOINT_FILE, loadCheckpoint, type Progress } from "./checkpoint.js";
import { readRunConfig, type TrainConfig } from "./config.js";
import { lmModelConfigFor } from "./lmTask.js";
import { checkpointShapes } from "./loadRun.js";

export type LoadedLmRun = {
  config: TrainConfig;
  modelConfig: LmModelConfig;
  params: LmModelParams;
  progress: Progress;
  /** Free the parameters. */
  dispose(): void;
};

/** Load a language-model run (see the file comment). A `UserError` for a missing, damaged or image run. */
export async function loadLmRun(dir: string, opts: { checkpoint?: string } = {}): Promise<LoadedLmRun> {
  const config = readRunConfig(dir);
  if (config.task !== "lm") throw new UserError(`${dir}: an image run; loadLmRun loads language models (loadRun loads image runs)`);
  const path = opts.checkpoint ?? join(dir, CHECKPOINT_FILE);
  const [vocab, d] = checkpointShapes(path)["params.embed.tokens"] ?? [];
  if (!vocab || d !== config.d) throw new UserError(`${path}: not the checkpoint of this language model (no params.embed.tokens of width d = ${config.d})`);
  const modelConfig = lmModelConfigFor(config, vocab);
  const state = loadCheckpoint(path, initLmModel(random.key(0), modelConfig));
  tree.dispose([state.opt, state.key]);
  return { config, modelConfig, params: state.params, progress: state.progress, dispose: () => tree.dispose(state.params) };
}
