/**
 * Keep the record of finished runs where it outlives the machine: for every run folder under `from`
 * that has a `summary.json`, copy its small files (`ARCHIVED_FILES`: configuration, summary, metric
 * lines, validation split, gradient variance) to the same relative path under `to`, never its
 * checkpoint. `dynamoe report TO` then rebuilds the report from the copies alone, so a results folder
 * committed to the repository accumulates a grid across days and machines.
 *
 * Each file is written atomically; a file already there with the same bytes is left alone, so running
 * it again after more runs finish copies only what is new. Unfinished runs are not copied.
 */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { writeFileAtomic } from "../io/runFiles.js";
import { makeFolder } from "../io/makeFolder.js";
import { UserError } from "../errors.js";
import { findRunFolders } from "../report/readRun.js";

/** The files of a run folder that are kept: everything the report reads, nothing large. */
export const ARCHIVED_FILES = ["config.json", "summary.json", "metrics.jsonl", "split.json", "data.json", "grad-variance.jsonl"] as const;

export type ArchiveResult = {
  /** Finished runs with at least one file new or changed under `to`. */
  copied: string[];
  /** Finished runs whose files were all there already, byte for byte. */
  unchanged: string[];
  /** Runs without a summary yet (not copied). */
  unfinished: string[];
};

export function archiveRuns(from: string, to: string): ArchiveResult {
  if (!existsSync(from)) throw new UserError(`archive: ${from} does not exist`);
  const result: ArchiveResult = { copied: [], unchanged: [], unfinished: [] };
  for (const run of findRunFolders(from)) {
    if (!existsSync(join(run.dir, "summary.json"))) {
      result.unfinished.push(run.name);
      continue;
    }
    const dest = join(to, run.name);
    let changed = false;
    for (const file of ARCHIVED_FILES) {
      const src = join(run.dir, file);
      if (!existsSync(src)) continue;
      const bytes = readFileSync(src);
      const target = join(dest, file);
      if (existsSync(target) && readFileSync(target).equals(bytes)) continue;
      makeFolder(dest, "the results folder");
      writeFileAtomic(target, bytes);
      changed = true;
    }
    (changed ? result.copied : result.unchanged).push(run.name);
  }
  return result;
}
