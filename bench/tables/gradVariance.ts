/**
 * Gradient variance of dense, top-k and DynaMoE-percentile models (spec §1 claim 5, §7): trains each
 * with `gradVariance: { every, k }` and prints, per model and measured step, the trace of the
 * mini-batch gradient covariance in total, in the routers, in the experts (or the dense FFNs) and in
 * the rest (embedding, LayerNorms, head), and the variance of the logged training loss.
 *
 *   npm run table:grad-variance -- [--dataset mnist] [--epochs 1] [--every 50] [--k 8] [--seeds 0]
 *                            [--routers topk,percentile] [--out runs/grad-variance] [--jobs 1]
 *
 * Models: `dense`, then one uniform-schedule MoE (E = 8 per layer) per router listed. Each run is a
 * `dynamoe train` process writing its own run folder (finished runs are skipped, killed ones resumed).
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { TrainJob } from "../../src/sweep/runJobs.js";
import { runJobsWithProgress as runJobs } from "../../src/sweep/sweepProgress.js";
import { reportMachineLoad } from "../machine.js";

const { values } = parseArgs({
  options: {
    dataset: { type: "string", default: "mnist" },
    epochs: { type: "string", default: "1" },
    every: { type: "string", default: "50" },
    k: { type: "string", default: "8" },
    seeds: { type: "string", default: "0" },
    routers: { type: "string", default: "topk,percentile" },
    out: { type: "string", default: "runs/grad-variance" },
    jobs: { type: "string", default: "1" },
  },
});

reportMachineLoad();
mkdirSync(values.out!, { recursive: true });
const configFile = join(values.out!, `config-every${values.every}-k${values.k}.json`);
writeFileSync(configFile, JSON.stringify({ gradVariance: { every: Number(values.every), k: Number(values.k) } }) + "\n");

const models = [{ name: "dense", args: ["--model", "dense"] }, ...values.routers!.split(",").map((r) => ({ name: `moe-${r}`, args: ["--model", "moe", "--schedule", "uniform", "--router", r] }))];
type Job = TrainJob & { model: string; seed: number };
const jobs: Job[] = [];
for (const seed of values.seeds!.split(",").map(Number)) {
  for (const m of models) {
    const dir = join(values.out!, `${values.dataset}-${m.name}-e${values.epochs}-every${values.every}-k${values.k}-seed${seed}`);
    jobs.push({ model: m.name, seed, dir, flags: ["--config", configFile, "--dataset", values.dataset!, ...m.args, "--epochs", values.epochs!, "--seed", String(seed)] });
  }
}
await runJobs(jobs, Number(values.jobs));

type Line = { step: number; k: number; total: number; groups: Record<string, number>; lossVariance: number | null };
const part = (l: Line, test: (group: string) => boolean) => Object.entries(l.groups).reduce((a, [g, v]) => (test(g) ? a + v : a), 0);
const isRouter = (g: string) => g.endsWith(".moe.router");
const isExperts = (g: string) => g.endsWith(".moe.experts") || g.endsWith(".ffn");
const e = (x: number | null) => (x === null ? "-" : x.toExponential(3));

const rows = [
  "| model | seed | step | tr Σ total | routers | experts / FFN | embed, norms, head | loss variance (last 20 logged) | test accuracy % |",
  "|---|---|---|---|---|---|---|---|---|",
];
for (const j of jobs) {
  const path = join(j.dir, "grad-variance.jsonl");
  if (!existsSync(join(j.dir, "summary.json")) || !existsSync(path)) continue;
  const acc = (100 * JSON.parse(readFileSync(join(j.dir, "summary.json"), "utf8")).test.accuracy).toFixed(2);
  const lines = readFileSync(path, "utf8").trim().split("\n").map((l) => JSON.parse(l) as Line);
  for (const l of lines) {
    const router = part(l, isRouter);
    const experts = part(l, isExperts);
    rows.push(`| ${j.model} | ${j.seed} | ${l.step} | ${e(l.total)} | ${j.model === "dense" ? "-" : e(router)} | ${e(experts)} | ${e(l.total - router - experts)} | ${e(l.lossVariance)} | ${acc} |`);
  }
}
process.stdout.write(rows.join("\n") + "\n");
