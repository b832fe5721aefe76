/**
 * Memory over a long run (no growth over 10,000 steps): trains the spec's MNIST
 * models on random batches for `--steps` steps and samples, every `--every` steps, jax-js's live
 * buffers (src/engine/liveBuffers.ts) and the process's resident memory. Then the Tiny language
 * model for `--lm-steps` steps (its steps are seconds long). A leak shows as live buffers that keep
 * rising; the wasm heap never shrinks, so RSS should plateau after the first steps.
 *
 *   npm run bench:memory -- [--steps 10000] [--every 500] [--models dense,moe-uniform,moe-switch] [--lm-steps 40]
 *                           [--lm-batch 32] [--engine auto|native|jax] [--json FILE]
 *
 * `--lm-batch` sets the Tiny LM's sequences per step (its default, 32, makes a step about a second on
 * two threads; a smaller batch lets 10,000 steps fit in an hour, and a leak per step still shows).
 *
 * Each model takes the engine `dynamoe train` takes (`--engine`, as in the configuration, through
 * `src/steps/makeTrainer.ts`): by default the native one where it supports the model (its state lives
 * in kernel memory, so its jax-js live buffers stay near zero and RSS is the measure), else jax-js.
 *
 * Each model runs in its own child process, one after another.
 */
import { spawnSync } from "node:child_process";
import { parseArgs } from "node:util";
import { reportMachineLoad, writeBenchJson } from "../machine.js";
import { modelConfig } from "../models.js";

const { values } = parseArgs({
  options: {
    steps: { type: "string", default: "10000" },
    every: { type: "string", default: "500" },
    models: { type: "string", default: "dense,moe-uniform,moe-switch" },
    "lm-steps": { type: "string", default: "40" },
    "lm-batch": { type: "string", default: "32" },
    engine: { type: "string", default: "auto" },
    child: { type: "string" },
    json: { type: "string" },
  },
});

type Sample = { step: number; live: number; rssMb: number };
type Result = { model: string; steps: number; samples: Sample[]; msPerStep: number; stepKind: string };

async function child(model: string): Promise<void> {
  const { initEngine } = await import("../../src/engine/engine.js");
  const { random, tree } = await import("../../src/engine/jax.js");
  const { seedKey } = await import("../../src/engine/seedKey.js");
  const { trackBuffers } = await import("../../src/engine/liveBuffers.js");
  const { resolveConfig } = await import("../../src/train/config.js");
  const { adamw } = await import("../../src/steps/adamw.js");
  await initEngine();
  const tracker = await trackBuffers();
  const rss = () => process.memoryUsage().rss / 2 ** 20;
  const samples: Sample[] = [];
  const lm = model === "lm-tiny";
  const steps = Number(lm ? values["lm-steps"] : values.steps);
  const every = lm ? Math.max(1, Math.floor(steps / 20)) : Number(values.every); // the LM: 20 samples, whatever its length
  const { makeTrainer } = await import("../../src/steps/makeTrainer.js");
  const adam = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };
  let trainer: Awaited<ReturnType<typeof makeTrainer>>;
  if (lm) {
    const { lmModelConfigFor } = await import("../../src/train/lmTask.js");
    const { initLmModel } = await import("../../src/models/lmModel.js");
    const config = resolveConfig({ task: "lm", scale: "tiny", batchSize: Number(values["lm-batch"]) });
    const cfg = lmModelConfigFor(config, 50257);
    const params = initLmModel(random.key(0), cfg);
    const [b, s] = [config.batchSize, config.context];
    const ids = (seed: number) => Int32Array.from({ length: b * s }, (_, i) => (i * 7919 + seed * 104729) % 50257);
    trainer = await makeTrainer(
      cfg, { engine: values.engine as "auto", batch: b, adam, clip: config.clip, lm: { headChunk: config.headChunk, headKernel: config.headKernel } },
      params, adamw(adam).init(params), (_order, i) => ({ x: ids(i), y: ids(i + 1) }),
    );
  } else {
    const { initImageModel } = await import("../../src/models/imageModel.js");
    const { modelConfigFor } = await import("../../src/train/train.js");
    const config = resolveConfig(modelConfig(model, "auto"));
    const mc = modelConfigFor(config, 784, 10);
    const params = initImageModel(random.key(0), mc);
    const B = 256;
    let seed = 12345;
    const rnd = () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 4294967296) * 2 - 1;
    const batches = Array.from({ length: 4 }, () => ({ x: Float32Array.from({ length: B * 784 }, rnd), y: Int32Array.from({ length: B }, (_, i) => (i * 7) % 10) }));
    trainer = await makeTrainer(mc, { engine: values.engine as "auto", batch: B, adam, clip: 1.0 }, params, adamw(adam).init(params), (_order, i) => batches[i % batches.length]);
  }
  const runStep = async (i: number) => void (await trainer.step(new Int32Array(0), i, seedKey(i), 1e-3));
  const dispose = () => tree.dispose(trainer.finish());
  const stepKind = trainer.kind;
  const t0 = performance.now();
  for (let i = 1; i <= steps; i++) {
    await runStep(i);
    if (i === 1 || i % every === 0 || i === steps) samples.push({ step: i, live: tracker.live(), rssMb: rss() });
  }
  const msPerStep = (performance.now() - t0) / steps;
  dispose();
  tracker.stop();
  process.stdout.write(JSON.stringify({ model, steps, samples, msPerStep, stepKind } satisfies Result) + "\n");
}

/** Least-squares slope of y on x and its standard error (0 with fewer than 3 points). */
function leastSquaresSlope(x: number[], y: number[]): { slope: number; se: number } {
  const n = x.length;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (x[i] - mx) * (y[i] - my);
    den += (x[i] - mx) ** 2;
  }
  const slope = den === 0 ? 0 : num / den;
  let residual = 0;
  for (let i = 0; i < n; i++) residual += (y[i] - my - slope * (x[i] - mx)) ** 2;
  return { slope, se: den === 0 || n < 3 ? 0 : Math.sqrt(residual / (n - 2) / den) };
}

/** Runs shorter than this many steps are too short to judge an RSS trend (the LM's 20 steps). */
const MIN_TREND_STEPS = 1000;
/** "RSS grows" when the trend is at least this many MB per 1,000 steps even at its lower 2-standard-error bound. */
const GROWTH_MB_PER_1K = 1;

async function parent(): Promise<void> {
  reportMachineLoad();
  const models = [...values.models!.split(",").filter((m) => m), ...(Number(values["lm-steps"]) > 0 ? ["lm-tiny"] : [])];
  const out = [
    `live jax-js buffers and resident memory over training (random batches; image models ${values.steps} steps, sampled every ${values.every}; Tiny LM ${values["lm-steps"]} steps of ${values["lm-batch"]} sequences)`,
    "",
    "| model | step | steps | ms/step | live buffers: after step 1 → 2nd sample → last | RSS MB: 2nd sample → last | RSS trend after the first tenth, MB per 1,000 steps (± 2 standard errors) | verdict: grows if the trend exceeds 1 even at its lower bound |",
    "|---|---|---|---|---|---|---|---|",
  ];
  const records: unknown[] = [];
  for (const model of models) {
    const r = spawnSync(process.execPath, ["--import", "tsx", "bench/speed/memory.ts", "--child", model, "--steps", values.steps!, "--every", values.every!, "--lm-steps", values["lm-steps"]!, "--lm-batch", values["lm-batch"]!, "--engine", values.engine!], { encoding: "utf8", maxBuffer: 1 << 26 });
    if (r.status !== 0) throw new Error(`memory bench child ${model} failed:\n${r.stderr}`);
    const res = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Result;
    const [first, second, last] = [res.samples[0], res.samples[Math.min(1, res.samples.length - 1)], res.samples.at(-1)!];
    // RSS trend: least-squares slope over the samples after the first tenth of the run (JS garbage
    // collection makes single samples noisy), in MB per 1,000 steps.
    const tail = res.samples.filter((x) => x.step >= res.steps / 10);
    const fit = tail.length >= 5 && res.steps >= MIN_TREND_STEPS ? leastSquaresSlope(tail.map((x) => x.step), tail.map((x) => x.rssMb)) : undefined;
    const [slope, se] = fit ? [fit.slope * 1000, fit.se * 1000] : [undefined, 0];
    const leak = last.live > second.live;
    process.stderr.write(`${model}: ${res.samples.map((x) => `${x.step}:${x.live}/${x.rssMb.toFixed(0)}MB`).join(" ")}\n`);
    const verdict = leak ? "live buffers grow: leak" : slope === undefined ? "buffers flat; run too short to judge RSS" : slope - 2 * se > GROWTH_MB_PER_1K ? "RSS grows" : "flat";
    records.push({ model, step: res.stepKind, steps: res.steps, msPerStep: res.msPerStep, samples: res.samples, rssTrendMbPer1k: slope ?? null, rssTrendTwoSe: slope === undefined ? null : 2 * se, verdict });
    out.push(`| ${model} | ${res.stepKind} | ${res.steps} | ${res.msPerStep.toFixed(1)} | ${first.live} → ${second.live} → ${last.live} | ${second.rssMb.toFixed(0)} → ${last.rssMb.toFixed(0)} | ${slope === undefined ? "-" : `${slope.toFixed(2)} ± ${(2 * se).toFixed(2)}`} | ${verdict} |`);
  }
  process.stdout.write(out.join("\n") + "\n");
  writeBenchJson(values.json, records, { bench: "memory", every: Number(values.every) });
}

if (values.child) await child(values.child);
else await parent();
