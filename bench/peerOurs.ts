/**
 * Our side of `npm run bench -- --peer pytorch`: one model's training step as a timing server.
 *
 *   node --import tsx bench/peerOurs.ts --model moe-uniform [--warmup 3]     (DYNAMOE_THREADS sets the threads)
 *
 * Prints `{"ready": true, "params", "spec", "threads", "firstStepMs", "plan"}` after the warm-up steps,
 * then answers each stdin line `{"run": K}` with `{"times": [K step times, ms]}` and `{"quit": true}`
 * with `{"peakRssMb"}`. The steps are those `dynamoe train` runs (image: forward, loss, gradients,
 * clipping and AdamW, as the native step of `src/native/` where `--step-kernel auto|native` allows,
 * else as one jitted program; LM: `makeLmTrainStep`), on the same random inputs.
 */
import { createInterface } from "node:readline";
import { parseArgs } from "node:util";
import { PEER_MODELS, imagePeerSpec, lmPeerSpec, type PeerSpec } from "./peerSpec.js";

const { values } = parseArgs({
  options: { model: { type: "string" }, warmup: { type: "string", default: "3" }, "step-kernel": { type: "string", default: "auto" } },
});

const { initEngine } = await import("../src/engine/engine.js");
const { numpy: np, random, tree } = await import("../src/engine/jax.js");
const { seedKey, splitKeyOnHost } = await import("../src/engine/seedKey.js");
const { countParams, initImageModel } = await import("../src/models/imageModel.js");
const { initLmModel } = await import("../src/models/lmModel.js");
const { adamw } = await import("../src/train/adamw.js");
const { makeTrainStep } = await import("../src/train/trainStep.js");
const { NativeImageStep, nativeImageUnsupported } = await import("../src/native/imageStep.js");
const { makeLmTrainStep } = await import("../src/train/lmStep.js");
const { resolveConfig } = await import("../src/train/config.js");
const { modelConfigFor, dispatchLabels } = await import("../src/train/train.js");
const { lmModelConfigFor } = await import("../src/train/lmTask.js");

const model = PEER_MODELS.find((m) => m.name === values.model);
if (!model) throw new Error(`unknown model ${values.model}; one of ${PEER_MODELS.map((m) => m.name).join(", ")}`);
const engine = await initEngine();
const config = resolveConfig({ ...model.config, stepKernel: values["step-kernel"] });
const opt = adamw({ beta1: config.beta1, beta2: config.beta2, eps: config.eps, weightDecay: config.weightDecay });

/** One timed step (ms), including the host-to-engine copy of its batch and the read of its stats. */
let step: () => Promise<number>;
let spec: PeerSpec;
let params: unknown;
let plan: string;

if (model.task === "image") {
  const mc = modelConfigFor(config, 784, 10);
  const b = config.batchSize;
  spec = imagePeerSpec(mc, b);
  plan = dispatchLabels(mc, b).join("; ") || "-";
  let p = initImageModel(random.key(0), mc);
  params = p;
  let state = opt.init(p);
  const train = makeTrainStep(mc, opt, config.clip);
  let s = 12345;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296) * 2 - 1;
  const batches = Array.from({ length: 4 }, () => ({ x: Float32Array.from({ length: b * 784 }, rnd), y: Int32Array.from({ length: b }, (_, i) => (i * 7) % 10) }));
  let key = random.key(1);
  let i = 0;
  const unsupported = nativeImageUnsupported(mc);
  if (config.stepKernel === "native" && unsupported) throw new Error(`--step-kernel native: no native step for ${unsupported}`);
  const native = config.stepKernel !== "jit" && !unsupported
    ? await NativeImageStep.create(mc, b, { beta1: config.beta1, beta2: config.beta2, eps: config.eps, weightDecay: config.weightDecay }, config.clip, p, state)
    : null;
  if (native) {
    plan = `native step (${mc.kind === "moe" ? "sparse experts" : "dense"})`;
    params = countParams(p); // the jax-js copies are not kept: peak memory is the native step's own
    tree.dispose([p, state]);
  }
  step = native ? async () => {
    const batch = batches[i++ % batches.length];
    const t0 = performance.now();
    const [next, sub] = await splitKeyOnHost(key); // as the training loop splits its key
    key = next;
    await native.step(batch.x, batch.y, sub, config.lr);
    return performance.now() - t0;
  } : async () => {
    const batch = batches[i++ % batches.length];
    const t0 = performance.now();
    const [next, sub] = await splitKeyOnHost(key); // as the training loop splits its key
    key = next;
    const [np2, st, packed] = train(p, state, np.array(batch.x).reshape([b, 784]), np.array(batch.y, { dtype: np.int32 }), sub, np.array(config.lr));
    p = np2;
    state = st;
    await packed.data();
    return performance.now() - t0;
  };
} else {
  const cfg = lmModelConfigFor(config, 50257);
  const [b, s] = [config.batchSize, config.context];
  spec = lmPeerSpec(cfg, b);
  plan = dispatchLabels(cfg, b * s).join("; ") || "-";
  let p = initLmModel(random.key(0), cfg);
  params = p;
  let state = opt.init(p);
  const train = makeLmTrainStep(cfg, opt, config.clip, { headChunk: config.headChunk, headKernel: config.headKernel });
  const ids = (seed: number) => Int32Array.from({ length: b * s }, (_, j) => (j * 7919 + seed * 104729) % 50257);
  let i = 0;
  step = async () => {
    const k = i++ % 4;
    const t0 = performance.now();
    const [np2, st, packed] = await train(p, state, np.array(ids(k), { dtype: np.int32 }).reshape([b, s]), np.array(ids(k + 1), { dtype: np.int32 }), seedKey(k), np.array(config.lr));
    p = np2;
    state = st;
    await packed.data();
    return performance.now() - t0;
  };
}

const paramCount = typeof params === "number" ? params : countParams(params);
const emit = (obj: unknown) => process.stdout.write(JSON.stringify(obj) + "\n");
let firstStepMs: number | null = null;
for (let w = 0; w < Number(values.warmup); w++) {
  const ms = await step();
  firstStepMs ??= ms;
}
emit({ ready: true, params: paramCount, spec, threads: engine.threads, firstStepMs, plan });
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
