/** Opening a finished or running run folder for `eval` and `generate`: its configuration and checkpoint path. */
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../errors.js";
import { CHECKPOINT_FILE } from "../train/checkpoint.js";
import { resolveConfig, type TrainConfig } from "../train/config.js";

/** The run's resolved configuration and checkpoint; a `UserError` naming `--run` when either is missing. */
export function openRunFolder(dir: string): { config: TrainConfig; checkpoint: string } {
  const cfgPath = join(dir, "config.json");
  const checkpoint = join(dir, CHECKPOINT_FILE);
  if (!existsSync(cfgPath)) throw new UserError(`--run ${dir}: not a dynamoe run folder (no config.json)`);
  if (!existsSync(checkpoint)) throw new UserError(`--run ${dir}: no checkpoint yet (${CHECKPOINT_FILE} is missing)`);
  return { config: resolveConfig(JSON.parse(readFileSync(cfgPath, "utf8")), { onNote: (line) => process.stderr.write(`note: ${line}\n`) }), checkpoint };
}
