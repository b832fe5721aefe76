/**
 * The language-model table: validation perplexity of dense, DynaMoE uniform, descending and
 * ascending, without and with attention, on one corpus and scale (default: SOTU, Tiny, 1 epoch,
 * seed 0), as a Markdown table beside the paper's Tiny numbers (which are on Recycling-the-Web).
 *
 *   npm run table:lm -- [--corpus sotu] [--scale tiny] [--seed 0] [--jobs 2] [--out runs/lm-table]
 *                       [--max-steps N] [--eval-limit SEQUENCES] [--attention no|yes|both]
 *                       [--models dense,moe-uniform,moe-descending,moe-ascending] [--epochs 1]
 *
 * Runs are `dynamoe train --task lm` processes (`src/sweep/runJobs.ts`): re-running the command skips finished
 * runs and resumes killed ones. `--max-steps` / `--eval-limit` make a cheaper, partial table; the
 * table says so in its steps column. `--epochs N` trains longer (the default table is 1 epoch; use
 * another `--out`); each run's metrics.jsonl then has a validation line at the end of every epoch.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import type { TrainJob } from "../../src/sweep/runJobs.js";
import { runJobsWithProgress as runJobs } from "../../src/sweep/sweepProgress.js";

const { values } = parseArgs({
  options: {
    corpus: { type: "string", default: "sotu" },
    scale: { type: "string", default: "tiny" },
    seed: { type: "string", default: "0" },
    jobs: { type: "string", default: "2" },
    out: { type: "string", default: "runs/lm-table" },
    "max-steps": { type: "string" },
    epochs: { type: "string", default: "1" },
    "eval-limit": { type: "string" },
    /** Which half of the table to run and print: no, yes or both. */
    attention: { type: "string", default: "both" },
    /** Which rows to run and print (default: all four). */
    models: { type: "string" },
  },
});

/** Paper, Tiny scale, on Recycling-the-Web (spec §1 claim 4); the dense MLP's number is not known. */
const PAPER: Record<string, Record<string, string>> = {
  tiny: { "moe-descending": "1011.80", "moe-uniform": "1078.31", dense: "better than descending (no number)" },
  small: { "moe-ascending": "2308.29", dense: "2311.02" },
  medium: { "moe-uniform": "best (no number)" },
};

const ALL_MODELS = [
  { name: "dense", flags: ["--model", "dense"] },
  { name: "moe-uniform", flags: ["--model", "moe", "--schedule", "uniform"] },
  { name: "moe-descending", flags: ["--model", "moe", "--schedule", "descending"] },
  { name: "moe-ascending", flags: ["--model", "moe", "--schedule", "ascending"] },
];
const MODELS = values.models ? values.models.split(",").map((name) => ALL_MODELS.find((m) => m.name === name) ?? fail(name)) : ALL_MODELS;
function fail(name: string): never {
  console.error(`lm-table: unknown model ${name}; one of ${ALL_MODELS.map((m) => m.name).join(", ")}`);
  process.exit(1);
}

const extra = [
  ...(values["max-steps"] ? ["--max-steps", values["max-steps"]] : []),
  ...(values["eval-limit"] ? ["--eval-limit", values["eval-limit"]] : []),
];
const rows: { model: string; attention: boolean; dir: string }[] = [];
const jobs: TrainJob[] = [];
const halves = { no: [false], yes: [true], both: [false, true] }[values.attention!];
if (!halves) throw new Error(`--attention must be no, yes or both, got ${values.attention}`);
for (const attention of halves) {
  for (const m of MODELS) {
    const dir = join(values.out!, `${values.corpus}-${values.scale}-${m.name}${attention ? "-attn" : ""}-seed${values.seed}`);
    const flags = ["--task", "lm", "--corpus", values.corpus!, "--scale", values.scale!, ...m.flags, "--epochs", values.epochs!, "--seed", values.seed!, ...extra];
    if (attention) flags.push("--attention");
    jobs.push({ dir, flags });
    rows.push({ model: m.name, attention, dir });
  }
}
// Run each model's two halves side by side, so the attention comparison arrives pair by pair.
await runJobs(MODELS.flatMap((_, i) => halves.map((_, h) => jobs[h * MODELS.length + i])), Number(values.jobs));

const paper = PAPER[values.scale!] ?? {};
const out = [
  `${values.corpus}, ${values.scale}, seed ${values.seed}; validation split of the corpus (10% of documents). Paper column: Recycling-the-Web, another corpus.`,
  "",
  `| model | attention | params (without embeddings) | experts/layer | validation ppl | next-token acc % | active experts/layer | steps (of ${values.epochs === "1" ? "1 epoch" : `${values.epochs} epochs`}) | validation tokens | ms/step | paper ppl |`,
  "|---|---|---|---|---|---|---|---|---|---|---|",
];
for (const r of rows) {
  const path = join(r.dir, "summary.json");
  if (!existsSync(path)) {
    out.push(`| ${r.model} | ${r.attention ? "yes" : "no"} | (not finished: ${r.dir}) |  |  |  |  |  |  |  |  |`);
    continue;
  }
  const s = JSON.parse(readFileSync(path, "utf8"));
  const cfg = JSON.parse(readFileSync(join(r.dir, "config.json"), "utf8"));
  const epochSteps = Number(values.epochs) * Math.floor(Number(JSON.parse(readFileSync(join(r.dir, "split.json"), "utf8")).trainTokens - 1) / cfg.context / cfg.batchSize);
  out.push(
    `| ${r.model} | ${r.attention ? "yes" : "no"} | ${s.params.toLocaleString("en-US")} (${s.paramsNonEmbedding.toLocaleString("en-US")}) | ${s.experts.join(", ") || "-"} | ${s.test.perplexity.toFixed(1)} | ${(100 * s.test.accuracy).toFixed(2)} | ${s.meanActive.map((a: number) => a.toFixed(2)).join(", ") || "-"} | ${s.steps} (of ${epochSteps}) | ${s.test.n.toLocaleString("en-US")} | ${s.medianStepMs.toFixed(0)} | ${r.attention ? "-" : paper[r.model] ?? "-"} |`,
  );
}
process.stdout.write(out.join("\n") + "\n");
