/**
 * The report's content, computed from a collection: the claims with verdicts, the results table,
 * the charts (rendered to SVG with `renderChart.ts`) and every run's command and configuration.
 * `reportHtml.ts` and `reportMarkdown.ts` lay the same content out.
 */
import type { TopLevelSpec } from "vega-lite";
import { evaluateClaims, type Claim } from "./claims.js";
import { quickReasons, type BucketRow, type Collection, type RunGroup } from "./collect.js";
import { groupLabel, labelKeys } from "./groupRuns.js";
import { kHistogramsSpec } from "./kHistogramsChart.js";
import { learningCurveSpec, type BandPoint } from "./learningCurveChart.js";
import { seriesBand, type MeanStd } from "./meanStd.js";
import { frequencySpec, type BucketPoint } from "./frequencyChart.js";
import { metricVsCostSpec, type MetricPoint } from "./metricVsCostChart.js";
import { renderSvg } from "./renderChart.js";
import { routerComparisons, routerTableNote, routerTableRows, K_VARIES_SHARE } from "./routerComparison.js";
import { routerParetoSpec, type RouterPoint } from "./routerParetoChart.js";

/** A rendered chart with the Vega-Lite spec it was drawn from. */
export type Chart = { id: string; title: string; caption: string; svg: string; spec: TopLevelSpec };

/** A table in a section: rows of plain text, header first (the HTML and Markdown forms escape them), and a line under it. */
export type ReportTable = { rows: string[][]; note: string };

export type ReportSection = { id: string; title: string; intro: string; charts: Chart[]; tables?: ReportTable[] };

export type RunEntry = { name: string; dir: string; status: string; group: string; command: string; config: string; problems: string[] };

export type Report = {
  title: string;
  root: string;
  generated: string;
  /** Set when any run was quick or partial: the banner every section repeats. */
  quickBanner: string | null;
  claims: Claim[];
  collection: Collection;
  sections: ReportSection[];
  runs: RunEntry[];
};

export const QUICK_BANNER = "quick run: fewer steps, not the paper's settings";

/** The command that re-runs a run folder exactly: its saved config is the resolved configuration. */
export function runCommand(dir: string, finished: boolean): string {
  const q = (s: string) => (/^[\w./@:+-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
  return finished ? `dynamoe train --config ${q(`${dir}/config.json`)} --out ${q(dir)}` : `dynamoe train --resume ${q(dir)}`;
}

const slug = (s: string) => s.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");

/** Labels made from the keys that vary within `groups` only (shorter than the collection-wide labels). */
function localLabels(groups: RunGroup[]): Map<RunGroup, string> {
  const keys = labelKeys(groups.map((g) => g.config));
  return new Map(groups.map((g) => [g, groupLabel(g.config, keys)]));
}

async function chart(id: string, title: string, caption: string, spec: TopLevelSpec): Promise<Chart> {
  return { id, title, caption, svg: await renderSvg(spec), spec };
}

/** The charts of one task and dataset: metric vs FLOPs and vs parameters, and the training-loss curves. */
async function familySection(task: "image" | "lm", data: string, groups: RunGroup[]): Promise<ReportSection> {
  const lm = task === "lm";
  const done = groups.filter((g) => g.runs.length > 0);
  const label = localLabels(done);
  const metric = (g: RunGroup) => (lm ? g.perplexity! : g.accuracy);
  const metricTitle = lm ? "validation perplexity (mean ± std)" : "test accuracy % (mean ± std)";
  const points = (cost: (g: RunGroup) => number | null): MetricPoint[] =>
    done
      .filter((g) => metric(g).mean !== null && cost(g) !== null)
      .map((g) => ({ group: label.get(g)!, cost: cost(g)!, mean: metric(g).mean!, std: metric(g).std, n: metric(g).n }));
  const base = `${task}-${slug(data)}`;
  const paramsOf = (g: RunGroup) => (lm ? g.paramsNonEmbedding : g.params);
  const paramsTitle = lm ? "parameters without embeddings" : "parameters";
  const curve: BandPoint[] = done.flatMap((g) =>
    seriesBand(g.curves.map((c) => c.points.map((p) => ({ x: p.step, y: p.loss })))).map((p) => ({ group: label.get(g)!, step: p.x, mean: p.mean, std: p.std, n: p.n })),
  );
  const charts = [
    await chart(`${base}-vs-flops`, `${data}: ${lm ? "perplexity" : "accuracy"} vs active FLOPs per token`, "Each point a group; the vertical bar spans ± one sample std over seeds. FLOPs: the FFN/MoE layers' multiply-adds per token on the test set.",
      metricVsCostSpec(`${data}: ${lm ? "perplexity" : "accuracy"} vs active FLOPs/token`, points((g) => g.activeFlops.mean), "active FLOPs per token (FFN/MoE layers)", metricTitle)),
    await chart(`${base}-vs-params`, `${data}: ${lm ? "perplexity" : "accuracy"} vs ${paramsTitle}`, "Each point a group; the vertical bar spans ± one sample std over seeds.",
      metricVsCostSpec(`${data}: ${lm ? "perplexity" : "accuracy"} vs ${paramsTitle}`, points(paramsOf), paramsTitle, metricTitle)),
    await chart(`${base}-learning-curves`, `${data}: training loss`, "Training loss per logged window: the line is the mean over seeds, the band ± one sample std (no band for one seed).",
      learningCurveSpec(`${data}: training loss (mean ± std over seeds)`, curve, "training loss")),
  ];
  return { id: base, title: `${lm ? "Language model" : "Images"}: ${data}`, intro: `${done.length} group(s) with finished runs.`, charts };
}

/**
 * Routers compared (issue 21), one section per dataset with `routers-*` runs: test accuracy against
 * active FLOPs per token with the Pareto front, and the table of `routerComparison.ts`.
 */
async function routersSections(c: Collection): Promise<ReportSection[]> {
  const sections: ReportSection[] = [];
  for (const cmp of routerComparisons(c)) {
    const points: RouterPoint[] = cmp.rows
      .filter((r) => r.testAccuracy.mean !== null && r.activeFlops.mean !== null)
      .map((r) => ({ router: r.router, cost: r.activeFlops.mean!, costStd: r.activeFlops.std, mean: r.testAccuracy.mean!, std: r.testAccuracy.std, n: r.testAccuracy.n, front: r.onFront }));
    const id = `routers-${slug(cmp.dataset)}`;
    const front = cmp.rows.filter((r) => r.onFront).map((r) => r.router);
    const varies = cmp.rows.filter((r) => r.kVaries).map((r) => r.router);
    const charts = [
      await chart(`${id}-pareto`, `${cmp.dataset}: routers, test accuracy vs active FLOPs per token`,
        "Each router a point at its mean over seeds; the vertical bar spans ± one sample std of the test accuracy, the horizontal bar ± one std of the FLOPs where they vary over seeds. The dashed line is the Pareto front of the means: no other router is at least as accurate for at most that compute.",
        routerParetoSpec(`${cmp.dataset}: routers, test accuracy vs active FLOPs/token`, points, "active FLOPs per token (FFN/MoE layers)", "test accuracy % (mean ± std)")),
    ];
    const intro =
      `${cmp.rows.length} routing rule(s) at the same settings, ${points.length} with finished runs. ` +
      `Pareto front (test accuracy for compute): ${front.join(", ") || "-"}. ` +
      `k varies per token (more than ${100 * K_VARIES_SHARE}% of some layer's tokens off its most common k): ${varies.join(", ") || "none"}.`;
    sections.push({ id, title: `Routers compared: ${cmp.dataset}`, intro, charts, tables: [{ rows: routerTableRows(cmp), note: routerTableNote() }] });
  }
  return sections;
}

/** k-histograms of every MoE group with routing analytics. */
async function routingSection(groups: RunGroup[]): Promise<ReportSection | null> {
  const moe = groups.filter((g) => g.kHistograms.length > 0);
  if (moe.length === 0) return null;
  const charts: Chart[] = [];
  for (const data of [...new Set(moe.map((g) => g.data))]) {
    const here = moe.filter((g) => g.data === data);
    const label = localLabels(here);
    for (const g of here) {
      const name = `${data}, ${label.get(g)}`;
      charts.push(await chart(`khist-${charts.length}-${slug(name)}`, name, `Fraction of test tokens with k experts active, per layer; mean over ${g.runs.length} seed(s).`, kHistogramsSpec(`${name}: experts active per token`, g.kHistograms)));
    }
  }
  return { id: "routing", title: "Experts active per token (k-histograms)", intro: "A single bar per layer means a fixed number of experts per token in that layer.", charts };
}

/** Gradient variance over training, per dataset, where runs have `grad-variance.jsonl`. */
async function gradVarianceSection(groups: RunGroup[]): Promise<ReportSection | null> {
  const withGv = groups.filter((g) => g.gradVariance.length > 0);
  if (withGv.length === 0) return null;
  const charts: Chart[] = [];
  for (const data of [...new Set(withGv.map((g) => g.data))]) {
    const here = withGv.filter((g) => g.data === data);
    const label = localLabels(here);
    const points: BandPoint[] = here.flatMap((g) => seriesBand(g.gradVariance.map((s) => s.lines.map((l) => ({ x: l.step, y: l.total })))).map((p) => ({ group: label.get(g)!, step: p.x, mean: p.mean, std: p.std, n: p.n })));
    const positive = points.every((p) => p.mean - (p.std ?? 0) > 0);
    charts.push(await chart(`grad-variance-${slug(data)}`, `${data}: gradient variance`, "Trace of the gradient covariance over K mini-batches at the same parameters (grad-variance.jsonl), mean ± std over seeds.",
      learningCurveSpec(`${data}: gradient variance (total, mean ± std over seeds)`, points, "gradient variance (trace)", positive)));
  }
  return { id: "grad-variance", title: "Gradient variance over training", intro: "From each run's grad-variance.jsonl.", charts };
}

/**
 * Language models by token frequency, per corpus and scale: active experts per input token (summed
 * over the MoE layers) and validation loss per target token, each against how common the token is.
 */
async function frequencySection(groups: RunGroup[]): Promise<ReportSection | null> {
  const withRows = groups.filter((g) => g.task === "lm" && g.byFrequency.length > 0);
  if (withRows.length === 0) return null;
  const charts: Chart[] = [];
  for (const family of [...new Set(withRows.map(familyName))]) {
    const here = withRows.filter((g) => familyName(g) === family);
    const label = localLabels(here);
    const points = (rows: (g: RunGroup) => BucketRow[], pick: (b: BucketRow) => MeanStd, only: (g: RunGroup) => boolean): BucketPoint[] =>
      here.filter(only).flatMap((g) => rows(g).filter((b) => pick(b).mean !== null).map((b) => ({ group: label.get(g)!, bucket: b.bucket, mean: pick(b).mean!, std: pick(b).std, n: pick(b).n })));
    const buckets = [...new Set(here.flatMap((g) => g.byFrequency.map((b) => b.bucket)))];
    const moe = points((g) => g.byFrequency, (b) => b.active, (g) => g.model === "moe");
    if (moe.length) {
      charts.push(await chart(`frequency-active-${slug(family)}`, `${family}: active experts by token frequency`, "Active experts per validation token, summed over the MoE layers, by the input token's frequency rank in the training text (mean ± std over seeds). A flat line is a router that gives every token the same compute.",
        frequencySpec(`${family}: active experts per token by frequency`, moe, buckets, "active experts per token (all MoE layers)")));
    }
    charts.push(await chart(`frequency-loss-${slug(family)}`, `${family}: validation loss by token frequency`, "Mean validation loss of target tokens by their frequency rank in the training text (mean ± std over seeds).",
      frequencySpec(`${family}: validation loss by token frequency`, points((g) => g.byFrequency, (b) => b.loss, () => true), buckets, "validation loss (nats)")));
    const byLoss = points((g) => g.byLoss, (b) => b.active, (g) => g.model === "moe");
    if (byLoss.length) {
      const quantiles = [...new Set(here.flatMap((g) => g.byLoss.map((b) => b.bucket)))];
      charts.push(await chart(`loss-active-${slug(family)}`, `${family}: active experts by loss`, "Active experts per validation position, summed over the MoE layers, by the quantile of that position's next-token loss (0–20%: the fifth with the lowest loss; mean ± std over seeds). A line rising to the right gives the harder positions more compute.",
        frequencySpec(`${family}: active experts per position by loss quantile`, byLoss, quantiles, "active experts per position (all MoE layers)", "quantile of the position's validation loss (lowest first)")));
    }
  }
  return { id: "by-frequency", title: "Language models by token frequency and by loss", intro: "The paper's premise is that harder tokens need more experts; rare tokens are the hard ones here (their loss is highest). The last chart of each scale ranks positions by their own loss.", charts };
}

/** The family a group is charted in: its dataset, and for a language model its corpus and scale. */
function familyName(g: RunGroup): string {
  return g.task === "lm" && g.config.scale !== undefined ? `${g.data}, ${String(g.config.scale)}` : g.data;
}

/** Build the whole report for a collection (renders every chart). */
export async function buildReport(c: Collection, now = new Date()): Promise<Report> {
  const families = new Map<string, RunGroup[]>();
  for (const g of c.groups) families.set(`${g.task}\u0000${familyName(g)}`, [...(families.get(`${g.task}\u0000${familyName(g)}`) ?? []), g]);
  const sections: ReportSection[] = [];
  for (const [key, groups] of families) {
    const [task, data] = key.split("\u0000") as ["image" | "lm", string];
    if (groups.some((g) => g.runs.length > 0)) sections.push(await familySection(task, data, groups));
  }
  sections.push(...(await routersSections(c)));
  for (const s of [await frequencySection(c.groups), await routingSection(c.groups), await gradVarianceSection(c.groups)]) if (s) sections.push(s);
  const groupOf = new Map(c.groups.flatMap((g) => [...g.runs, ...g.unfinished].map((r) => [r.dir, g.label] as const)));
  const runs: RunEntry[] = c.runs.map((r) => {
    const quick = quickReasons(r);
    const status = r.summary ? `finished, ${r.summary.steps} steps${quick.length ? ` (quick: ${quick.join(", ")})` : ""}` : `unfinished (no summary.json; ${r.train.at(-1)?.step ?? 0} steps logged)`;
    return { name: r.name, dir: r.dir, status, group: groupOf.get(r.dir) ?? "", command: runCommand(r.dir, r.summary !== null), config: JSON.stringify(r.config, null, 2), problems: r.problems };
  });
  return {
    title: `DynaMoE results: ${c.root}`,
    root: c.root,
    generated: now.toISOString(),
    quickBanner: c.quick.quick ? `${QUICK_BANNER} (${c.quick.reasons.join("; ")})` : null,
    claims: evaluateClaims(c),
    collection: c,
    sections,
    runs,
  };
}
