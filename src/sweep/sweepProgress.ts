/**
 * Progress of many runs on stderr: one line per run start and end with an overall counter, and on a
 * terminal live bars (cli-progress) for the sweep and for each running run, kept below the lines.
 * The runs' own output stays in their processes (the last lines of a failure go to its
 * `sweep-error.log`), so the terminal stays readable with several runs at once.
 */
import cliProgress from "cli-progress";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { jobState, runJobs, type JobOutcome, type RunJobsOptions, type TrainJob } from "./runJobs.js";

/** The result a finished run's summary.json reports, in a few words. */
export function summaryLine(dir: string): string {
  const path = join(dir, "summary.json");
  if (!existsSync(path)) return "";
  try {
    const s = JSON.parse(readFileSync(path, "utf8")) as { test?: { accuracy?: number; perplexity?: number } };
    if (s.test?.perplexity !== undefined) return `validation ppl ${s.test.perplexity.toFixed(2)}`;
    if (s.test?.accuracy !== undefined) return `test accuracy ${(100 * s.test.accuracy).toFixed(2)}%`;
  } catch {
    // a summary being written right now, or not ours: say nothing rather than fail the sweep
  }
  return "";
}

export type SweepProgress = Required<Pick<RunJobsOptions, "onStart" | "onEnd" | "onProgress" | "onInterrupt">> & {
  /** Print a line above the bars. */
  log: (line: string) => void;
  stop: () => void;
};

/** Progress for `jobs` (runs already finished count as done from the start). Writes to stderr. */
export function sweepProgress(jobs: TrainJob[], title = "sweep"): SweepProgress {
  const total = jobs.length;
  let finished = jobs.filter((j) => jobState(j.dir) === "done").length;
  let running = 0;
  const multi = process.stderr.isTTY
    ? new cliProgress.MultiBar(
        { stream: process.stderr, hideCursor: true, clearOnComplete: true, format: "{label} |{bar}| {value}/{total} {unit}", barsize: 30, autopadding: true },
        cliProgress.Presets.shades_classic,
      )
    : null;
  const overall = multi?.create(total, finished, { label: title, unit: "runs" });
  const bars = new Map<TrainJob, cliProgress.SingleBar>();
  const log = (line: string) => (multi ? multi.log(line + "\n") : process.stderr.write(line + "\n"));
  const counter = () => `[${finished}/${total} finished${running ? `, ${running} running` : ""}]`;
  const name = (job: TrainJob) => job.label ?? job.dir;

  return {
    log,
    onStart(job, state) {
      running++;
      log(`start   ${name(job)}${state === "resume" ? " (resuming)" : ""}  ${counter()}`);
      if (multi) bars.set(job, multi.create(1, 0, { label: `  ${name(job)}`, unit: "steps" }));
    },
    onProgress(job, step, steps) {
      const bar = bars.get(job);
      if (bar) {
        bar.setTotal(steps);
        bar.update(step);
      }
    },
    onEnd(o: JobOutcome) {
      running--;
      if (o.status !== "interrupted") finished++;
      const bar = bars.get(o.job);
      if (bar) multi!.remove(bar);
      bars.delete(o.job);
      overall?.update(finished);
      const secs = `${o.seconds.toFixed(0)} s`;
      if (o.status === "done" || o.status === "resumed") {
        log(`done    ${name(o.job)}  ${secs}  ${summaryLine(o.job.dir)}  ${counter()}`);
      } else if (o.status === "interrupted") {
        log(`stopped ${name(o.job)}  ${secs}  (resumable: run the sweep again)  ${counter()}`);
      } else {
        const last = o.stderrTail.filter((l) => l.trim()).at(-1) ?? "";
        log(`FAILED  ${name(o.job)}  ${secs}  exit ${o.code ?? "by signal"}: ${last}  ${counter()}`);
      }
    },
    onInterrupt(count, runs) {
      log(
        count === 1
          ? `interrupt: asking ${runs} running run(s) to save a checkpoint and stop; no new run starts (Ctrl-C again to kill them now)`
          : `interrupt: killing ${runs} run(s); they resume from their last checkpoint`,
      );
    },
    stop: () => multi?.stop(),
  };
}

/**
 * `runJobs` with `sweepProgress` lines on stderr (what the bench tables use). Resolves to true when
 * every job finished (none failed or was interrupted).
 */
export async function runJobsWithProgress(jobs: TrainJob[], parallel: number, title = "runs"): Promise<boolean> {
  const progress = sweepProgress(jobs, title);
  try {
    const { onStart, onEnd, onProgress, onInterrupt } = progress;
    const { outcomes } = await runJobs(jobs, { parallel, onStart, onEnd, onProgress, onInterrupt });
    return outcomes.every((o) => o.status === "done" || o.status === "resumed" || o.status === "skipped");
  } finally {
    progress.stop();
  }
}
