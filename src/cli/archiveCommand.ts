/** `dynamoe archive RUNS RESULTS`: `archiveRuns` with one line of counts. */
import { archiveRuns } from "../reproduce/archiveRuns.js";

export async function archiveCommand(runs: string, results: string): Promise<void> {
  const r = archiveRuns(runs, results);
  for (const name of r.copied) process.stdout.write(`copied     ${name}\n`);
  process.stdout.write(
    `${results}: ${r.copied.length} run(s) copied, ${r.unchanged.length} already there, ${r.unfinished.length} unfinished left out (checkpoints are never copied)\n`,
  );
}
