/**
 * Side-effect module, imported first by the CLI: copies `--threads N` into `DYNAMOE_THREADS` before
 * jax-js loads (its worker pool size is fixed at load time; see `src/engine/preload.ts`), and
 * `--device D` into `DYNAMOE_DEVICE` (read by `initEngine`).
 */
import { availableParallelism } from "node:os";

const argv = process.argv;
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === "--threads" && argv[i + 1] !== undefined) process.env.DYNAMOE_THREADS = argv[i + 1];
  else if (argv[i].startsWith("--threads=")) process.env.DYNAMOE_THREADS = argv[i].slice("--threads=".length);
  else if (argv[i] === "--device" && argv[i + 1] !== undefined) process.env.DYNAMOE_DEVICE = argv[i + 1];
  else if (argv[i].startsWith("--device=")) process.env.DYNAMOE_DEVICE = argv[i].slice("--device=".length);
}
const raw = process.env.DYNAMOE_THREADS;
if (raw !== undefined && raw !== "" && !(Number.isInteger(Number(raw)) && Number(raw) >= 1)) {
  process.stderr.write(`dynamoe: --threads must be a positive integer, got "${raw}"\n`);
  process.exit(2);
}
if (raw !== undefined && Number(raw) > availableParallelism()) {
  process.stderr.write(`dynamoe: --threads ${raw} is more than this machine's ${availableParallelism()} cores\n`);
  process.exit(2);
}
export {};
