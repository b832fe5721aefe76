/**
 * Language-model training speed: training tokens per second for the Tiny, Small and Medium presets
 * (batch 32 × context 128 = 4,096 tokens per step), on the engine `--engines` names (`auto`: the
 * native engine where it runs the model, `src/steps/makeTrainer.ts`), and on the jax-js engine the
 * share of the step spent in the tied 50,257-way output layer (`lmHead.ts`) timed alone.
 *
 *   npm run bench:lm -- [--scales tiny,small,medium] [--models moe-uniform,dense] [--threads 1,2] [--engines auto] [--steps 4] [--warmup 1] [--attention] [--json FILE]
 *                       [--head-kernels fused,jax]   the output layer's implementations to run side by side (lmHead.ts)
 *                       [--naive]   also time jit(valueAndGrad) of the plain head against ours, at 512 tokens (or fewer if it does not fit)
 *
 * Each (scale, model, threads) row runs in its own child process, one after another. The head is
 * timed alone, at the step's shapes, on the same random hidden states; its share is head / step.
 * Inputs are random token ids; data loading is not timed.
 */
import { spawnSync } from "node:child_process";
import os from "node:os";
import { parseArgs } from "node:util";
import { reportMachineLoad, writeBenchJson } from "../machine.js";
import { modelConfig } from "../models.js";
import type { numpy as NP } from "../../src/engine/jax.js";

const { values } = parseArgs({
  options: {
    scales: { type: "string", default: "tiny,small,medium" },
    models: { type: "string", default: "moe-uniform,dense" },
    threads: { type: "string", default: "1,2" },
    engines: { type: "string", default: "auto" },
    engine: { type: "string", default: "auto" },
    json: { type: "string" },
    steps: { type: "string", default: "4" },
    warmup: { type: "string", default: "1" },
    attention: { type: "boolean", default: false },
    naive: { type: "boolean", default: false },
    "head-kernels": { type: "string", default: "fused,jax" },
    "head-kernel": { type: "string", default: "auto" },
    child: { type: "string" },
  },
});

type Row = { scale: string; model: string; engine: string; headKernel: string; threads: number; stepMs: number; headMs: number; tokensPerS: number; peakRssMb: number; naiveMs?: number; oursAtNMs?: number; naiveTokens?: number };

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function child(spec: string): Promise<void> {
  const [scale, model] = spec.split(":");
  const { initEngine } = await import("../../src/engine/engine.js");
  const { jit, nn, numpy: np, random, tree, valueAndGrad } = await import("../../src/engine/jax.js");
  const { seedKey } = await import("../../src/engine/seedKey.js");
  const { resolveConfig } = await import("../../src/train/config.js");
  const { lmModelConfigFor } = await import("../../src/train/lmTask.js");
  const { initLmModel } = await import("../../src/models/lmModel.js");
  const { linearCrossEntropy } = await import("../../src/models/lmHead.js");
  const { makeLmTrainStep } = await import("../../src/steps/lmStep.js");
  const { adamw } = await import("../../src/steps/adamw.js");
  const engine = await initEngine();
  const config = resolveConfig({ task: "lm", scale, ...modelConfig(model, "auto"), attention: values.attention, headKernel: values["head-kernel"] as "auto" });
  const cfg = lmModelConfigFor(config, 50257);
  const [b, s] = [config.batchSize, config.context];
  const t = b * s;
  let params = initLmModel(random.key(0), cfg);
  const opt = adamw();
  let state = opt.init(params);
  const ids = (seed: number) => Int32Array.from({ length: t }, (_, i) => (i * 7919 + seed * 104729) % 50257);
  const { chooseEngine, makeTrainer } = await import("../../src/steps/makeTrainer.js");
  if (chooseEngine(values.engine as "auto", cfg, engine.device) === "native") {
    // The native engine: the step as training runs it (the head is inside; it is not timed alone).
    const trainer = await makeTrainer(cfg, { engine: "native", device: engine.device, batch: b, adam: { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 }, clip: config.clip, lm: { headChunk: config.headChunk } }, params, state, (_o, k) => ({ x: ids(k), y: ids(k + 1) }));
    const times: number[] = [];
    for (let i = 0; i < Number(values.warmup) + Number(values.steps); i++) {
      const t0 = performance.now();
      await trainer.step(new Int32Array(0), i, seedKey(i), 1e-3);
      if (i >= Number(values.warmup)) times.push(performance.now() - t0);
    }
    tree.dispose(trainer.finish());
    const row: Row = { scale, model, engine: "native", headKernel: "native", threads: trainer.threads, stepMs: median(times), headMs: NaN, tokensPerS: (t / median(times)) * 1000, peakRssMb: process.resourceUsage().maxRSS / 1024 };
    process.stdout.write(JSON.stringify(row) + "\n");
    return;
  }
  const step = makeLmTrainStep(cfg, opt, config.clip, { headChunk: config.headChunk, headKernel: config.headKernel });
  const stepTimes: number[] = [];
  const warmup = Number(values.warmup);
  for (let i = 0; i < warmup + Number(values.steps); i++) {
    const t0 = performance.now();
    const [p, st, packed] = await step(params, state, np.array(ids(i), { dtype: np.int32 }).reshape([b, s]), np.array(ids(i + 1), { dtype: np.int32 }), seedKey(i), np.array(1e-3));
    params = p;
    state = st;
    await packed.data();
    if (i >= warmup) stepTimes.push(performance.now() - t0);
  }
  const hidden = random.normal(random.key(7), [t, cfg.d]);
  const headTimes: number[] = [];
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    const r = await linearCrossEntropy(params.embed.tokens, hidden.ref, np.array(ids(i), { dtype: np.int32 }), { chunk: config.headChunk, kernel: config.headKernel, grad: true });
    await r.dTable!.data();
    await r.dHidden!.data();
    tree.dispose([r.losses, r.correct]);
    if (i > 0) headTimes.push(performance.now() - t0);
  }
  const row: Row = { scale, model, engine: "jax", headKernel: config.headKernel, threads: engine.threads, stepMs: median(stepTimes), headMs: median(headTimes), tokensPerS: (t / median(stepTimes)) * 1000, peakRssMb: process.resourceUsage().maxRSS / 1024 };
  if (values.naive) {
    // The plain formulation (logits, log-softmax and one-hot under jit(valueAndGrad)) against the
    // chunked head, at the largest of 512 / 256 / 128 tokens that fits in wasm's 4 GiB here.
    hidden.dispose();
    tree.dispose([state]);
    for (const n of [512, 256, 128]) {
      const h = random.normal(random.key(8), [n, cfg.d]);
      const y = np.array(ids(0).subarray(0, n), { dtype: np.int32 });
      const naive = jit(valueAndGrad((tab: NP.Array, hh: NP.Array) => nn.logSoftmax(np.matmul(hh, tab.transpose()), -1).mul(nn.oneHot(y.ref, 50257)).sum(-1).mean().neg(), { argnums: [0, 1] }));
      try {
        const times: number[] = [];
        for (let i = 0; i < 2; i++) {
          const t0 = performance.now();
          const [l, g] = naive(params.embed.tokens.ref, h.ref);
          await l.data();
          for (const x of g as NP.Array[]) await x.data();
          times.push(performance.now() - t0);
        }
        row.naiveMs = times[1];
      } catch (e) {
        if (!(e instanceof RangeError)) throw e;
        process.stderr.write(`plain head at ${n} tokens: ${e.message}\n`);
        continue;
      }
      const t0 = performance.now();
      const r = await linearCrossEntropy(params.embed.tokens, h, y, { chunk: config.headChunk, kernel: config.headKernel, grad: true });
      await r.dTable!.data();
      await r.dHidden!.data();
      row.oursAtNMs = performance.now() - t0;
      row.naiveTokens = n;
      break;
    }
  } else {
    hidden.dispose();
  }
  process.stdout.write(JSON.stringify(row) + "\n");
}

async function parent(): Promise<void> {
  reportMachineLoad();
  const rows: Row[] = [];
  for (const scale of values.scales!.split(",")) {
    for (const model of values.models!.split(",")) {
      for (const threads of values.threads!.split(",").map(Number)) for (const eng of values.engines!.split(",")) for (const kernel of eng === "jax" ? values["head-kernels"]!.split(",") : ["auto"]) {
        const args = ["--import", "tsx", "bench/speed/lm.ts", "--child", `${scale}:${model}`, "--steps", values.steps!, "--warmup", values.warmup!, "--head-kernel", kernel, "--engine", eng];
        if (values.attention) args.push("--attention");
        if (values.naive) args.push("--naive");
        const r = spawnSync(process.execPath, args, { encoding: "utf8", env: { ...process.env, DYNAMOE_THREADS: String(threads) } });
        if (r.status !== 0) throw new Error(`bench child ${scale}/${model}/${threads} failed:\n${r.stderr}`);
        const row = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Row;
        rows.push(row);
        process.stderr.write(`${scale} ${model} ${row.engine} threads=${threads} head=${row.headKernel}: ${row.stepMs.toFixed(0)} ms/step, ${row.tokensPerS.toFixed(0)} tokens/s\n`);
      }
    }
  }
  const out = [
    `language-model training step, batch 32 × context 128 = 4,096 tokens, GPT-2 vocabulary (50,257), attention ${values.attention ? "on" : "off"}; median of ${values.steps} steps after ${values.warmup} warm-up`,
    "",
    "| scale | model | engine | threads | head kernel | ms/step | training tokens/s | output layer ms (alone) | output layer share of step | peak RSS MB |",
    "|---|---|---|---|---|---|---|---|---|---|",
    ...rows.map((r) => `| ${r.scale} | ${r.model} | ${r.engine} | ${r.threads} | ${r.headKernel} | ${r.stepMs.toFixed(0)} | ${r.tokensPerS.toFixed(0)} | ${!Number.isFinite(r.headMs) ? "—" : r.headMs.toFixed(0)} | ${!Number.isFinite(r.headMs) ? "—" : `${(100 * r.headMs / r.stepMs).toFixed(0)}%`} | ${r.peakRssMb.toFixed(0)} |`),
  ];
  const naive = rows.filter((r) => r.naiveMs !== undefined);
  if (naive.length) {
    out.push("", "| scale | model | tokens | output layer: jit(valueAndGrad) of the plain head, ms | ours (chunked, hand-written gradient), ms | ratio |", "|---|---|---|---|---|---|");
    for (const r of naive) out.push(`| ${r.scale} | ${r.model} | ${r.naiveTokens} | ${r.naiveMs!.toFixed(0)} | ${r.oursAtNMs!.toFixed(0)} | ${(r.naiveMs! / r.oursAtNMs!).toFixed(1)}× |`);
  }
  const load = os.loadavg()[0];
  out.push("", `load average after: ${load.toFixed(2)}`);
  process.stdout.write(out.join("\n") + "\n");
  writeBenchJson(values.json, rows, { bench: "language-model steps", attention: values.attention });
}

if (values.child) await child(values.child);
else await parent();
