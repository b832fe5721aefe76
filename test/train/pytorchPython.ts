/** Running Python code in Debian's PyTorch from the export tests, or knowing that it is not installed. */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";

/** Debian's PyTorch (python3-torch, installed by scripts/setup-debian.sh as root). */
export const PYTHON = process.env.DYNAMOE_TORCH_PYTHON ?? "/usr/bin/python3";

/** Why the PyTorch tests are skipped, or false when torch and numpy import. */
export const torchMissing: string | false =
  spawnSync(PYTHON, ["-c", "import torch, numpy"], { encoding: "utf8" }).status !== 0 && "Debian's python3-torch is not installed (python3 -c 'import torch' fails)";

/** The start of a script on an export in `dir`: `model` loaded by its own module `m`, and `t` the tensors of `data` (a safetensors file). */
export function loadExport(dir: string, data: string): string[] {
  return [
    "import sys, json, torch",
    `sys.path.insert(0, ${JSON.stringify(dir)})`,
    "import dynamoe_model as m",
    `model = m.load(${JSON.stringify(dir)})`,
    `t = m.read_safetensors(${JSON.stringify(data)})`,
  ];
}

/** Run `lines` as one script (one thread) and parse the JSON its last output line prints. */
export function runPython<T>(lines: string[]): T {
  const r = spawnSync(PYTHON, ["-c", lines.join("\n")], { encoding: "utf8", env: { ...process.env, OMP_NUM_THREADS: "1" } });
  assert.equal(r.status, 0, r.stderr);
  return JSON.parse(r.stdout.trim().split("\n").at(-1)!) as T;
}
