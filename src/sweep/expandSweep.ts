/**
 * A sweep spec's runs: the cross product of the grid's axes, plus the `include` entries, each merged
 * over `base` and repeated once per seed, sorted by run id. Every run's configuration is validated
 * with `resolveConfig` here, so an invalid combination stops the sweep before anything starts.
 */
import { UserError } from "../errors.js";
import { resolveConfig } from "../train/config.js";
import { canonicalJson, runId } from "./runId.js";
import type { SweepSpec } from "./spec.js";

/** One training run of a sweep. */
export type SweepRun = {
  /** Folder name under the sweep's `out`, from `vary` and `seed` (`runId`). */
  id: string;
  /** The keys this run sets beyond `base`: its grid point or its include entry (shorthands and dotted keys expanded). */
  vary: Record<string, unknown>;
  seed: number;
  /** `dynamoe train --config` input: base, then `vary`, then the seed. */
  config: Record<string, unknown>;
  /** Where the run comes from, for messages: `grid` or `include.2`. */
  source: string;
};

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** `{ "router.kind": "switch" }` -> `{ router: { kind: "switch" } }`, merging keys that share a prefix. */
export function expandDottedKeys(values: Record<string, unknown>): Record<string, unknown> {
  let out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(values)) {
    const parts = key.split(".");
    let nested: unknown = isPlainObject(value) ? expandDottedKeys(value) : value;
    for (let i = parts.length - 1; i > 0; i--) nested = { [parts[i]]: nested };
    out = deepMerge(out, { [parts[0]]: nested });
  }
  return out;
}

/**
 * The train command's shorthands, as its flags have them: `router: switch` is `router: { kind: switch }`
 * and `layerRouters: [switch, top-p]` is `[{ kind: switch }, { kind: top-p }]`.
 */
export function expandShorthands(values: Record<string, unknown>): Record<string, unknown> {
  const out = { ...values };
  if (typeof out.router === "string") out.router = { kind: out.router };
  if (Array.isArray(out.layerRouters)) out.layerRouters = out.layerRouters.map((r: unknown) => (typeof r === "string" ? { kind: r } : r));
  return out;
}

/** One spelling for every way of writing the same values: shorthands, then dotted keys expanded. */
function normalize(values: Record<string, unknown>): Record<string, unknown> {
  return expandShorthands(expandDottedKeys(expandShorthands(values)));
}

/** `over` merged into `base`: objects key by key (recursively), anything else (lists too) replaced. */
export function deepMerge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = isPlainObject(v) && isPlainObject(out[k]) ? deepMerge(out[k] as Record<string, unknown>, v) : v;
  return out;
}

/** The most runs one sweep may expand to (a grid past this is almost surely a mistake in the spec). */
export const MAX_SWEEP_RUNS = 10_000;

/** Every combination of one value per axis, keys in the given order: `{a: [1, 2], b: [3]}` -> `[{a: 1, b: 3}, {a: 2, b: 3}]`. */
export function crossProduct(axes: Record<string, unknown[]>): Record<string, unknown>[] {
  let points: Record<string, unknown>[] = [{}];
  for (const [key, values] of Object.entries(axes)) points = points.flatMap((p) => values.map((v) => ({ ...p, [key]: v })));
  return points;
}

/**
 * The spec's runs, sorted by id (plain code-unit order, the same on every machine). The grid gives
 * runs when it has an axis or when there is no `include` (a spec of `base` and `seeds` alone is one
 * configuration per seed). Identical runs listed twice are kept once.
 * Throws `UserError` naming the run when a configuration is invalid or two different runs share an id.
 */
export function expandSweep(spec: SweepSpec): SweepRun[] {
  const base = normalize(spec.base);
  const grid = spec.grid ?? {};
  const size = (Object.values(grid).reduce((n, values) => n * values.length, 1) + (spec.include?.length ?? 0)) * spec.seeds.length;
  if (size > MAX_SWEEP_RUNS) throw new UserError(`${spec.name}: the grid has ${size.toLocaleString("en-US")} runs, more than the ${MAX_SWEEP_RUNS.toLocaleString("en-US")} a sweep may have; split it into several specs`);
  const points: { vary: Record<string, unknown>; source: string }[] = [];
  if (Object.keys(grid).length > 0 || !spec.include?.length) {
    for (const p of crossProduct(grid)) points.push({ vary: normalize(p), source: "grid" });
  }
  (spec.include ?? []).forEach((entry, k) => points.push({ vary: normalize(entry), source: `include.${k}` }));

  const byId = new Map<string, SweepRun>();
  const byFolder = new Map<string, string>();
  for (const seed of spec.seeds) {
    for (const { vary, source } of points) {
      const id = runId(vary, seed);
      const config = { ...deepMerge(base, vary), seed };
      try {
        resolveConfig(config);
      } catch (e) {
        if (e instanceof UserError) throw new UserError(`${spec.name}: run ${id} (${source}): ${e.message}`);
        throw e;
      }
      const run: SweepRun = { id, vary, seed, config, source };
      const earlier = byId.get(id);
      if (earlier) {
        if (canonicalJson(earlier.config) === canonicalJson(config)) continue;
        throw new UserError(`${spec.name}: runs from ${earlier.source} and ${source} are both named ${id} but differ; give one of them another distinguishing key`);
      }
      // Case-insensitive file systems (macOS, Windows) would put these two in one folder.
      const other = byFolder.get(id.toLowerCase());
      if (other) throw new UserError(`${spec.name}: runs ${other} and ${id} differ only in letter case, which some file systems cannot tell apart`);
      byId.set(id, run);
      byFolder.set(id.toLowerCase(), id);
    }
  }
  return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}
