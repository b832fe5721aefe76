/**
 * Running many `dynamoe train` processes, `parallel` at a time, one wasm thread each: the runner of
 * `dynamoe sweep` and of the bench tables. Finished runs (with summary.json) are skipped, interrupted
 * ones (config.json, no summary.json) resumed with `train --resume`, fresh ones started with the
 * job's flags; one run's failure does not stop the others.
 *
 * Interrupts (Ctrl-C, SIGTERM, SIGHUP): the first is passed on to every running child as SIGINT
 * (SIGTERM for SIGTERM), which asks `dynamoe train` to save a checkpoint and exit 130, and no new run
 * starts; a second kills the children (SIGKILL). Both leave resumable folders: checkpoints are
 * written atomically, so a killed run resumes from its last one. Children run in their own process
 * group, so a terminal's Ctrl-C reaches them only through us, exactly once.
 */
import { spawn } from "node:child_process";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import { makeFolder } from "../io/makeFolder.js";
import { availableParallelism } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

export type TrainJob = {
  /** Run folder. */
  dir: string;
  /** `dynamoe train` flags for a fresh run (without --out). */
  flags: string[];
  /** Name in progress lines. @default dir */
  label?: string;
};

/** What a job's folder says: `done` (summary.json), `resume` (config.json only) or `fresh`. */
export type JobState = "done" | "resume" | "fresh";

/** `skipped`: finished before; `unstarted`: not started because of an interrupt. */
export type JobStatus = "skipped" | "done" | "resumed" | "failed" | "interrupted" | "unstarted";

export type JobOutcome = {
  job: TrainJob;
  status: JobStatus;
  /** Exit code of the child (0 for skipped runs), or null when it was killed by a signal or never started. */
  code: number | null;
  seconds: number;
  /** Last lines of the child's stderr (failed and interrupted runs). */
  stderrTail: string[];
  /** `<dir>/sweep-error.log`, written for a failed run. */
  errorLog?: string;
};

export type RunJobsOptions = {
  /** Runs at once. */
  parallel: number;
  /** Threads per run (`DYNAMOE_THREADS`). @default the cores shared out among the runs at once (at least 1) */
  threads?: number;
  /** Called when a run starts (not for skipped runs). */
  onStart?: (job: TrainJob, state: Exclude<JobState, "done">) => void;
  /** Called when a started run ends. */
  onEnd?: (outcome: JobOutcome) => void;
  /** Called with a running run's step, from the plain progress lines `dynamoe train` prints when not on a terminal. */
  onProgress?: (job: TrainJob, step: number, total: number) => void;
  /** Called on each interrupt with the count so far and the number of runs told to stop (first) or killed (later). @default a line on stderr */
  onInterrupt?: (count: number, running: number) => void;
};

/** Lines of stderr kept per run, and written to `sweep-error.log` when it fails. */
const TAIL_LINES = 200;
export const ERROR_LOG = "sweep-error.log";

export function jobState(dir: string): JobState {
  if (existsSync(join(dir, "summary.json"))) return "done";
  if (existsSync(join(dir, "config.json"))) return "resume";
  return "fresh";
}

/**
 * How to start this package's CLI: node arguments before `train ...`. From a build (or an installed
 * package) that is `dist/cli/bin.js`; from a source checkout `--import tsx src/cli/bin.ts`, with tsx
 * resolved from here so it works from any working directory.
 */
export function cliCommand(): string[] {
  const built = fileURLToPath(new URL("../cli/bin.js", import.meta.url));
  if (import.meta.url.endsWith(".js") && existsSync(built)) return [built];
  const source = fileURLToPath(new URL("../cli/bin.ts", import.meta.url));
  if (existsSync(source)) return ["--import", import.meta.resolve("tsx"), source];
  throw new Error(`cannot find the dynamoe CLI beside ${fileURLToPath(import.meta.url)}`);
}

type Running = { job: TrainJob; kill: (signal: NodeJS.Signals) => void };

/** The cores shared out among `parallel` runs at once: each gets at least one thread. */
export function threadsPerRun(parallel: number): number {
  return Math.max(1, Math.floor(availableParallelism() / Math.max(1, parallel)));
}

function runJob(job: TrainJob, state: Exclude<JobState, "done">, opts: RunJobsOptions, running: Set<Running>, interrupted: () => boolean): Promise<JobOutcome> {
  const args = state === "resume" ? ["train", "--resume", job.dir] : ["train", ...job.flags, "--out", job.dir];
  const t = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [...cliCommand(), ...args], {
      stdio: ["ignore", "ignore", "pipe"],
      env: { ...process.env, DYNAMOE_THREADS: String(opts.threads ?? threadsPerRun(opts.parallel)) },
      detached: process.platform !== "win32",
    });
    const entry: Running = { job, kill: (signal) => child.kill(signal) };
    running.add(entry);
    const tail: string[] = [];
    let partial = "";
    child.stderr.setEncoding("utf8");
    child.stderr.on("data", (chunk: string) => {
      const lines = (partial + chunk).split(/\r?\n|\r/);
      partial = lines.pop()!;
      for (const line of lines) {
        tail.push(line);
        if (tail.length > TAIL_LINES) tail.shift();
        const m = /^step (\d+)\/(\d+) /.exec(line);
        if (m) opts.onProgress?.(job, Number(m[1]), Number(m[2]));
      }
    });
    let spawnError: Error | undefined;
    child.on("error", (e) => (spawnError = e));
    child.on("close", (code, signal) => {
      running.delete(entry);
      if (partial) tail.push(partial);
      if (spawnError) tail.push(`could not start the run: ${spawnError.message}`);
      const seconds = (performance.now() - t) / 1000;
      let status: JobStatus;
      if (code === 0 && !spawnError) status = state === "resume" ? "resumed" : "done";
      else if (interrupted() && (code === 130 || signal !== null)) status = "interrupted";
      else status = "failed";
      const outcome: JobOutcome = { job, status, code, seconds, stderrTail: status === "done" || status === "resumed" ? [] : tail.slice() };
      const log = join(job.dir, ERROR_LOG);
      if (status === "failed") {
        makeFolder(job.dir, "the run folder");
        const head = `# dynamoe ${args.join(" ")}\n# exit ${code ?? `signal ${signal}`} after ${seconds.toFixed(1)} s, ${new Date().toISOString()}\n`;
        writeFileSync(log, head + tail.join("\n") + "\n");
        outcome.errorLog = log;
      } else if (status !== "interrupted") {
        rmSync(log, { force: true }); // an earlier failure's log no longer describes the folder
      }
      resolve(outcome);
    });
  });
}

/**
 * Run every job, `opts.parallel` at once (a number is read as `{ parallel }`). Resolves, once every
 * started run has ended, with one outcome per job in the order given and whether an interrupt arrived.
 */
export async function runJobs(jobs: TrainJob[], options: RunJobsOptions | number): Promise<{ outcomes: JobOutcome[]; interrupted: boolean }> {
  const opts: RunJobsOptions = typeof options === "number" ? { parallel: options } : options;
  if (!(Number.isInteger(opts.parallel) && opts.parallel >= 1)) throw new Error(`parallel must be a positive integer, got ${opts.parallel}`);
  const outcomes = new Map<TrainJob, JobOutcome>();
  const running = new Set<Running>();
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts++;
    (opts.onInterrupt ?? defaultOnInterrupt)(interrupts, running.size);
    for (const r of running) r.kill(interrupts > 1 ? "SIGKILL" : signal === "SIGTERM" ? "SIGTERM" : "SIGINT");
  };
  const signals: NodeJS.Signals[] = ["SIGINT", "SIGTERM", "SIGHUP"];
  for (const s of signals) process.on(s, onSignal);
  try {
    const queue = [...jobs];
    await Promise.all(
      Array.from({ length: Math.min(opts.parallel, jobs.length) }, async () => {
        for (let job = queue.shift(); job; job = queue.shift()) {
          const state = jobState(job.dir);
          if (state === "done") {
            outcomes.set(job, { job, status: "skipped", code: 0, seconds: 0, stderrTail: [] });
            continue;
          }
          if (interrupts > 0) {
            outcomes.set(job, { job, status: "unstarted", code: null, seconds: 0, stderrTail: [] });
            continue;
          }
          opts.onStart?.(job, state);
          const outcome = await runJob(job, state, opts, running, () => interrupts > 0);
          outcomes.set(job, outcome);
          opts.onEnd?.(outcome);
        }
      }),
    );
  } finally {
    for (const s of signals) process.off(s, onSignal);
  }
  return { outcomes: jobs.map((j) => outcomes.get(j)!), interrupted: interrupts > 0 };
}

function defaultOnInterrupt(count: number, running: number): void {
  process.stderr.write(
    count === 1
      ? `\ninterrupt: asking ${running} running run(s) to save a checkpoint and stop; no new run starts (Ctrl-C again to kill them now)\n`
      : `\ninterrupt: killing ${running} run(s); they resume from their last checkpoint\n`,
  );
}
