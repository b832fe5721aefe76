/**
 * Deterministic slices of a sweep for job arrays: shard `i/n` (0-based, `0 ≤ i < n`) takes the runs
 * at positions i, i + n, i + 2n, ... of the runs sorted by id. The n shards together hold every run
 * exactly once, on any machine, so Slurm array tasks or Kubernetes Indexed Job pods can each run
 * `dynamoe sweep SPEC --shard $INDEX/n` and write into one shared `out` folder.
 */
import { UserError } from "../errors.js";

export type Shard = { index: number; count: number };

/** Parse `--shard i/n` (0-based). Throws `UserError` on anything else. */
export function parseShard(text: string): Shard {
  const m = /^\s*(\d+)\s*\/\s*(\d+)\s*$/.exec(text);
  const index = m ? Number(m[1]) : NaN;
  const count = m ? Number(m[2]) : NaN;
  if (!m || !(count >= 1) || !(index < count)) {
    throw new UserError(`--shard must be i/n with 0 ≤ i < n (0-based: 0/4, 1/4, 2/4, 3/4), got "${text}"`);
  }
  return { index, count };
}

/** The runs of shard `index` of `count`: round-robin over `runs` sorted by id (they already are, from `expandSweep`). */
export function shardRuns<R extends { id: string }>(runs: R[], { index, count }: Shard): R[] {
  const sorted = [...runs].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return sorted.filter((_, k) => k % count === index);
}
