/** `dynamoe export RUN [--format pytorch] [--out DIR]`: a trained image run out to PyTorch (`train/exportPytorch.ts`). */
import { join } from "node:path";
import { initEngine } from "../engine/engine.js";
import { random, tree } from "../engine/jax.js";
import { UserError } from "../errors.js";
import { initImageModel } from "../models/imageModel.js";
import { loadCheckpoint } from "../train/checkpoint.js";
import { exportPytorch } from "../train/exportPytorch.js";
import { modelConfigFor } from "../train/train.js";
import { openRunFolder } from "./runFolder.js";

export async function exportCommand(run: string, opts: { format?: string; out?: string; dataDir?: string }): Promise<void> {
  const format = opts.format ?? "pytorch";
  if (format !== "pytorch") throw new UserError(`export: unknown format "${format}" (try: pytorch)`);
  const { config, checkpoint } = openRunFolder(run);
  if (config.task === "lm") throw new UserError("export: language models are not exported yet (image runs only)");
  await initEngine();
  const { loadImageDataset } = await import("../data/loadImageDataset.js");
  const data = await loadImageDataset(config.dataset, { dataDir: opts.dataDir ?? config.dataDir });
  const cfg = modelConfigFor(config, data.inputDim, data.numClasses);
  const state = loadCheckpoint(checkpoint, initImageModel(random.key(0), cfg));
  const out = opts.out ?? join(run, "pytorch");
  try {
    const files = await exportPytorch(state.params, cfg, out, { run, step: String(state.progress.step), dataset: data.name }, { classNames: data.classNames, stats: data.stats });
    process.stdout.write(`${files.join("\n")}\nload it: python3 -c 'import sys; sys.path.insert(0, "${out}"); import dynamoe_model; print(dynamoe_model.load("${out}"))'\n`);
  } finally {
    tree.dispose([state.params, state.opt, state.key]);
  }
}
