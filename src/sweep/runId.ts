/**
 * Run ids, which are also the run folders' names: the run's varying keys and its seed, sorted by key,
 * `router.kind=switch,schedule=uniform,seed=1`. The same values give the same id on every machine
 * and in whatever order the YAML wrote its keys.
 */
import { createHash } from "node:crypto";

/** Longest id kept readable in full; longer ones are cut and end in `~` and a hash. */
export const MAX_ID_LENGTH = 100;

const isPlainObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === "object" && !Array.isArray(v);

/** JSON with every object's keys sorted, so equal values give equal strings. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (isPlainObject(value)) {
    const keys = Object.keys(value).filter((k) => value[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson(value[k])}`).join(",")}}`;
  }
  return JSON.stringify(value) ?? "null";
}

/**
 * `{ router: { kind: "top-p", p: 0.9 } }` -> `[["router.kind", "top-p"], ["router.p", "0.9"]]`; an
 * object with only a `kind` reads as that kind (`router=switch`); lists of scalars join with `-`.
 */
function flatten(value: unknown, prefix: string, out: [string, string][]): void {
  if (isPlainObject(value) && prefix && Object.keys(value).length === 1 && typeof value.kind === "string") {
    out.push([prefix, value.kind]); // `router: { kind: switch }` reads as `router=switch`
  } else if (isPlainObject(value)) {
    const keys = Object.keys(value).filter((k) => value[k] !== undefined);
    if (keys.length === 0 && prefix) out.push([prefix, "{}"]);
    for (const k of keys) flatten(value[k], prefix ? `${prefix}.${k}` : k, out);
  } else if (Array.isArray(value) && value.some((v) => isPlainObject(v) || Array.isArray(v))) {
    value.forEach((v, i) => flatten(v, `${prefix}.${i}`, out));
  } else if (Array.isArray(value)) {
    out.push([prefix, value.map(String).join("-")]);
  } else {
    out.push([prefix, String(value)]);
  }
}

/** Characters safe in folder names on Linux, macOS and Windows, and in shell words. */
const UNSAFE = /[^A-Za-z0-9._+-]/g;

/** Short content hash: the first 8 hex digits of sha256 of the canonical JSON of `{ vary, seed }`. */
export function runHash(vary: Record<string, unknown>, seed: number): string {
  return createHash("sha256").update(canonicalJson({ seed, vary })).digest("hex").slice(0, 8);
}

/**
 * The id of the run with varying keys `vary` (nested objects allowed) and seed `seed`.
 * Characters outside `[A-Za-z0-9._+-]` become `_`; when that changed anything, or the id would be
 * longer than `MAX_ID_LENGTH`, it is cut and ends in `~` and `runHash`, so distinct runs keep
 * distinct ids.
 */
export function runId(vary: Record<string, unknown>, seed: number): string {
  const pairs: [string, string][] = [];
  flatten(vary, "", pairs);
  pairs.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  pairs.push(["seed", String(seed)]);
  const raw = pairs.map(([k, v]) => `${k}=${v}`).join(",");
  const safe = pairs.map(([k, v]) => `${k.replace(UNSAFE, "_")}=${v.replace(UNSAFE, "_")}`).join(",");
  if (safe === raw && raw.length <= MAX_ID_LENGTH) return raw;
  const hash = runHash(vary, seed);
  return `${safe.slice(0, MAX_ID_LENGTH - hash.length - 1)}~${hash}`;
}
