/** `dynamoe eval --run DIR`: rebuild the run's model, load its checkpoint, evaluate on the test set. */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { initEngine } from "../engine/engine.js";
import { random, tree } from "../engine/jax.js";
import { UserError } from "../errors.js";
import { initImageModel } from "../models/imageModel.js";
import { CHECKPOINT_FILE, loadCheckpoint } from "../train/checkpoint.js";
import { resolveConfig } from "../train/config.js";
import { evaluate } from "../train/evaluate.js";
import { modelConfigFor } from "../train/train.js";

export async function evalCommand(flags: { run: string; dataDir?: string }): Promise<void> {
  const dir = flags.run;
  const cfgPath = join(dir, "config.json");
  const ckpt = join(dir, CHECKPOINT_FILE);
  if (!existsSync(cfgPath)) throw new UserError(`--run ${dir}: not a dynamoe run folder (no config.json)`);
  if (!existsSync(ckpt)) throw new UserError(`--run ${dir}: no checkpoint yet (${CHECKPOINT_FILE} is missing)`);
  const config = resolveConfig(JSON.parse(readFileSync(cfgPath, "utf8")));
  await initEngine();
  const { loadImageDataset } = await import("../data/loadImageDataset.js");
  const data = await loadImageDataset(config.dataset, { dataDir: flags.dataDir ?? config.dataDir });
  const modelCfg = modelConfigFor(config, data.inputDim, data.numClasses);
  const state = loadCheckpoint(ckpt, initImageModel(random.key(0), modelCfg));
  const test = config.testLimit ? { ...data.test, n: Math.min(config.testLimit, data.test.n) } : data.test;
  const r = await evaluate(state.params, test, modelCfg, config.evalBatchSize);
  tree.dispose([state.params, state.opt, state.key]);
  const lines = [
    `run                ${dir} (step ${state.progress.step}, epoch ${state.progress.epoch})`,
    `test accuracy      ${(100 * r.accuracy).toFixed(2)}%  (loss ${r.loss.toFixed(4)}, ${r.n} examples)`,
  ];
  if (r.active.length) lines.push(`active per layer   ${r.active.map((a) => a.toFixed(2)).join(", ")}`);
  process.stdout.write(lines.join("\n") + "\n");
}
