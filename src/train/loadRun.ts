/**
 * A trained image run back in code: `loadRun(dir)` rebuilds the model from the run folder's
 * `config.json` and checkpoint (input size and class count read from the checkpoint's own shapes,
 * so no dataset is loaded) and returns it with a ready `predict`.
 *
 *   const run = await loadRun("runs/mnist-moe-percentile-uniform-seed0");
 *   const { classes, probs } = await run.predict(x); // x: [n · inputDim] normalised as in training
 *   run.dispose();
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { nn, numpy as np, random, tree } from "../engine/jax.js";
import { UserError } from "../errors.js";
import { applyImageModel, initImageModel, type ImageModelConfig, type ImageModelParams } from "../models/imageModel.js";
import { CHECKPOINT_FILE, loadCheckpoint, type Progress } from "./checkpoint.js";
import { readRunConfig, type TrainConfig } from "./config.js";
import { DATA_FILE, modelConfigFor, type RunData } from "./imageTask.js";
import { decodeSafetensors } from "../io/safetensors.js";

export type LoadedRun = {
  config: TrainConfig;
  modelConfig: ImageModelConfig;
  params: ImageModelParams;
  progress: Progress;
  /** The run's record of its images (`data.json`: class names, image shape, pixel normalisation), or null for runs from before it. */
  data: RunData | null;
  /**
   * Class probabilities and the most likely class of `x` `[n · inputDim]` (normalised as the run's
   * data was), in evaluation mode.
   */
  predict(x: Float32Array): Promise<{ classes: Int32Array; probs: Float32Array }>;
  /** Free the parameters. */
  dispose(): void;
};

/** The shape of each tensor in a checkpoint, by name (`params.embed.w` …); a `UserError` for an unreadable file. */
export function checkpointShapes(path: string): Record<string, number[]> {
  try {
    return Object.fromEntries(Object.entries(decodeSafetensors(readFileSync(path), path).tensors).map(([k, t]) => [k, t.shape]));
  } catch (err) {
    if (err instanceof UserError) throw err;
    throw new UserError(`${path}: no readable checkpoint (${(err as Error).message.split("\n")[0]})`);
  }
}

/** Load an image run (see the file comment). A `UserError` for a missing, damaged or language-model run. */
export async function loadRun(dir: string, opts: { checkpoint?: string } = {}): Promise<LoadedRun> {
  const config = readRunConfig(dir);
  if (config.task === "lm") throw new UserError(`${dir}: a language-model run; loadRun loads image runs (loadLmRun, generate and eval handle language models)`);
  const path = opts.checkpoint ?? join(dir, CHECKPOINT_FILE);
  const shapes = checkpointShapes(path);
  const [inputDim] = shapes["params.embed.w"] ?? [];
  const numClasses = shapes["params.head.w"]?.[1];
  if (!inputDim || !numClasses) throw new UserError(`${path}: not an image model's checkpoint`);
  const modelConfig = modelConfigFor(config, inputDim, numClasses);
  const state = loadCheckpoint(path, initImageModel(random.key(0), modelConfig));
  tree.dispose([state.opt, state.key]);
  const params = state.params;
  const dataPath = join(dir, DATA_FILE);
  let data: RunData | null = null;
  if (existsSync(dataPath)) {
    try {
      data = JSON.parse(readFileSync(dataPath, "utf8")) as RunData;
    } catch {
      throw new UserError(`${dataPath}: not valid JSON; the run folder is damaged`);
    }
  }
  return {
    config,
    modelConfig,
    params,
    progress: state.progress,
    data,
    async predict(x) {
      if (x.length % inputDim !== 0) throw new UserError(`predict: ${x.length} values are not whole images of ${inputDim}`);
      const n = x.length / inputDim;
      const { logits, routings } = applyImageModel(params, np.array(x).reshape([n, inputDim]), modelConfig, { train: false });
      for (const r of routings) tree.dispose(r);
      const probs = nn.softmax(logits, -1);
      const classes = np.argmax(probs.ref, -1);
      return { classes: Int32Array.from(await classes.data()), probs: Float32Array.from(await probs.data()) };
    },
    dispose: () => tree.dispose(params),
  };
}
