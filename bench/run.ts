/**
 * `npm run bench`: median milliseconds per training step (forward, loss, gradients, clipping and
 * AdamW, one jitted program) for the spec's MNIST models at batch 256, with 1 and 2 wasm threads,
 * plus the cores actually used, peak memory, and the 2-thread / 1-thread ratio.
 *
 *   npm run bench -- [--steps 30] [--warmup 5] [--models dense,moe-uniform,moe-descending]
 *
 * Each (model, threads) pair runs in its own child process (the thread count is fixed when jax-js
 * loads), one after another, so the rows are measured side by side in one run. Inputs are random
 * batches of MNIST's shape; data loading is not timed.
 */
import { spawnSync } from "node:child_process";
import os from "node:os";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    steps: { type: "string", default: "30" },
    warmup: { type: "string", default: "5" },
    models: { type: "string", default: "dense,moe-uniform,moe-descending" },
    child: { type: "string" },
  },
});

type Row = { model: string; threads: number; medianMs: number; p10Ms: number; p90Ms: number; coresUsed: number; peakRssMb: number; compileMs: number };

async function child(model: string): Promise<void> {
  const { initEngine } = await import("../src/engine/engine.js");
  const { numpy: np, random } = await import("../src/engine/jax.js");
  const { initImageModel } = await import("../src/models/imageModel.js");
  const { adamw } = await import("../src/train/adamw.js");
  const { makeTrainStep } = await import("../src/train/trainStep.js");
  const { resolveConfig } = await import("../src/train/config.js");
  const { modelConfigFor } = await import("../src/train/train.js");
  const engine = await initEngine();
  const config = resolveConfig(
    model === "dense" ? { model: "dense" } : { model: "moe", schedule: model === "moe-descending" ? "descending" : "uniform" },
  );
  const mc = modelConfigFor(config, 784, 10);
  let params = initImageModel(random.key(0), mc);
  const opt = adamw({ beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 });
  let state = opt.init(params);
  const step = makeTrainStep(mc, opt, 1.0);
  const B = 256;
  let s = 12345;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296) * 2 - 1;
  const batches = Array.from({ length: 4 }, () => ({ x: Float32Array.from({ length: B * 784 }, rnd), y: Int32Array.from({ length: B }, (_, i) => (i * 7) % 10) }));
  let key = random.key(1);
  const times: number[] = [];
  let compileMs = 0;
  const warmup = Number(values.warmup);
  const total = warmup + Number(values.steps);
  let cpu0 = process.cpuUsage();
  let wall0 = performance.now();
  for (let i = 0; i < total; i++) {
    if (i === warmup) {
      cpu0 = process.cpuUsage();
      wall0 = performance.now();
    }
    const b = batches[i % batches.length];
    const t = performance.now();
    const ks = random.split(key, 2);
    key = ks.ref.slice(0);
    const [p, st, packed] = step(params, state, np.array(b.x).reshape([B, 784]), np.array(b.y, { dtype: np.int32 }), ks.slice(1), np.array(1e-3));
    params = p;
    state = st;
    await packed.data();
    const ms = performance.now() - t;
    if (i === 0) compileMs = ms;
    if (i >= warmup) times.push(ms);
  }
  const cpu = process.cpuUsage(cpu0);
  const wall = performance.now() - wall0;
  times.sort((a, b) => a - b);
  const q = (f: number) => times[Math.min(times.length - 1, Math.floor(f * times.length))];
  const row: Row = {
    model,
    threads: engine.threads,
    medianMs: q(0.5),
    p10Ms: q(0.1),
    p90Ms: q(0.9),
    coresUsed: (cpu.user + cpu.system) / 1000 / wall,
    peakRssMb: process.resourceUsage().maxRSS / 1024,
    compileMs,
  };
  process.stdout.write(JSON.stringify(row) + "\n");
}

async function parent(): Promise<void> {
  const load = os.loadavg()[0];
  process.stderr.write(`machine: ${os.cpus()[0]?.model ?? "?"}, ${os.availableParallelism()} cores, load average ${load.toFixed(2)} before start\n`);
  if (load > 0.5) process.stderr.write("warning: the machine is busy; timings will be noisy\n");
  const rows: Row[] = [];
  for (const model of values.models!.split(",")) {
    for (const threads of [1, 2]) {
      const r = spawnSync(process.execPath, ["--import", "tsx", "bench/run.ts", "--child", model, "--steps", values.steps!, "--warmup", values.warmup!], {
        encoding: "utf8",
        env: { ...process.env, DYNAMOE_THREADS: String(threads) },
      });
      if (r.status !== 0) throw new Error(`bench child ${model}/${threads} failed:\n${r.stderr}`);
      const row = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Row;
      rows.push(row);
      process.stderr.write(`${model} threads=${threads}: ${row.medianMs.toFixed(1)} ms/step\n`);
    }
  }
  const out = [
    `training step, batch 256, spec MNIST models, median of ${values.steps} steps after ${values.warmup} warm-up steps`,
    "",
    "| model | threads | median ms/step | p10–p90 | cores used | first step (compile) ms | peak RSS MB |",
    "|---|---|---|---|---|---|---|",
    ...rows.map((r) => `| ${r.model} | ${r.threads} | ${r.medianMs.toFixed(1)} | ${r.p10Ms.toFixed(1)}–${r.p90Ms.toFixed(1)} | ${r.coresUsed.toFixed(2)} | ${r.compileMs.toFixed(0)} | ${r.peakRssMb.toFixed(0)} |`),
    "",
    "| model | 2-thread / 1-thread time ratio |",
    "|---|---|",
    ...values.models!.split(",").map((m) => {
      const one = rows.find((r) => r.model === m && r.threads === 1)!;
      const two = rows.find((r) => r.model === m && r.threads === 2)!;
      return `| ${m} | ${(two.medianMs / one.medianMs).toFixed(2)} |`;
    }),
    "",
    `load average after: ${os.loadavg()[0].toFixed(2)}`,
  ];
  process.stdout.write(out.join("\n") + "\n");
}

if (values.child) await child(values.child);
else await parent();
