/**
 * A sweep spec: a YAML file describing a grid of training runs (docs/sweeps.md).
 *
 * ```yaml
 * name: routers-mnist                 # optional; default: the file name
 * out: runs/sweeps/routers-mnist      # optional; default runs/sweeps/<file name>
 * base: { dataset: mnist, epochs: 1 } # train config keys shared by every run
 * grid:                               # every key is an axis; the runs are the cross product
 *   router: [percentile, topk, switch]
 *   schedule: [uniform, descending]
 * include: [ { model: dense } ]       # extra single runs, each merged over base
 * seeds: [0, 1, 2]                    # every run above, once per seed
 * ```
 *
 * Validated once, here, with a schema that rejects unknown keys; each run's train configuration is
 * then checked by `resolveConfig` when the grid is expanded (`expandSweep.ts`).
 */
import { existsSync, readFileSync } from "node:fs";
import { basename, extname, join } from "node:path";
import { parseDocument } from "yaml";
import { z } from "zod";
import { UserError } from "../errors.js";

/** Train config keys and values (dotted keys such as `router.kind` address nested keys). */
const configValues = z.record(z.string().min(1), z.unknown(), { error: "must be a mapping of config keys, e.g. { dataset: mnist, epochs: 1 }" });

export const sweepSpecSchema = z.strictObject({
  /** Shown in progress lines and saved in `sweep.json`. @default the spec file's name without extension */
  name: z.string().min(1).optional(),
  /** Folder holding one folder per run. @default runs/sweeps/<spec file name without extension> */
  out: z.string().min(1).optional(),
  /** Config keys shared by every run. */
  base: configValues.default({}),
  /** Axes: config key -> list of values; the grid is their cross product. */
  grid: z.record(z.string().min(1), z.array(z.unknown(), { error: "must be a list of values (every grid key is an axis), e.g. [a, b]" }).min(1, { error: "must list at least one value" })).optional(),
  /** Extra single runs, each merged over `base` (and run once per seed). */
  include: z.array(configValues, { error: "must be a list of mappings, e.g. [{ model: dense }]" }).optional(),
  /** Every run is repeated once per seed. @default [0] */
  seeds: z.array(z.number().int().nonnegative(), { error: "must be a list of non-negative integers, e.g. [0, 1, 2]" }).min(1).default([0]),
});

export type SweepSpecInput = z.input<typeof sweepSpecSchema>;

/** A validated spec, with `name` and `out` filled in. */
export type SweepSpec = Omit<z.output<typeof sweepSpecSchema>, "name" | "out"> & { name: string; out: string };

/** One line naming each bad key: `sweep.yaml: grid.router: must be a list of values ...`. */
function formatIssues(where: string, error: z.ZodError): string {
  return error.issues
    .map((i) => {
      const path = i.path.length ? `${i.path.join(".")}: ` : "";
      if (i.code === "unrecognized_keys") return `${where}: ${path}unknown key(s) ${i.keys.map((k) => `"${k}"`).join(", ")}${i.path.length ? "" : " (expected name, out, base, grid, include, seeds)"}`;
      return `${where}: ${path}${i.message}`;
    })
    .join("; ");
}

/** Checks the schema cannot express: seeds live only in `seeds`, no duplicate seeds or axis values. */
function checkSpec(where: string, spec: z.output<typeof sweepSpecSchema>): void {
  const places: [string, Record<string, unknown>][] = [["base", spec.base], ["grid", spec.grid ?? {}], ...(spec.include ?? []).map((e, k): [string, Record<string, unknown>] => [`include.${k}`, e])];
  for (const [place, values] of places) {
    if ("seed" in values) throw new UserError(`${where}: ${place}.seed: set seeds with the top-level \`seeds\` list`);
  }
  const dup = spec.seeds.find((s, k) => spec.seeds.indexOf(s) !== k);
  if (dup !== undefined) throw new UserError(`${where}: seeds: ${dup} is listed twice`);
  for (const [key, values] of Object.entries(spec.grid ?? {})) {
    const seen = values.map((v) => JSON.stringify(v));
    const k = seen.findIndex((s, i) => seen.indexOf(s) !== i);
    if (k >= 0) throw new UserError(`${where}: grid.${key}: value ${seen[k]} is listed twice`);
  }
}

/**
 * Parse and validate a spec's YAML text. `file` names the spec in messages and gives the default
 * `name` and `out`. Throws `UserError` (one line, naming the bad key) on any problem.
 */
export function parseSweepSpec(text: string, file: string): SweepSpec {
  const where = basename(file);
  const doc = parseDocument(text);
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    const at = e.linePos ? ` at line ${e.linePos[0].line}, column ${e.linePos[0].col}` : "";
    throw new UserError(`${where}: not valid YAML${at} (${e.message.split("\n")[0].replace(/ at line \d+, column \d+:?$/, "")})`);
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    // An alias to no anchor, or aliases expanding past the limit (a "billion laughs" file).
    throw new UserError(`${where}: its YAML aliases cannot be resolved (${(e as Error).message.split("\n")[0]})`);
  }
  if (!raw || typeof raw !== "object" || Array.isArray(raw)) throw new UserError(`${where}: a sweep spec must be a YAML mapping with keys such as base, grid, seeds (docs/sweeps.md)`);
  const result = sweepSpecSchema.safeParse(raw);
  if (!result.success) throw new UserError(formatIssues(where, result.error));
  checkSpec(where, result.data);
  const stem = basename(file, extname(file));
  return { ...result.data, name: result.data.name ?? stem, out: result.data.out ?? join("runs", "sweeps", stem) };
}

/** Read and validate the spec at `path` (see `parseSweepSpec`). */
export function loadSweepSpec(path: string): SweepSpec {
  if (!existsSync(path)) throw new UserError(`${path}: sweep spec not found`);
  return parseSweepSpec(readFileSync(path, "utf8"), path);
}
