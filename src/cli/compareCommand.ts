/**
 * `dynamoe compare RUN_A RUN_B [--json]`: two run folders side by side: the configuration keys that
 * differ (nested keys dotted), then their final numbers.
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../errors.js";
import { readRunFolder, type RunFolder } from "../report/readRun.js";

/** `{ router: { tau: 50 } }` → `{ "router.tau": 50 }` (lists kept whole). */
function flatten(value: unknown, prefix = "", out: Record<string, unknown> = {}): Record<string, unknown> {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else out[prefix] = value;
  return out;
}

/** The keys whose values differ, with both values (absent: undefined). */
export function configDiff(a: Record<string, unknown>, b: Record<string, unknown>): { key: string; a: unknown; b: unknown }[] {
  const [fa, fb] = [flatten(a), flatten(b)];
  const keys = [...new Set([...Object.keys(fa), ...Object.keys(fb)])].sort();
  return keys.filter((k) => JSON.stringify(fa[k]) !== JSON.stringify(fb[k])).map((key) => ({ key, a: fa[key], b: fb[key] }));
}

/** The numbers compared, by name (absent where a run has none). */
export function runNumbers(run: RunFolder): Record<string, number | string | undefined> {
  const s = run.summary;
  const lm = s?.test.perplexity !== undefined;
  return {
    status: s ? "finished" : `unfinished (${run.train.at(-1)?.step ?? 0} steps logged)`,
    ...(lm ? { "validation perplexity": s?.test.perplexity } : { "validation accuracy %": s?.validation ? 100 * s.validation.accuracy : undefined, "test accuracy %": s ? 100 * s.test.accuracy : undefined }),
    ...(lm ? { "next-token accuracy %": s ? 100 * s.test.accuracy : undefined } : {}),
    [lm ? "validation loss" : "test loss"]: s?.test.loss,
    params: s?.params,
    "active experts/layer": s?.meanActive.length ? s.meanActive.map((a) => a.toFixed(2)).join(", ") : undefined,
    steps: s?.steps ?? run.train.at(-1)?.step,
    "median ms/step": s?.medianStepMs,
    "final training loss": run.train.at(-1)?.loss,
  };
}

const show = (v: unknown): string => (v === undefined ? "-" : typeof v === "number" ? (Number.isInteger(v) ? v.toLocaleString("en-US") : v.toFixed(4)) : JSON.stringify(v).replace(/^"|"$/g, ""));

export async function compareCommand(a: string, b: string, opts: { json?: boolean } = {}): Promise<void> {
  const runs = [a, b].map((dir) => {
    if (!existsSync(join(dir, "config.json"))) throw new UserError(`${dir}: not a dynamoe run folder (no config.json)`);
    const run = readRunFolder(dir, dir);
    if (!run) throw new UserError(`${dir}/config.json: not a JSON object; the run folder is damaged`);
    return run;
  });
  const diff = configDiff(runs[0].config, runs[1].config);
  const [na, nb] = runs.map(runNumbers);
  if (opts.json) {
    process.stdout.write(JSON.stringify({ a, b, config: diff, numbers: { a: na, b: nb } }, null, 2) + "\n");
    return;
  }
  const rows: string[][] = [["", a, b], ...diff.map((d) => [d.key, show(d.a), show(d.b)])];
  if (diff.length === 0) rows.push(["(configurations)", "the same", "the same"]);
  rows.push(["", "", ""]);
  for (const k of Object.keys({ ...na, ...nb })) if (na[k] !== undefined || nb[k] !== undefined) rows.push([k, show(na[k]), show(nb[k])]);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  process.stdout.write(rows.map((r) => r.map((v, i) => v.padEnd(widths[i])).join("  ").trimEnd()).join("\n") + "\n");
}
