/** `dynamoe export RUN [--format pytorch] [--out DIR]`: a trained image run out to PyTorch (`train/exportPytorch.ts`). */
import { join } from "node:path";
import { initEngine } from "../engine/engine.js";
import { UserError } from "../errors.js";
import { exportPytorch } from "../train/exportPytorch.js";
import { loadRun } from "../train/loadRun.js";
import { openRunFolder } from "./runFolder.js";

export async function exportCommand(run: string, opts: { format?: string; out?: string }): Promise<void> {
  const format = opts.format ?? "pytorch";
  if (format !== "pytorch") throw new UserError(`export: unknown format "${format}" (try: pytorch)`);
  const { config } = openRunFolder(run);
  if (config.task === "lm") throw new UserError("export: language models are not exported yet (image runs only)");
  await initEngine();
  // The run folder alone: sizes from the checkpoint, class names and pixel normalisation from data.json (where the run has one).
  const loaded = await loadRun(run);
  const out = opts.out ?? join(run, "pytorch");
  try {
    const data = loaded.data;
    const meta = { run, step: String(loaded.progress.step), ...(data ? { dataset: data.name } : {}) };
    const files = await exportPytorch(loaded.params, loaded.modelConfig, out, meta, data ? { classNames: data.classNames, stats: data.normalize ?? undefined } : {});
    process.stdout.write(`${files.join("\n")}\nload it: python3 -c 'import sys; sys.path.insert(0, "${out}"); import dynamoe_model; print(dynamoe_model.load("${out}"))'\n`);
  } finally {
    loaded.dispose();
  }
}
