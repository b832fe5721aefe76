/**
 * `npm run bench:dispatch`: median ms of one MoE layer's forward + backward (jit(valueAndGrad)), T=256
 * tokens, d=128, h=128, 8 experts, top-k routing with k = 1, 2, 4, 8: dense-masked against gather
 * dispatch (spec §2.3), as a Markdown table with ratios and the machine's load average.
 *
 *   npm run bench:dispatch -- [--iters 20] [--warmup 3] [--ks 1,2,4,8]
 *
 * Gather rows: `exact` capacity (C = T for top-k: one expert may get every token, so exactness costs
 * a full buffer per expert) and capacity factor `1.25·k` (C = ⌈1.25·k·T/N⌉, drops overflow: not exact
 * under imbalance), each with a loop of N matmuls and with one batched matmul; grouped dispatch
 * (expert-sorted blocks of B rows, exact for any load: `src/moe/groupedDispatch.ts`); and `auto`, the
 * layer's default, which picks among them (`src/moe/dispatchPlan.ts`). Set DYNAMOE_THREADS to
 * choose the wasm thread count (read when the engine loads).
 */
import os from "node:os";
import { parseArgs } from "node:util";
import { initEngine } from "../../src/engine/engine.js";
import { moeLayerPlan, type MoeLayerConfig } from "../../src/moe/moeLayer.js";
import { makeLayerStep } from "./layerStep.js";
import { DEFAULT_ROUTER } from "../../src/moe/routers/registry.js";

const { values } = parseArgs({
  options: {
    iters: { type: "string", default: "20" },
    warmup: { type: "string", default: "3" },
    ks: { type: "string", default: "1,2,4,8" },
  },
});
const [T, D, H, N] = [256, 128, 128, 8];
const ks = values.ks.split(",").map(Number);

type Variant = { name: string; cfg: (k: number) => Partial<MoeLayerConfig> };
const VARIANTS: Variant[] = [
  { name: "dense-masked", cfg: () => ({ dispatch: "dense" }) },
  { name: "gather, exact C=T, loop", cfg: () => ({ dispatch: "gather", capacity: "exact", expertMatmul: "loop" }) },
  { name: "gather, exact C=T, batched", cfg: () => ({ dispatch: "gather", capacity: "exact", expertMatmul: "batched" }) },
  { name: "gather, C=⌈1.25·k·T/N⌉, loop", cfg: (k) => ({ dispatch: "gather", capacity: 1.25 * k, expertMatmul: "loop" }) },
  { name: "gather, C=⌈1.25·k·T/N⌉, batched", cfg: (k) => ({ dispatch: "gather", capacity: 1.25 * k, expertMatmul: "batched" }) },
  { name: "grouped, exact, B=32", cfg: () => ({ dispatch: "grouped", blockSize: 32 }) },
  { name: "auto, exact", cfg: () => ({ dispatch: "auto" }) },
  { name: "auto, C=⌈1.25·k·T/N⌉", cfg: (k) => ({ dispatch: "auto", capacity: 1.25 * k }) },
];

const median = (a: number[]) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function time(cfg: MoeLayerConfig): Promise<number> {
  const step = makeLayerStep(cfg, T);
  const times: number[] = [];
  const warmup = Number(values.warmup);
  for (let i = 0; i < warmup + Number(values.iters); i++) {
    const t0 = performance.now();
    await step.run(i);
    if (i >= warmup) times.push(performance.now() - t0);
  }
  step.dispose();
  return median(times);
}

const engine = await initEngine();
const load0 = os.loadavg();
const ms: number[][] = [];
const plans = new Map<string, string>();
for (const v of VARIANTS) {
  const row: number[] = [];
  for (const k of ks) {
    const cfg: MoeLayerConfig = { d: D, h: H, experts: N, router: { ...DEFAULT_ROUTER, kind: "topk", k }, ...v.cfg(k) };
    row.push(await time(cfg));
    plans.set(`${v.name} ${k}`, moeLayerPlan(cfg, T, true).mode);
  }
  ms.push(row);
}
const load1 = os.loadavg();

const f1 = (v: number) => v.toFixed(1);
const f2 = (v: number) => v.toFixed(2);
const lines = [
  `MoE layer forward+backward, jit(valueAndGrad), T=${T} d=${D} h=${H} N=${N}, top-k router, median of ${values.iters} (warm-up ${values.warmup}), ms`,
  `threads: ${JSON.stringify(engine)}; load average before ${load0.map(f2).join(" ")}, after ${load1.map(f2).join(" ")} (${os.availableParallelism()} cores)`,
  "",
  `| formulation | ${ks.map((k) => `k=${k}`).join(" | ")} |`,
  `|---|${ks.map(() => "---").join("|")}|`,
  ...VARIANTS.map((v, i) => `| ${v.name} | ${ms[i].map((m, j) => (v.name.startsWith("auto") ? `${f1(m)} (${plans.get(`${v.name} ${ks[j]}`)})` : f1(m))).join(" | ")} |`),
];
const k8 = ks.indexOf(8);
for (const [i, v] of VARIANTS.entries()) {
  if (i === 0) continue;
  if (k8 >= 0) lines.push(`| ${v.name}: k / k=8 | ${ms[i].map((m) => f2(m / ms[i][k8])).join(" | ")} |`);
  lines.push(`| ${v.name}: / dense | ${ms[i].map((m, j) => f2(m / ms[0][j])).join(" | ")} |`);
}
lines.push("", "Targets (spec §2.3): dispatch k=1 ≤ 0.35× dispatch k=8; dispatch ≤ dense for k ≤ 4.");
console.log(lines.join("\n"));
