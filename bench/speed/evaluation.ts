/**
 * Evaluation speed: an image model scored on MNIST's 10,000 test images in batches of 1,000 (the
 * runs' `evalBatchSize`), by jax-js's jitted pass and by our kernels (`src/steps/nativeImageEval.ts`)
 * on each thread count, side by side in one process; the median of `--rounds` passes after one
 * warm-up (jax-js compiles there), and each native pass's time as a share of jax-js's.
 *
 *   npm run bench:eval -- [--models dense,moe-uniform,moe-switch] [--threads 1,2] [--rounds 5] [--json FILE]
 *
 * The parameters are the models' initial ones (evaluation does the same work at any parameters,
 * but for routing: the routers start near uniform).
 */
import { parseArgs } from "node:util";
import { reportMachineLoad, writeBenchJson } from "../machine.js";
import { modelConfig } from "../imageModels.js";

const { values } = parseArgs({
  options: {
    models: { type: "string", default: "dense,moe-uniform,moe-switch" },
    threads: { type: "string", default: "1,2" },
    rounds: { type: "string", default: "5" },
    json: { type: "string" },
  },
});

type Row = { model: string; engine: string; threads: number; medianMs: number; imagesPerSecond: number; shareOfJax: number | null; accuracy: number };

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
  await initEngine();
  const data = await loadImageDataset("mnist");
  const rounds = Number(values.rounds);
  const rows: Row[] = [];
  for (const model of values.models!.split(",")) {
    const config = resolveConfig(modelConfig(model, "auto"));
    const cfg = modelConfigFor(config, data.inputDim, data.numClasses);
    const params = initImageModel(random.key(0), cfg);
    const time = async (native: { threads: number } | null) => {
      const evaluator = makeEvaluator(cfg, config.evalBatchSize, native ? { threads: native.threads, spawn: spawnNodeWorker } : null);
      let accuracy = 0;
      const ms: number[] = [];
      for (let r = 0; r <= rounds; r++) {
        const t0 = performance.now();
        accuracy = (await evaluator(params, data.test)).accuracy;
        if (r > 0) ms.push(performance.now() - t0);
      }
      evaluator.close();
      ms.sort((a, b) => a - b);
      return { medianMs: ms[Math.floor(ms.length / 2)], accuracy };
    };
    const jax = await time(null);
    rows.push({ model, engine: "jax", threads: 1, ...jax, imagesPerSecond: (1000 * data.test.n) / jax.medianMs, shareOfJax: null });
    for (const threads of values.threads!.split(",").map(Number)) {
      const native = await time({ threads });
      if (native.accuracy !== jax.accuracy) process.stderr.write(`note: ${model}: native accuracy ${native.accuracy} against jax-js's ${jax.accuracy}\n`);
      rows.push({ model, engine: "native", threads, ...native, imagesPerSecond: (1000 * data.test.n) / native.medianMs, shareOfJax: native.medianMs / jax.medianMs });
    }
    tree.dispose(params);
  }
  console.log(`evaluation of ${data.test.n} ${data.name} test images, median of ${rounds} passes`);
  console.log("model            engine  threads   ms/pass   images/s   × jax-js");
  for (const r of rows)
    console.log(`${r.model.padEnd(16)} ${r.engine.padEnd(7)} ${String(r.threads).padStart(7)} ${r.medianMs.toFixed(0).padStart(9)} ${r.imagesPerSecond.toFixed(0).padStart(10)} ${r.shareOfJax === null ? "" : r.shareOfJax.toFixed(2).padStart(10)}`);
  writeBenchJson(values.json, rows, { rounds, images: data.test.n });
}

await main();
