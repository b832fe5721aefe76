/** Next-token language modelling as a training task (spec §4 language model, §6 data). */
import { numpy as np } from "../engine/jax.js";
import { gatherSequences, loadLmDataset, sequenceCount, type LmDataOptions, type LmDataset } from "../data/text/lmData.js";
import { DataError } from "../data/types.js";
import { countParams } from "../models/imageModel.js";
import { initLmModel, lmParamCounts, type LmModelConfig, type LmModelParams } from "../models/lmModel.js";
import type { TrainConfig } from "./config.js";
import { dispatchLabels } from "./dispatchLabels.js";
import { stackConfigFor } from "./imageTask.js";
import { makeLmEvaluator } from "./lmEvaluate.js";
import { makeLmGradFn } from "../steps/lmStep.js";
import type { TaskRun } from "./task.js";

/** The language model a run configuration describes. */
export function lmModelConfigFor(config: TrainConfig, vocab: number): LmModelConfig {
  return { ...stackConfigFor(config), vocab, context: config.context, attention: config.attention, heads: config.heads };
}

/** Load (or take) the corpus of a run: split with the run's seed, tokenized, cached. */
export function loadRunCorpus(config: TrainConfig, onTokenize?: LmDataOptions["onTokenize"]): Promise<LmDataset> {
  return loadLmDataset(config.corpus, { seed: config.seed, validationFraction: config.validationFraction, onTokenize });
}

export async function lmTask(
  config: TrainConfig,
  dataset?: LmDataset,
  onTokenize?: LmDataOptions["onTokenize"],
): Promise<TaskRun<LmModelParams> & { modelConfig: LmModelConfig; data: LmDataset }> {
  const data = dataset ?? (await loadRunCorpus(config, onTokenize));
  const cfg = lmModelConfigFor(config, data.vocab);
  const s = config.context;
  const b = config.batchSize;
  const trainExamples = Math.min(sequenceCount(data.train, s), config.trainLimit ?? Infinity);
  if (sequenceCount(data.validation, s) === 0) {
    throw new DataError(
      `the validation split of ${data.name} has ${data.validation.length} tokens, fewer than context + 1 = ${s + 1}: lower --context or raise validationFraction`,
    );
  }
  return {
    modelConfig: cfg,
    data,
    dataName: data.name,
    kind: cfg.kind,
    experts: cfg.experts,
    trainExamples,
    countedPerStep: b * s,
    init: (key) => initLmModel(key, cfg),
    paramCounts: (params) => ({ params: countParams(params), paramsNonEmbedding: lmParamCounts(cfg).nonEmbedding }),
    batches: (order, start) => gatherSequences(data.train, order, start, b, s),
    stepOptions: { headChunk: config.headChunk, headKernel: config.headKernel, microBatch: config.microBatch },
    makeGradFn() {
      const grad = makeLmGradFn(cfg, { headChunk: config.headChunk, headKernel: config.headKernel, microBatch: config.microBatch });
      return (params, order, start, key) => {
        const { x, y } = gatherSequences(data.train, order, start, b, s);
        return grad(params, np.array(x, { dtype: np.int32 }).reshape([b, s]), np.array(y, { dtype: np.int32 }), key);
      };
    },
    makeEvaluator(native) {
      const evaluator = makeLmEvaluator(cfg, { batchSize: config.evalBatchSize, headChunk: config.headChunk, headKernel: config.headKernel, buckets: data.buckets, limit: config.testLimit, native });
      return Object.assign((params: LmModelParams) => evaluator(params, data.validation), { close: () => evaluator.close() });
    },
    dispatch: dispatchLabels(cfg, b * s),
    runFiles: {
      "split.json":
        JSON.stringify(
          { corpus: data.name, source: data.source, seed: config.seed, trainDocuments: data.split.train, validationDocuments: data.split.validation, validationTitles: data.validationTitles, trainTokens: data.train.length, validationTokens: data.validation.length },
          null,
          1,
        ) + "\n",
    },
  };
}
