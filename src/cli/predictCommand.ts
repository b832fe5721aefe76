/**
 * `dynamoe predict RUN FILE...`: classify PNG images with a trained image run. Each file is read as
 * the run's data was (its `data.json`: image size, channels, pixel normalisation) and printed with
 * the predicted class and its probability, or as JSON with `--json`.
 */
import { readFileSync } from "node:fs";
import { PNG } from "pngjs";
import { initEngine } from "../engine/engine.js";
import { normalizePixels } from "../data/normalize.js";
import { UserError } from "../errors.js";
import { loadRun } from "../train/loadRun.js";

/** Channels-last 8-bit pixels of a PNG file at `[h, w, c]` (c = 1: the red channel of a gray image). */
function readPng(path: string, [h, w, c]: readonly [number, number, number]): Uint8Array {
  let png: PNG;
  try {
    png = PNG.sync.read(readFileSync(path));
  } catch (err) {
    throw new UserError(`${path}: not a readable PNG (${(err as Error).message.split("\n")[0]})`);
  }
  if (png.width !== w || png.height !== h) throw new UserError(`${path}: ${png.width}×${png.height}, but the run was trained on ${w}×${h} images`);
  const out = new Uint8Array(h * w * c);
  for (let p = 0; p < h * w; p++) for (let k = 0; k < c; k++) out[p * c + k] = png.data[p * 4 + k];
  return out;
}

export async function predictCommand(run: string, files: string[], opts: { json?: boolean } = {}): Promise<void> {
  if (files.length === 0) throw new UserError("predict: give one or more PNG files after the run folder");
  await initEngine();
  const loaded = await loadRun(run);
  try {
    const data = loaded.data;
    if (!data?.shape || !data.normalize) throw new UserError(`${run}: no record of its images' size and normalisation (data.json; runs trained before it cannot predict from files)`);
    const dim = loaded.modelConfig.inputDim;
    const x = new Float32Array(files.length * dim);
    files.forEach((f, i) => x.set(normalizePixels(readPng(f, data.shape!), data.normalize!), i * dim));
    const { classes, probs } = await loaded.predict(x);
    const k = loaded.modelConfig.numClasses;
    const rows = files.map((file, i) => ({ file, class: data.classNames[classes[i]] ?? String(classes[i]), label: classes[i], probability: probs[i * k + classes[i]] }));
    if (opts.json) process.stdout.write(JSON.stringify(rows, null, 2) + "\n");
    else for (const r of rows) process.stdout.write(`${r.file}  ${r.class}  ${r.probability.toFixed(3)}\n`);
  } finally {
    loaded.dispose();
  }
}
