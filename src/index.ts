/**
 * dynamoe's public API. Import jax-js through `dynamoe` (or import `dynamoe` before `@jax-js/jax`)
 * so the wasm backend starts with its worker pool; set `DYNAMOE_THREADS` to choose the thread count.
 *
 * ```ts
 * import { initEngine, train } from "dynamoe";
 * await initEngine();
 * const { summary } = await train({ dataset: "mnist", model: "moe", schedule: "descending" }, { outDir: "runs/a" });
 * ```
 */
export * as jax from "./engine/jax.js";
export { initEngine, type EngineInfo } from "./engine/engine.js";
export { trackBuffers, type BufferTracker } from "./engine/liveBuffers.js";
export { keyFromWords, seedKey, splitKeyOnHost } from "./engine/seedKey.js";
export { hostBits, hostNormal, hostSplit, hostUniform, threefry2x32, type HostKey } from "./engine/hostRandom.js";
export { splitKey } from "./engine/splitKey.js";
export { flattenWithPaths, mapWithPaths } from "./engine/paramTree.js";
export { UserError } from "./errors.js";

// MoE core
export * from "./moe/routing.js";
export {
  DEFAULT_ROUTER,
  HOST_ROUTER_KINDS,
  maxActiveExperts,
  ROUTER_KINDS,
  routerCapacity,
  routerDefaults,
  ROUTING_RULES,
  ruleOf,
  type RouterConfig,
  type RouterKind,
} from "./moe/routers/registry.js";
export type { AuxLossName, HostForm, HostSelectInput, RoutingRule } from "./moe/routers/rule.js";
export { expertCapacity } from "./moe/routers/expertCapacity.js";
export { layerKeys, routerDrawKeys, routerDraws, type RouterDraw } from "./moe/drawSchedule.js";
export { allocHostRouting, hostRoute, hostRouteBackward, type HostRouting } from "./moe/hostRouter.js";
export { applyRouter, combineWeights, initRouter, type RouterParams } from "./moe/router.js";
export { percentileActiveCount, percentileSelect, percentileThreshold, withArgmaxFallback } from "./moe/routers/percentile.js";
export { topkSelect } from "./moe/routers/topk.js";
export { balanceLoss, keepWithinCapacity, switchRoute, zLoss } from "./moe/routers/switch.js";
export { gshardRoute, gshardSelect } from "./moe/routers/gshard.js";
export { expertChoiceCapacity, expertChoiceRoute, expertChoiceSelect } from "./moe/routers/expertChoice.js";
export { gateEntropy, topPRoute, topPSelect } from "./moe/routers/topP.js";
export { thresholdSelect } from "./moe/routers/threshold.js";
export { batchPercentileSelect } from "./moe/routers/batchPercentile.js";
export { descendingRank } from "./moe/ranks.js";
export { expertSchedule, SCHEDULE_KINDS, type ScheduleConfig, type ScheduleKind } from "./moe/schedules.js";
export { applyMoeLayer, disposeRouting, disposeRoutingExtras, initMoeLayer, moeLayerPlan, type MoeLayerConfig, type MoeLayerParams } from "./moe/moeLayer.js";
export * from "./moe/dispatchPlan.js";

// Models
export { applyLinear, initLinear, type LinearParams } from "./models/linear.js";
export { layerRouter, moeConfig, type MoeStackConfig, type StackConfig } from "./models/stackConfig.js";
export { applyLayerNorm, initLayerNorm, type LayerNormParams } from "./models/layerNorm.js";
export { applyFfn, initFfn, type FfnParams } from "./models/ffn.js";
export * from "./models/imageModel.js";
export { applyAttention, causalMask, initAttention, type AttentionParams } from "./models/attention.js";
export * from "./models/lmModel.js";
export { linearCrossEntropy, type HeadOptions, type HeadResult } from "./models/lmHead.js";
export { HEAD_KERNELS, type HeadKernel } from "./models/headKernel.js";
export { fusedHeadOnHost, fusedHeadSupports, type FusedHeadResult } from "./kernels/fusedLinearCrossEntropy.js";
export { generateTokens, sampleToken, type SampleOptions } from "./models/generate.js";

// Data
export * from "./data/types.js";
export { loadImageDataset, IMAGE_DATASET_NAMES } from "./data/loadImageDataset.js";
export { loadMnist } from "./data/mnist.js";
export { loadFashionMnist } from "./data/fashionMnist.js";
export { loadCifar10 } from "./data/cifar10.js";
export { readIdx, parseIdx } from "./data/idx.js";
export { fetchDataset, downloadFile, cacheDir } from "./data/download.js";
export { batchesPerEpoch, epochPermutation, gatherBatch } from "./data/batches.js";
export { loadCorpus, CORPUS_NAMES, type Corpus } from "./data/text/corpus.js";
export { splitDocuments, type DocumentSplit } from "./data/text/split.js";
export { gpt2Tokenizer, tokenizeDocuments, type Tokenizer } from "./data/text/tokenize.js";
export { BUCKET_EDGES, frequencyBuckets, gatherSequences, loadLmDataset, sequenceCount, type FrequencyBuckets, type LmDataset } from "./data/text/lmData.js";
export { fetchRecyclingTheWeb } from "./data/text/recyclingTheWeb.js";

// Training steps
export { adamw, type AdamW, type AdamWOptions, type AdamWState } from "./steps/adamw.js";
export { chooseEngine, ENGINES, makeTrainer, nativeUnsupported, type BatchSource, type Engine, type EngineUsed, type ModelConfig, type TrainerOptions } from "./steps/makeTrainer.js";
export type { Trainer } from "./steps/trainer.js";
export { NativeImageStep, nativeImageUnsupported } from "./steps/nativeImageStep.js";
export { makeLmTrainStep, type LmTrainStepFn } from "./steps/lmStep.js";
export { crossEntropy, makeEvalStep, makeTrainStep, unpackStepStats, type StepStats, type TrainStepFn } from "./steps/imageStep.js";

// Training runs
export { cosineWithWarmup, type LrScheduleOptions } from "./train/lrSchedule.js";
export { configSchema, defaultConfig, LM_PRESETS, LM_SCALES, RENAMED_KEYS, resolveConfig, type LmScale, type ResolveOptions, type TrainConfig, type TrainConfigInput } from "./train/config.js";
export { makeLmEvaluator, type LmEvalOptions } from "./train/lmEvaluate.js";
export { lmModelConfigFor } from "./train/lmTask.js";
export { evaluate, makeEvaluator, type EvalResult, type Evaluator, type FrequencyRow } from "./train/evaluate.js";
export { loadRun, type LoadedRun } from "./train/loadRun.js";
export { loadLmRun, type LoadedLmRun } from "./train/loadLmRun.js";
export { exportPytorch, pytorchStateDict, EXPORTED_ROUTERS } from "./train/exportPytorch.js";
export {
  addRoutingCounts,
  imbalance,
  routingCounts,
  routingCountsSize,
  routingStatsFromCounts,
  unpackRoutingCounts,
  type LayerRoutingStats,
  type RoutingCounts,
} from "./analysis/routingStats.js";
export { loadCheckpoint, saveCheckpoint, CHECKPOINT_FILE, type Progress, type TrainState } from "./train/checkpoint.js";
export { decodeSafetensors, encodeSafetensors, type SafeTensor } from "./io/safetensors.js";
export {
  DivergedError,
  InterruptedError,
  modelConfigFor,
  train,
  type TrainEvent,
  type TrainOptions,
  type TrainResult,
  type TrainSummary,
} from "./train/train.js";
