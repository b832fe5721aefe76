/**
 * Finding PyTorch for `npm run bench -- --peer pytorch`, and talking to the processes of the
 * comparison (ours and PyTorch's) over JSON lines.
 *
 * PyTorch is Debian's `python3-torch`, for the system Python (`/usr/bin/python3`, not a pyenv shim
 * first in PATH; `DYNAMOE_TORCH_PYTHON` overrides). Running as root, a missing `python3-torch` is
 * installed with apt-get, and so is OpenBLAS (`libopenblas0-pthread`) when torch would otherwise run
 * on Debian's reference BLAS (`libblas3`, several times slower: an unfair peer); otherwise the bench
 * says how to install them and skips the PyTorch columns.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { existsSync } from "node:fs";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";

export const TORCH_SCRIPT = fileURLToPath(new URL("./pytorch_models.py", import.meta.url));
export const TORCH_PYTHON = process.env.DYNAMOE_TORCH_PYTHON || "/usr/bin/python3";

/** What `pytorch_models.py --info` prints. */
export type TorchInfo = {
  torch: string;
  python: string;
  threads: number;
  interopThreads: number;
  /** `BLAS_INFO` of `torch.__config__.show()` (`generic` on Debian: the libblas.so.3 alternative). */
  blasInfo: string;
  /** The BLAS libraries mapped into the process after a matmul. */
  blasLibraries: string[];
  openblas: boolean;
  /** The OpenBLAS core (kernel set) and threads it runs (`openblas_get_corename`), when OpenBLAS is loaded. */
  openblasState: { core: string; threads: number } | null;
};

/**
 * Variables some machines set to hold an old OpenBLAS to older kernels (a guard against wrong results
 * on newer processors). They slow PyTorch's matmuls about 1.7×; the peer runs without them, and its
 * float32-vs-float64 gradient check is what catches a wrong kernel (`peer.ts` falls back if it fails).
 */
export const OPENBLAS_CAPS = ["OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"] as const;

/** Which of `OPENBLAS_CAPS` this environment sets, as `NAME=value`. */
export function openblasCaps(): string[] {
  return OPENBLAS_CAPS.filter((k) => process.env[k] !== undefined).map((k) => `${k}=${process.env[k]}`);
}

/**
 * The environment of a PyTorch process with `threads` threads everywhere (OpenMP, OpenBLAS, MKL);
 * at its best (the default) without `OPENBLAS_CAPS`, else with the environment's settings.
 */
export function torchEnv(threads: number, best = true): NodeJS.ProcessEnv {
  const n = String(threads);
  const env: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: n, OPENBLAS_NUM_THREADS: n, MKL_NUM_THREADS: n };
  if (best) for (const k of OPENBLAS_CAPS) delete env[k];
  return env;
}

export function torchInfo(python: string, threads: number, best = true): TorchInfo | string {
  const r = spawnSync(python, [TORCH_SCRIPT, "--info", "--threads", String(threads)], { encoding: "utf8", env: torchEnv(threads, best) });
  if (r.status !== 0) return (r.stderr || r.error?.message || "failed").trim().split("\n").at(-1)!;
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as TorchInfo;
}

function aptInstall(pkg: string): boolean {
  process.stderr.write(`peer: installing ${pkg} (apt-get install -y ${pkg})\n`);
  const env = { ...process.env, DEBIAN_FRONTEND: "noninteractive" };
  let r = spawnSync("apt-get", ["install", "-y", pkg], { stdio: ["ignore", "ignore", "inherit"], env });
  if (r.status !== 0) {
    spawnSync("apt-get", ["update"], { stdio: ["ignore", "ignore", "inherit"], env });
    r = spawnSync("apt-get", ["install", "-y", pkg], { stdio: ["ignore", "ignore", "inherit"], env });
  }
  return r.status === 0;
}

/**
 * PyTorch's Python and what it runs on, installing what is missing when we may; a string saying why
 * not (and how to fix it) when PyTorch cannot be used.
 */
export function findTorch(threads: number, opts: { install: boolean }): { python: string; info: TorchInfo } | string {
  const python = TORCH_PYTHON;
  const howTo = "install Debian's PyTorch as root: apt-get install -y python3-torch libopenblas0-pthread (or set DYNAMOE_TORCH_PYTHON to a Python with torch)";
  if (!existsSync(python)) return `no ${python}; ${howTo}`;
  const canInstall = opts.install && process.getuid?.() === 0 && spawnSync("apt-get", ["--version"]).status === 0;
  let info = torchInfo(python, threads);
  if (typeof info === "string" && /No module named 'torch'/.test(info) && canInstall && aptInstall("python3-torch")) info = torchInfo(python, threads);
  if (typeof info === "string") return `PyTorch is not usable from ${python} (${info}); ${howTo}`;
  if (!info.openblas && canInstall && aptInstall("libopenblas0-pthread")) {
    const again = torchInfo(python, threads);
    if (typeof again !== "string") info = again;
  }
  if (!info.openblas) process.stderr.write(`peer: WARNING: torch does not use OpenBLAS (${info.blasLibraries.join(", ") || "no BLAS found"}); its times are not representative. apt-get install -y libopenblas0-pthread\n`);
  return { python, info };
}

/**
 * A child process that answers JSON lines: `next()` resolves to its next stdout line, parsed;
 * `send()` writes one line to its stdin. Its stderr passes through with a prefix.
 */
export class LineProcess {
  private readonly child: ChildProcessWithoutNullStreams;
  private readonly lines: AsyncIterator<string>;
  private stderrTail = "";

  constructor(
    readonly name: string,
    command: string,
    args: string[],
    env: NodeJS.ProcessEnv,
  ) {
    this.child = spawn(command, args, { env, stdio: ["pipe", "pipe", "pipe"] });
    this.lines = createInterface({ input: this.child.stdout })[Symbol.asyncIterator]();
    this.child.stderr.setEncoding("utf8");
    this.child.stderr.on("data", (s: string) => {
      this.stderrTail = (this.stderrTail + s).slice(-4000);
    });
  }

  async next<T>(): Promise<T> {
    for (;;) {
      const { value, done } = await this.lines.next();
      if (done) {
        const code = await new Promise((resolve) => (this.child.exitCode !== null ? resolve(this.child.exitCode) : this.child.once("exit", resolve)));
        throw new Error(`${this.name} exited (code ${code}) before answering:\n${this.stderrTail}`);
      }
      if (value.startsWith("{")) return JSON.parse(value) as T;
    }
  }

  send(obj: unknown): void {
    this.child.stdin.write(JSON.stringify(obj) + "\n");
  }

  /** Ask it to quit and resolve to its last answer (its peak memory). */
  async quit<T>(): Promise<T> {
    this.send({ quit: true });
    const last = await this.next<T>();
    this.child.stdin.end();
    return last;
  }

  kill(): void {
    if (this.child.exitCode === null) this.child.kill();
  }
}
