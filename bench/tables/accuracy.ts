/**
 * The vertical slice's accuracy check: dense, DynaMoE uniform and DynaMoE descending, seeds 0, 1, 2,
 * with the spec's defaults, on MNIST (3 epochs), Fashion-MNIST (3 epochs) and CIFAR-10 (10 epochs).
 * Prints a Markdown table of mean ± std test accuracy.
 *
 *   npm run table:accuracy -- [--jobs 2] [--out runs/accuracy] [--datasets mnist,fashion-mnist,cifar10] [--seeds 0,1,2]
 *   npm run table:accuracy -- --routers topk,switch,gshard --datasets mnist --seeds 0   (one MoE per router)
 *   npm run table:accuracy -- --engine jax   (the jax-js step instead of `auto`, e.g. to reproduce
 *                                            tables measured before the native step existed)
 *
 * Each run is a separate `dynamoe train` process (one wasm thread each, `--jobs` at once) writing its
 * own run folder; finished runs (with summary.json) are skipped, killed ones are resumed, so the
 * command can be re-run after an interruption.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { runJobsWithProgress as runJobs } from "../../src/sweep/sweepProgress.js";

const { values } = parseArgs({
  options: {
    jobs: { type: "string", default: "2" },
    out: { type: "string", default: "runs/accuracy" },
    datasets: { type: "string", default: "mnist,fashion-mnist,cifar10" },
    seeds: { type: "string", default: "0,1,2" },
    /** Instead of dense/uniform/descending: one uniform-schedule MoE per router kind listed. */
    routers: { type: "string" },
    engine: { type: "string", default: "auto" },
  },
});

const EPOCHS: Record<string, number> = { mnist: 3, "fashion-mnist": 3, cifar10: 10 };
const TARGET: Record<string, number> = { mnist: 97.5, "fashion-mnist": 87.5, cifar10: 53 };
const MODELS = values.routers
  ? values.routers.split(",").map((r) => ({ name: `moe-${r}`, args: ["--model", "moe", "--schedule", "uniform", "--router", r] }))
  : [
      { name: "dense", args: ["--model", "dense"] },
      { name: "moe-uniform", args: ["--model", "moe", "--schedule", "uniform"] },
      { name: "moe-descending", args: ["--model", "moe", "--schedule", "descending"] },
    ];

type Job = { dataset: string; model: string; seed: number; dir: string; flags: string[] };
const jobs: Job[] = [];
for (const dataset of values.datasets!.split(",")) {
  for (const seed of values.seeds!.split(",").map(Number)) {
    for (const m of MODELS) {
      const dir = join(values.out!, `${dataset}-${m.name}-seed${seed}`);
      const flags = ["--dataset", dataset, ...m.args, "--epochs", String(EPOCHS[dataset]), "--seed", String(seed), "--engine", values.engine!];
      jobs.push({ dataset, model: m.name, seed, dir, flags });
    }
  }
}

await runJobs(jobs, Number(values.jobs));

const stat = (xs: number[]) => {
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1)) : 0;
  return { m, sd };
};
const rows = ["| dataset | model | params | test accuracy % (mean ± std) | n | per seed | active experts/layer | dropped assignments/token (test, per layer) | ms/step | dispatch (train step, per layer) | target |", "|---|---|---|---|---|---|---|---|---|---|---|"];
for (const dataset of values.datasets!.split(",")) {
  for (const m of MODELS) {
    const done = jobs
      .filter((j) => j.dataset === dataset && j.model === m.name && existsSync(join(j.dir, "summary.json")))
      .map((j) => JSON.parse(readFileSync(join(j.dir, "summary.json"), "utf8")));
    if (done.length === 0) continue;
    const acc = stat(done.map((s) => 100 * s.test.accuracy));
    const ms = stat(done.map((s) => s.medianStepMs));
    const active = done[0].meanActive.length ? done[0].meanActive.map((a: number) => a.toFixed(2)).join(", ") : "-";
    const routing = done[0].test.routing as { dropRate: number }[] | undefined;
    const drops = routing?.length ? routing.map((r) => r.dropRate.toFixed(3)).join(", ") : "-";
    const per = done.map((s) => (100 * s.test.accuracy).toFixed(2)).join(", ");
    const ok = acc.m >= TARGET[dataset] ? "met" : "MISSED";
    const plan = (done[0].dispatch as string[] | undefined)?.length ? [...new Set(done[0].dispatch as string[])].join("; ") : "-";
    rows.push(`| ${dataset} | ${m.name} | ${done[0].params.toLocaleString("en-US")} | ${acc.m.toFixed(2)} ± ${acc.sd.toFixed(2)} | ${done.length} | ${per} | ${active} | ${drops} | ${ms.m.toFixed(0)} | ${plan} | ≥ ${TARGET[dataset]} ${ok} |`);
  }
}
process.stdout.write(rows.join("\n") + "\n");
