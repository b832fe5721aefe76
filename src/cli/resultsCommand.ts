/**
 * `dynamoe results DIR [--csv FILE]`: every run folder under DIR, grouped by configuration (seeds
 * pooled), as a table on stdout and as CSV (default `DIR/results.csv`).
 */
import { makeFolder } from "../io/makeFolder.js";
import { writeFileAtomic } from "../io/runFiles.js";
import { dirname, join } from "node:path";
import { collectRuns } from "../report/collect.js";
import { csvRecords, formatResultsTable, resultsCsv } from "../report/resultsTable.js";

export async function resultsCommand(dir: string, opts: { csv?: string; json?: boolean } = {}): Promise<void> {
  const collection = collectRuns(dir);
  if (opts.json) {
    // The CSV's records with empty cells as null and the configuration as an object.
    const records = csvRecords(collection).map((r) => ({ ...Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === "" ? null : v])), config: JSON.parse(String(r.config)) }));
    process.stdout.write(JSON.stringify(records, null, 2) + "\n");
    return;
  }
  process.stdout.write(formatResultsTable(collection));
  const csvPath = opts.csv ?? join(dir, "results.csv");
  makeFolder(dirname(csvPath), "the folder of --csv");
  writeFileAtomic(csvPath, resultsCsv(collection));
  process.stdout.write(`csv: ${csvPath} (${collection.groups.length} groups, ${collection.runs.length} runs)\n`);
}
