/** Image classification as a training task (spec §4 image MLP-MoE). */
import { numpy as np } from "../engine/jax.js";
import { gatherBatch } from "../data/batches.js";
import { holdOut, validationSize } from "../data/holdOut.js";
import type { ImageDataset, ImageSplit } from "../data/types.js";
import { countParams, initImageModel, type ImageModelConfig, type ImageModelParams } from "../models/imageModel.js";
import type { StackConfig } from "../models/stackConfig.js";
import { matchBudget } from "../moe/budget.js";
import { ruleOf, type RouterConfig } from "../moe/routers/registry.js";
import { expertSchedule } from "../moe/schedules.js";
import { UserError } from "../errors.js";
import type { TrainConfig } from "./config.js";
import { makeEvaluator, type Evaluator } from "./evaluate.js";
import { dispatchLabels } from "./dispatchLabels.js";
import type { TaskEvaluator, TaskRun } from "./task.js";
import type { NativeThreads } from "../steps/nativeStep.js";
import { makeImageGradFn } from "../steps/imageStep.js";

/** Experts per layer of a run configuration (empty for dense), rescaled to L·eMax in all when `budget: "matched"`. */
/** The run folder's record of its images: name, class names, image shape and pixel normalisation. */
export const DATA_FILE = "data.json";

/** What `DATA_FILE` holds (null where the dataset does not say). */
export type RunData = { name: string; classNames: string[]; shape: [number, number, number] | null; normalize: { mean: number[]; std: number[] } | null };

export function expertsFor(config: TrainConfig): number[] {
  if (config.model !== "moe") return [];
  const experts = config.experts ?? expertSchedule(config.layers, { kind: config.schedule, eMax: config.eMax, eMin: config.eMin });
  return config.budget === "matched" ? matchBudget(experts, config.eMax) : experts;
}

/**
 * The fields every model (image or language) takes from a run configuration. With `segments` m > 1
 * (DeepSeekMoE's fine-grained experts), each layer's N experts of hidden size h become m·N experts of
 * h/m and each router's `k` (where the rule reads one) m·k, so the experts' parameters and compute stay
 * (the router grows to m·N outputs).
 */
export function stackConfigFor(config: TrainConfig): StackConfig {
  const m = config.model === "moe" ? config.segments : 1;
  if (config.h % m !== 0) throw new UserError(`segments ${m} must divide the expert hidden size h = ${config.h}`);
  const segment = (r: RouterConfig): RouterConfig => (m > 1 && ruleOf(r.kind).keys.includes("k") ? { ...r, k: r.k * m } : r);
  return {
    kind: config.model,
    d: config.d,
    h: config.h / m,
    layers: config.layers,
    experts: expertsFor(config).map((n) => n * m),
    router: segment(config.router),
    layerRouters: config.layerRouters?.map(segment),
    dispatch: config.dispatch,
    capacity: config.dispatchCapacity,
    sharedExperts: config.sharedExperts,
  };
}

/** The model configuration a run configuration describes, for a dataset's input and class counts. */
export function modelConfigFor(config: TrainConfig, inputDim: number, numClasses: number): ImageModelConfig {
  return { ...stackConfigFor(config), inputDim, numClasses };
}

function limitSplit(split: ImageSplit, inputDim: number, limit?: number): ImageSplit {
  if (!limit || limit >= split.n) return split;
  return { x: split.x.subarray(0, limit * inputDim), y: split.y.subarray(0, limit), n: limit };
}

/** An evaluator bound to one split. */
function onSplit(evaluator: Evaluator, split: ImageSplit): TaskEvaluator<ImageModelParams> {
  return Object.assign((params: ImageModelParams) => evaluator(params, split), { close: () => evaluator.close() });
}

export async function imageTask(config: TrainConfig, dataset?: ImageDataset): Promise<TaskRun<ImageModelParams> & { modelConfig: ImageModelConfig }> {
  const data = dataset ?? (await (await import("../data/loadImageDataset.js")).loadImageDataset(config.dataset, { dataDir: config.dataDir }));
  // The validation images come out of the whole training split first; `trainLimit` then takes the first of the rest.
  const heldOut = validationSize(config.validation, data.train.n);
  const held = heldOut > 0 ? holdOut(data.train, heldOut, data.inputDim) : null;
  const allRows = held ? held.trainRows : Int32Array.from({ length: data.train.n }, (_, i) => i);
  const trainRows = config.trainLimit && config.trainLimit < allRows.length ? allRows.subarray(0, config.trainLimit) : allRows;
  const testSplit = limitSplit(data.test, data.inputDim, config.testLimit);
  if (testSplit.n === 0) throw new UserError(`the test split of ${data.name} is empty: a run needs test examples to evaluate on`);
  const cfg = modelConfigFor(config, data.inputDim, data.numClasses);
  const b = config.batchSize;
  /** The training batch at positions `order[start .. start+b)` of the training rows. */
  const batch = (order: Int32Array, start: number) => {
    const rows = new Int32Array(b);
    for (let i = 0; i < b; i++) rows[i] = trainRows[order[start + i]];
    return gatherBatch(data.train, rows, 0, b, data.inputDim);
  };
  return {
    modelConfig: cfg,
    dataName: data.name,
    kind: cfg.kind,
    experts: cfg.experts,
    trainExamples: trainRows.length,
    countedPerStep: b,
    init: (key) => initImageModel(key, cfg),
    paramCounts: (params) => ({ params: countParams(params) }),
    batches: batch,
    makeGradFn() {
      const grad = makeImageGradFn(cfg);
      return (params, order, start, key) => {
        const { x, y } = batch(order, start);
        return grad(params, np.array(x).reshape([b, data.inputDim]), np.array(y, { dtype: np.int32 }), key);
      };
    },
    makeEvaluator(native) {
      return onSplit(makeEvaluator(cfg, config.evalBatchSize, native), held ? held.validation : testSplit);
    },
    ...(held
      ? {
          makeTestEvaluator(native: NativeThreads | null) {
            return onSplit(makeEvaluator(cfg, config.evalBatchSize, native), testSplit);
          },
        }
      : {}),
    dispatch: dispatchLabels(cfg, b),
    // What predict and export need to read new images as this run's data: written once at the start.
    runFiles: { [DATA_FILE]: JSON.stringify({ name: data.name, classNames: data.classNames, shape: data.shape ?? null, normalize: data.stats ?? null }, null, 2) + "\n" },
  };
}
