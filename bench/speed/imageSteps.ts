/**
 * `npm run bench`: median milliseconds per training step (forward, loss, gradients, clipping and
 * AdamW) for the spec's MNIST models at batch 256, with 1 and 2 wasm threads, plus the cores
 * actually used, peak memory, and the 2-thread / 1-thread ratio; then each MoE model with
 * dense-masked experts against its `auto` dispatch (spec §2.3), as a ratio; then the native engine
 * (`src/steps/nativeImageStep.ts`, what `dynamoe train` runs by default where it supports the model)
 * against the jax-js step with `auto` dispatch, as a ratio.
 *
 *   npm run bench -- [--steps 30] [--warmup 5] [--models dense,moe-uniform,...] [--threads 1,2]
 *                    [--dispatch dense,auto,native] [--json FILE]
 *
 * `--dispatch native` stands for the native engine, on `--threads` threads (its own kernel pool; the
 * jitted rows run jax-js's worker pool with that many threads).
 *
 * Models: `dense`, `moe-<schedule>` (the percentile router), `moe-<router>` for every router kind
 * (uniform schedule), `moe-top<k>` (top-k with that k: `moe-top1` against `moe-top8` is how compute
 * follows routing, all four MoE layers at k = 1 or at k = 8 of 8; with both, a table of the ratio).
 * `--json FILE` writes the rows and every ratio there too (`bench/machine.ts`).
 *
 * `npm run bench` alone then runs the language-model table (`bench/speed/lm.ts`, defaults); with `--models` only
 * the image table. `npm run bench -- --peer pytorch [...]` runs the comparison with PyTorch instead
 * (`bench/peer/peer.ts`, which reads the rest of the arguments).
 *
 * Each (model, threads) pair runs in its own child process (the thread count is fixed when jax-js
 * loads), one after another, so the rows are measured side by side in one run. Inputs are random
 * batches of MNIST's shape; data loading is not timed.
 */
import { spawnSync } from "node:child_process";
import os from "node:os";
import { parseArgs } from "node:util";
import { reportMachineLoad, writeBenchJson } from "../machine.js";
import { modelConfig } from "../models.js";

/** `--peer pytorch`: the comparison of `bench/peer/peer.ts`, which parses the arguments itself. */
const PEER = process.argv.slice(2).some((a) => a === "--peer" || a.startsWith("--peer="));

const { values } = parseArgs({
  args: PEER ? [] : process.argv.slice(2),
  options: {
    steps: { type: "string", default: "30" },
    warmup: { type: "string", default: "5" },
    models: { type: "string" },
    threads: { type: "string", default: "1,2" },
    dispatch: { type: "string", default: "dense,auto,native" },
    child: { type: "string" },
    "child-dispatch": { type: "string" },
    json: { type: "string" },
  },
});

const DEFAULT_MODELS = "dense,moe-uniform,moe-descending,moe-switch,moe-top1";

type Row = { model: string; dispatch: string; plan: string; threads: number; medianMs: number; p10Ms: number; p90Ms: number; coresUsed: number; peakRssMb: number; compileMs: number };

async function child(model: string, dispatch: string): Promise<void> {
  const { initEngine } = await import("../../src/engine/engine.js");
  const { random } = await import("../../src/engine/jax.js");
  const { initImageModel } = await import("../../src/models/imageModel.js");
  const { splitKeyOnHost } = await import("../../src/engine/seedKey.js");
  const { adamw } = await import("../../src/steps/adamw.js");
  const { makeTrainer, nativeUnsupported } = await import("../../src/steps/makeTrainer.js");
  const { resolveConfig } = await import("../../src/train/config.js");
  const { modelConfigFor, dispatchLabels } = await import("../../src/train/train.js");
  const engine = await initEngine();
  const isNative = dispatch === "native";
  const config = resolveConfig(modelConfig(model, isNative ? "auto" : dispatch));
  const mc = modelConfigFor(config, 784, 10);
  if (isNative && nativeUnsupported(mc, engine.device)) {
    process.stdout.write(JSON.stringify({ skip: nativeUnsupported(mc, engine.device) }) + "\n");
    return;
  }
  const params = initImageModel(random.key(0), mc);
  const hyper = { beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0.01 };
  const B = 256;
  let s = 12345;
  const rnd = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 4294967296) * 2 - 1;
  const batches = Array.from({ length: 4 }, () => ({ x: Float32Array.from({ length: B * 784 }, rnd), y: Int32Array.from({ length: B }, (_, i) => (i * 7) % 10) }));
  const trainer = await makeTrainer(
    mc, { engine: isNative ? "native" : "jax", device: engine.device, batch: B, adam: hyper, clip: 1.0 },
    params, adamw(hyper).init(params), (_order, i) => batches[i % batches.length],
  );
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
    const t = performance.now();
    const [next, sub] = await splitKeyOnHost(key); // as the training loop splits its key
    key = next;
    await trainer.step(new Int32Array(0), i, sub, 1e-3);
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
    dispatch: model === "dense" && !isNative ? "-" : dispatch,
    plan: isNative ? "native step" : dispatchLabels(mc, B).join("; ") || "-",
    threads: trainer.threads,
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
  reportMachineLoad();
  const rows: Row[] = [];
  const models = (values.models ?? DEFAULT_MODELS).split(",");
  const threadList = values.threads!.split(",").map(Number);
  const dispatches = values.dispatch!.split(",");
  for (const model of models) {
    for (const dispatch of model === "dense" ? ["dense", ...(dispatches.includes("native") ? ["native"] : [])] : dispatches) {
      for (const threads of threadList) {
        const args = ["--import", "tsx", "bench/speed/imageSteps.ts", "--child", model, "--child-dispatch", dispatch, "--steps", values.steps!, "--warmup", values.warmup!];
        const r = spawnSync(process.execPath, args, { encoding: "utf8", env: { ...process.env, DYNAMOE_THREADS: String(threads) } });
        if (r.status !== 0) throw new Error(`bench child ${model}/${dispatch}/${threads} failed:\n${r.stderr}`);
        const row = JSON.parse(r.stdout.trim().split("\n").at(-1)!) as Row | { skip: string };
        if ("skip" in row) {
          process.stderr.write(`${model}: no native step (${row.skip})\n`);
          break;
        }
        rows.push(row);
        process.stderr.write(`${model} dispatch=${row.dispatch} threads=${threads}: ${row.medianMs.toFixed(1)} ms/step\n`);
      }
    }
  }
  /** Every ratio the tables print, for `--json`. */
  const ratios: { ratio: string; model: string; dispatch?: string; threads?: number; value: number }[] = [];
  const find = (m: string, d: string, t: number) => rows.find((r) => r.model === m && (m === "dense" && d !== "native" ? r.dispatch === "-" : r.dispatch === d) && r.threads === t);
  const out = [
    `training step, batch 256, spec MNIST models, median of ${values.steps} steps after ${values.warmup} warm-up steps`,
    "",
    "| model | dispatch | plan per layer | threads | median ms/step | p10–p90 | cores used | first step (compile) ms | peak RSS MB |",
    "|---|---|---|---|---|---|---|---|---|",
    ...rows.map(
      (r) =>
        `| ${r.model} | ${r.dispatch} | ${r.plan} | ${r.threads} | ${r.medianMs.toFixed(1)} | ${r.p10Ms.toFixed(1)}–${r.p90Ms.toFixed(1)} | ${r.coresUsed.toFixed(2)} | ${r.compileMs.toFixed(0)} | ${r.peakRssMb.toFixed(0)} |`,
    ),
  ];
  if (threadList.includes(1) && threadList.includes(2)) {
    out.push("", "| model | dispatch | 2-thread / 1-thread time ratio |", "|---|---|---|");
    for (const r of rows.filter((r) => r.threads === 1)) {
      const two = find(r.model, r.dispatch, 2);
      if (!two) continue;
      out.push(`| ${r.model} | ${r.dispatch} | ${(two.medianMs / r.medianMs).toFixed(2)} |`);
      ratios.push({ ratio: "2 threads / 1 thread", model: r.model, dispatch: r.dispatch, value: two.medianMs / r.medianMs });
    }
  }
  if (dispatches.includes("dense") && dispatches.includes("auto")) {
    out.push("", "| model | threads | auto / dense-masked time ratio |", "|---|---|---|");
    for (const m of models.filter((m) => m !== "dense")) {
      for (const t of threadList) {
        const [d, a] = [find(m, "dense", t), find(m, "auto", t)];
        if (!d || !a) continue;
        out.push(`| ${m} | ${t} | ${(a.medianMs / d.medianMs).toFixed(2)} |`);
        ratios.push({ ratio: "auto / dense-masked", model: m, threads: t, value: a.medianMs / d.medianMs });
      }
    }
  }
  if (dispatches.includes("native") && dispatches.some((d) => d !== "native")) {
    out.push("", "| model | threads (jitted step) | native / jitted step time ratio (jitted: auto dispatch) |", "|---|---|---|");
    for (const m of models) {
      for (const t of threadList) {
        const [j, n] = [find(m, m === "dense" ? "dense" : "auto", t), find(m, "native", t)];
        if (!j || !n) continue;
        out.push(`| ${m} | ${t} | ${(n.medianMs / j.medianMs).toFixed(2)} |`);
        ratios.push({ ratio: "native / jitted", model: m, threads: t, value: n.medianMs / j.medianMs });
      }
    }
  }
  // Compute follows routing: every top-k model against top-8 (all 8 experts), same dispatch and threads.
  const topK = rows.filter((r) => /^moe-top\d+$/.test(r.model) && r.model !== "moe-top8");
  const all8 = topK.map((r) => [r, find("moe-top8", r.dispatch, r.threads)] as const).filter(([, e]) => e !== undefined);
  if (all8.length) {
    out.push("", "| model | dispatch | threads | step time / moe-top8's (compute follows routing) |", "|---|---|---|---|");
    for (const [r, e] of all8) {
      out.push(`| ${r.model} | ${r.dispatch} | ${r.threads} | ${(r.medianMs / e!.medianMs).toFixed(2)} |`);
      ratios.push({ ratio: "top-k / top-8", model: r.model, dispatch: r.dispatch, threads: r.threads, value: r.medianMs / e!.medianMs });
    }
  }
  out.push("", `load average after: ${os.loadavg()[0].toFixed(2)}`);
  process.stdout.write(out.join("\n") + "\n");
  writeBenchJson(values.json, [...rows, ...ratios], { bench: "image steps", steps: Number(values.steps), warmup: Number(values.warmup) });
}

if (PEER) {
  await (await import("../peer/peer.js")).runPeer(process.argv.slice(2));
} else if (values.child) {
  await child(values.child, values["child-dispatch"] ?? "auto");
} else {
  await parent();
  if (values.models === undefined) {
    const lm = spawnSync(process.execPath, ["--import", "tsx", "bench/speed/lm.ts"], { stdio: "inherit" });
    if (lm.status !== 0) process.exitCode = lm.status ?? 1;
  }
}
