/** `dynamoe export RUN [--format pytorch] [--out DIR]`: a trained image or language-model run out to PyTorch (`train/exportPytorch.ts`). */
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
  await initEngine();
  const out = opts.out ?? join(run, "pytorch");
  const files = config.task === "lm" ? await exportLm(run, out) : await exportImage(run, out);
  process.stdout.write(`${files.join("\n")}\nload it: python3 -c 'import sys; sys.path.insert(0, "${out}"); import dynamoe_model; print(dynamoe_model.load("${out}"))'\n`);
}

/** The run folder alone: sizes from the checkpoint, class names and pixel normalisation from data.json (where the run has one). */
async function exportImage(run: string, out: string): Promise<string[]> {
  const loaded = await loadRun(run);
  try {
    const data = loaded.data;
    const meta = { run, step: String(loaded.progress.step), ...(data ? { dataset: data.name } : {}) };
    return await exportPytorch(loaded.params, loaded.modelConfig, out, meta, data ? { classNames: data.classNames, stats: data.normalize ?? undefined } : {});
  } finally {
    loaded.dispose();
  }
}

/** The run folder alone (the vocabulary size from the checkpoint), with the tokenizer every language model uses. */
async function exportLm(run: string, out: string): Promise<string[]> {
  const { loadLmRun } = await import("../train/loadLmRun.js");
  const { gpt2Tokenizer } = await import("../data/text/tokenize.js");
  const loaded = await loadLmRun(run);
  try {
    const meta = { run, step: String(loaded.progress.step), corpus: loaded.config.corpus };
    const { name, eot } = gpt2Tokenizer();
    return await exportPytorch(loaded.params, loaded.modelConfig, out, meta, { tokenizer: { name, eot } });
  } finally {
    loaded.dispose();
  }
}
