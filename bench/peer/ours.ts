/**
 * Our side of `npm run bench -- --peer pytorch`: one model's training step as a timing server.
 *
 *   node --import tsx bench/peer/ours.ts --model moe-uniform [--warmup 3]     (DYNAMOE_THREADS sets the threads)
 *
 * Prints `{"ready": true, "params", "spec", "threads", "firstStepMs", "plan"}` after the warm-up steps,
 * then answers each stdin line `{"run": K}` with `{"times": [K step times, ms]}` and `{"quit": true}`
 * with `{"peakRssMb"}`. The steps are those `dynamoe train` runs (image: forward, loss, gradients,
 * clipping and AdamW, on the engine `--engine auto|native|jax` picks through
 * `src/steps/makeTrainer.ts`, image and LM alike), on the same random inputs.
 */
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { PEER_MODELS, imagePeerSpec, lmPeerSpec, type PeerSpec } from "./spec.js";

const { values } = parseArgs({
  options: { model: { type: "string" }, warmup: { type: "string", default: "3" }, engine: { type: "string", default: "auto" } },
});

const { initEngine } = await import("../../src/engine/engine.js");
const { random } = await import("../../src/engine/jax.js");
const { seedKey, splitKeyOnHost } = await import("../../src/engine/seedKey.js");
const { countParams, initImageModel } = await import("../../src/models/imageModel.js");
const { initLmModel } = await import("../../src/models/lmModel.js");
const { adamw } = await import("../../src/steps/adamw.js");
const { chooseEngine, makeTrainer } = await import("../../src/steps/makeTrainer.js");
const { resolveConfig } = await import("../../src/train/config.js");
const { modelConfigFor, dispatchLabels } = await import("../../src/train/train.js");
const { lmModelConfigFor } = await import("../../src/train/lmTask.js");

const model = PEER_MODELS.find((m) => m.name === values.model);
if (!model) throw new Error(`unknown model ${values.model}; one of ${PEER_MODELS.map((m) => m.name).join(", ")}`);
const engine = await initEngine();
const config = resolveConfig({ ...model.config, engine: values.engine });
const adam = { beta1: config.beta1, beta2: config.beta2, eps: config.eps, weightDecay: config.weightDecay };

let spec: PeerSpec;
let plan: string;
let params: number;
/** One timed step (ms), including the host-to-engine copy of its batch and the read of its stats. */
let step: () => Promise<number>;
/** Threads the chosen engine runs on. */
let threadsUsed = 1;

if (model.task === "image") {
  const mc = modelConfigFor(config, 784, 10);
  const b = config.batchSize;
  spec = imagePeerSpec(mc, b);
  const used = chooseEngine(config.engine, mc, engine.device);
  plan = used === "native" ? `native step (${mc.kind === "moe" ? "sparse experts" : "dense"})` : dispatchLabels(mc, b).join("; ") || "-";
  const p = initImageModel(random.key(0), mc);
  params = countParams(p);
  let s = 12345;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296) * 2 - 1;
  const batches = Array.from({ length: 4 }, () => ({ x: Float32Array.from({ length: b * 784 }, rnd), y: Int32Array.from({ length: b }, (_, i) => (i * 7) % 10) }));
  const trainer = await makeTrainer(mc, { engine: used, device: engine.device, batch: b, adam, clip: config.clip }, p, adamw(adam).init(p), (_order, start) => batches[start % batches.length]);
  threadsUsed = trainer.threads;
  let key = random.key(1);
  let i = 0;
  step = async () => {
    const t0 = performance.now();
    const [next, sub] = await splitKeyOnHost(key); // as the training loop splits its key
    key = next;
    await trainer.step(new Int32Array(0), i++, sub, config.lr);
    return performance.now() - t0;
  };
} else {
  const cfg = lmModelConfigFor(config, 50257);
  const [b, s] = [config.batchSize, config.context];
  spec = lmPeerSpec(cfg, b);
  plan = dispatchLabels(cfg, b * s).join("; ") || "-";
  const p = initLmModel(random.key(0), cfg);
  params = countParams(p);
  const ids = (seed: number) => Int32Array.from({ length: b * s }, (_, j) => (j * 7919 + seed * 104729) % 50257);
  const trainer = await makeTrainer(
    cfg,
    { engine: config.engine, device: engine.device, batch: b, adam, clip: config.clip, lm: { headChunk: config.headChunk, headKernel: config.headKernel } },
    p, adamw(adam).init(p), (_order, k) => ({ x: ids(k), y: ids(k + 1) }),
  );
  threadsUsed = trainer.threads;
  if (trainer.kind === "native") plan = `native step (${cfg.kind === "moe" ? "sparse experts" : "dense"})`;
  let i = 0;
  step = async () => {
    const k = i++ % 4;
    const t0 = performance.now();
    await trainer.step(new Int32Array(0), k, seedKey(k), config.lr);
    return performance.now() - t0;
  };
}

const paramCount = params;

const emit = (obj: unknown) => process.stdout.write(JSON.stringify(obj) + "\n");
let firstStepMs: number | null = null;
for (let w = 0; w < Number(values.warmup); w++) {
  const ms = await step();
  firstStepMs ??= ms;
}
emit({ ready: true, params: paramCount, spec, threads: threadsUsed, firstStepMs, plan });
for await (const line of createInterface({ input: process.stdin })) {
  const cmd = JSON.parse(line) as { run?: number; quit?: boolean };
  if (cmd.quit) {
    emit({ peakRssMb: process.resourceUsage().maxRSS / 1024 });
    break;
  }
  const times: number[] = [];
  for (let k = 0; k < (cmd.run ?? 0); k++) times.push(await step());
  emit({ times });
}
process.exit(0);
