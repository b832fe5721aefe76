/**
 * The results table of a collection, one row per group: as CSV (raw numbers, through
 * `csv-stringify`), as an aligned terminal table and as a Markdown table (formatted numbers).
 */
import { stringify } from "csv-stringify/sync";
import type { Collection, RunGroup } from "./collect.js";
import { formatMeanStd, type MeanStd } from "./meanStd.js";

/** `1,163,914`; `-` for none. */
export const formatInt = (v: number | null | undefined): string => (v === null || v === undefined || !Number.isFinite(v) ? "-" : Math.round(v).toLocaleString("en-US"));

/** `12.3K`, `4.56M`: FLOPs at a glance. */
export function formatCompact(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "-";
  if (v >= 1e9) return (v / 1e9).toFixed(2) + "G";
  if (v >= 1e6) return (v / 1e6).toFixed(2) + "M";
  if (v >= 1e3) return (v / 1e3).toFixed(1) + "K";
  return v.toFixed(0);
}

const meanOnly = (m: MeanStd, digits = 0): string => (m.mean === null ? "-" : digits === 0 ? formatInt(m.mean) : m.mean.toFixed(digits));

/** The metric column's title for a collection: image accuracy, LM next-token accuracy, or both. */
function accuracyTitle(c: Collection): string {
  const tasks = new Set(c.groups.map((g) => g.task));
  if (tasks.size === 2) return "accuracy % (test / next-token)";
  return tasks.has("lm") ? "next-token accuracy %" : "test accuracy %";
}

/** Formatted rows (header first) shared by the terminal and Markdown tables. */
export function tableRows(c: Collection): string[][] {
  const lm = c.groups.some((g) => g.task === "lm");
  const val = c.groups.some((g) => g.validationAccuracy.n > 0);
  const header = ["group", "data", "n", ...(lm ? ["val. perplexity"] : []), ...(val ? ["validation accuracy %"] : []), accuracyTitle(c), "params", ...(lm ? ["params w/o emb."] : []), "active experts/layer", "active FLOPs/token", "steps", "ms/step", "unfinished"];
  const rows = c.groups.map((g) => [
    g.label,
    g.data,
    String(g.accuracy.n),
    ...(lm ? [g.perplexity ? formatMeanStd(g.perplexity) : "-"] : []),
    ...(val ? [formatMeanStd(g.validationAccuracy)] : []),
    formatMeanStd(g.accuracy),
    formatInt(g.params),
    ...(lm ? [formatInt(g.paramsNonEmbedding)] : []),
    g.activeExperts.length ? g.activeExperts.map((a) => a.toFixed(2)).join(", ") : "-",
    formatCompact(g.activeFlops.mean),
    meanOnly(g.steps),
    meanOnly(g.msPerStep),
    g.unfinished.length ? String(g.unfinished.length) : "",
  ]);
  return [header, ...rows];
}

/** An aligned plain-text table, with a line about unfinished runs and quick runs. */
export function formatResultsTable(c: Collection): string {
  const rows = tableRows(c);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const fmt = (r: string[]) => r.map((v, i) => v.padEnd(widths[i])).join("  ").trimEnd();
  const lines = [fmt(rows[0]), widths.map((w) => "-".repeat(w)).join("  "), ...rows.slice(1).map(fmt)];
  const unfinished = c.runs.filter((r) => r.summary === null);
  if (unfinished.length) lines.push(`unfinished (no summary.json): ${unfinished.map((r) => r.name).join(", ")}`);
  if (c.quick.quick) lines.push(`quick run: fewer steps, not the paper's settings (${c.quick.reasons.join("; ")})`);
  lines.push("mean ± sample std over seeds; active FLOPs/token: the FFN/MoE layers' multiply-adds (docs/report.md)");
  return lines.join("\n") + "\n";
}

/** The same table in Markdown (pipes in cells escaped). */
export function markdownResultsTable(c: Collection): string {
  const rows = tableRows(c);
  const esc = (s: string) => s.replace(/\|/g, "\\|");
  const line = (r: string[]) => `| ${r.map(esc).join(" | ")} |`;
  return [line(rows[0]), `|${rows[0].map(() => "---").join("|")}|`, ...rows.slice(1).map(line)].join("\n") + "\n";
}

/**
 * A CSV number without floating-point noise (97.78999999999999 → 97.79): `digits` significant digits,
 * 10 by default, 7 for values that come from float32 sums (active experts), where more are noise.
 */
export const csvNum = (v: number | null | undefined, digits = 10): number | string =>
  v === null || v === undefined || !Number.isFinite(v) ? "" : Number(v.toPrecision(digits));
const csvList = (vs: number[], digits = 10): string => vs.map((v) => csvNum(v, digits)).join(" ");

/** One CSV record per group, raw numbers (empty cells where a value does not apply). */
export function csvRecords(c: Collection): Record<string, string | number>[] {
  return c.groups.map((g: RunGroup) => ({
    group: g.label,
    task: g.task,
    data: g.data,
    model: g.model,
    schedule: g.schedule ?? "",
    router: g.router ?? "",
    n: g.accuracy.n,
    seeds: g.seeds.join(" "),
    accuracy_mean: csvNum(g.accuracy.mean),
    accuracy_std: csvNum(g.accuracy.std),
    accuracy_per_seed: csvList(g.accuracy.values),
    validation_accuracy_mean: csvNum(g.validationAccuracy.mean),
    validation_accuracy_std: csvNum(g.validationAccuracy.std),
    perplexity_mean: csvNum(g.perplexity?.mean),
    perplexity_std: csvNum(g.perplexity?.std),
    perplexity_per_seed: g.perplexity ? csvList(g.perplexity.values) : "",
    params: csvNum(g.params),
    params_non_embedding: csvNum(g.paramsNonEmbedding),
    experts: g.experts.join(" "),
    active_experts: csvList(g.activeExperts, 7),
    active_flops_per_token: csvNum(g.activeFlops.mean),
    steps: csvNum(g.steps.mean),
    ms_per_step: csvNum(g.msPerStep.mean),
    unfinished: g.unfinished.length,
    runs: g.runs.map((r) => r.name).join(" "),
    config: JSON.stringify(g.config),
  }));
}

/** The CSV text (header row, then one row per group). */
export function resultsCsv(c: Collection): string {
  // escape_formulas: a cell starting with =, +, -, @, tab or CR is prefixed with a quote, so that a
  // run or group name cannot become a spreadsheet formula.
  return stringify(csvRecords(c), { header: true, escape_formulas: true });
}
