/** The line every benchmark prints first: the machine and how busy it is (timings on a busy machine are noisy). */
import { writeFileSync } from "node:fs";
import os from "node:os";

let loadBefore: number | null = null;

export function reportMachineLoad(): void {
  const load = os.loadavg()[0];
  loadBefore = load;
  process.stderr.write(`machine: ${os.cpus()[0]?.model ?? "?"}, ${os.availableParallelism()} cores, load average ${load.toFixed(2)} before start\n`);
  if (load > 0.5) process.stderr.write("warning: the machine is busy; timings will be noisy\n");
}

/**
 * `--json FILE`: a bench's table as one JSON document (one record per row, the ratios as records of
 * their own), with the date, the machine and its load average before and after, so that runs can
 * be compared. Nothing is written without a file.
 */
export function writeBenchJson(file: string | undefined, rows: unknown[], extra: Record<string, unknown> = {}): void {
  if (!file) return;
  const doc = { date: new Date().toISOString(), cpu: os.cpus()[0]?.model, cores: os.availableParallelism(), loadBefore, loadAfter: os.loadavg()[0], ...extra, rows };
  writeFileSync(file, JSON.stringify(doc, null, 2) + "\n");
}
