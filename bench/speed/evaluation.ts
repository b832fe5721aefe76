/**
 * Evaluation speed: an image model scored on MNIST's 10,000 test images in batches of 1,000 (the
 * runs' `evalBatchSize`), or a language model (`lm-tiny`, `lm-small`, `lm-medium`: the paper's
 * per-position MoE, uniform schedule) on the first `--lm-sequences` sequences of SOTU's validation
 * split in batches of 32, by jax-js (`src/train/evaluate.ts`, `lmEvaluate.ts`) and by our kernels
 * (`src/steps/nativeImageEval.ts`, `nativeLmEval.ts`) on each thread count, side by side in one
 * process; the median of `--rounds` passes after one warm-up (jax-js compiles there), and each
 * native pass's time as a share of jax-js's.
 *
 *   npm run bench:eval -- [--models dense,moe-uniform,moe-switch,lm-tiny] [--threads 1,2] [--rounds 5]
 *                         [--lm-sequences 64] [--json FILE]
 *
 * The parameters are the models' initial ones (evaluation does the same work at any parameters,
 * but for routing: the routers start near uniform). Examples are images, or tokens.
 */
import { parseArgs } from "node:util";
import { reportMachineLoad, writeBenchJson } from "../machine.js";
import { modelConfig } from "../models.js";
import type { NativeThreads } from "../../src/steps/nativeStep.js";

const { values } = parseArgs({
  options: {
    models: { type: "string", default: "dense,moe-uniform,moe-switch,lm-tiny" },
    "lm-sequences": { type: "string", default: "64" },
    threads: { type: "string", default: "1,2" },
    rounds: { type: "string", default: "5" },
    json: { type: "string" },
  },
});

type Row = { model: string; engine: string; threads: number; medianMs: number; examplesPerSecond: number; shareOfJax: number | null; accuracy: number };

async function main(): Promise<void> {
  reportMachineLoad();
  const { initEngine } = await import("../../src/engine/engine.js");
  const { random, tree } = await import("../../src/engine/jax.js");
  const { initImageModel } = await import("../../src/models/imageModel.js");
  const { resolveConfig } = await import("../../src/train/config.js");
  const { modelConfigFor } = await import("../../src/train/train.js");
  const { makeEvaluator } = await import("../../src/train/evaluate.js");
  const { loadImageDataset } = await import("../../src/data/loadImageDataset.js");
  const { spawnNodeWorker } = await import("../../src/kernels/nodeWorkers.js");
  const { initLmModel } = await import("../../src/models/lmModel.js");
  const { lmModelConfigFor, loadRunCorpus } = await import("../../src/train/lmTask.js");
  const { makeLmEvaluator } = await import("../../src/train/lmEvaluate.js");
  await initEngine();
  const data = await loadImageDataset("mnist");
  const rounds = Number(values.rounds);
  const rows: Row[] = [];
  /** Each engine's pass over one model's data: the median time and the accuracy. */
  const compare = async (model: string, examples: number, make: (native: NativeThreads | null) => { run(): Promise<number>; close(): void }) => {
    const time = async (native: NativeThreads | null) => {
      const pass = make(native);
      let accuracy = 0;
      const ms: number[] = [];
      for (let r = 0; r <= rounds; r++) {
        const t0 = performance.now();
        accuracy = await pass.run();
        if (r > 0) ms.push(performance.now() - t0);
      }
      pass.close();
      ms.sort((a, b) => a - b);
      return { medianMs: ms[Math.floor(ms.length / 2)], accuracy };
    };
    const jax = await time(null);
    rows.push({ model, engine: "jax", threads: 1, ...jax, examplesPerSecond: (1000 * examples) / jax.medianMs, shareOfJax: null });
    for (const threads of values.threads!.split(",").map(Number)) {
      const native = await time({ threads, spawn: spawnNodeWorker });
      if (native.accuracy !== jax.accuracy) process.stderr.write(`note: ${model}: native accuracy ${native.accuracy} against jax-js's ${jax.accuracy}\n`);
      rows.push({ model, engine: "native", threads, ...native, examplesPerSecond: (1000 * examples) / native.medianMs, shareOfJax: native.medianMs / jax.medianMs });
    }
  };
  for (const model of values.models!.split(",")) {
    const scale = /^lm-(tiny|small|medium)$/.exec(model)?.[1];
    if (scale) {
      const sequences = Number(values["lm-sequences"]);
      const config = resolveConfig({ task: "lm", scale, model: "moe", testLimit: sequences });
      const corpus = await loadRunCorpus(config);
      const cfg = lmModelConfigFor(config, corpus.vocab);
      const params = initLmModel(random.key(0), cfg);
      await compare(model, sequences * cfg.context, (native) => {
        const evaluator = makeLmEvaluator(cfg, { batchSize: config.evalBatchSize, headChunk: config.headChunk, headKernel: config.headKernel, buckets: corpus.buckets, limit: sequences, native });
        return { run: async () => (await evaluator(params, corpus.validation)).accuracy, close: () => evaluator.close() };
      });
      tree.dispose(params);
      continue;
    }
    const config = resolveConfig(modelConfig(model, "auto"));
    const cfg = modelConfigFor(config, data.inputDim, data.numClasses);
    const params = initImageModel(random.key(0), cfg);
    await compare(model, data.test.n, (native) => {
      const evaluator = makeEvaluator(cfg, config.evalBatchSize, native);
      return { run: async () => (await evaluator(params, data.test)).accuracy, close: () => evaluator.close() };
    });
    tree.dispose(params);
  }
  console.log(`evaluation: images on ${data.test.n} ${data.name} test images, language models on ${values["lm-sequences"]} sequences of SOTU validation; median of ${rounds} passes`);
  console.log("model            engine  threads   ms/pass  examples/s   × jax-js");
  for (const r of rows)
    console.log(`${r.model.padEnd(16)} ${r.engine.padEnd(7)} ${String(r.threads).padStart(7)} ${r.medianMs.toFixed(0).padStart(9)} ${r.examplesPerSecond.toFixed(0).padStart(11)} ${r.shareOfJax === null ? "" : r.shareOfJax.toFixed(2).padStart(10)}`);
  writeBenchJson(values.json, rows, { rounds, images: data.test.n, lmSequences: Number(values["lm-sequences"]) });
}

await main();
