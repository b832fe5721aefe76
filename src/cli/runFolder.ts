/** Opening a finished or running run folder for `eval` and `generate`: its configuration and checkpoint path. */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { UserError } from "../errors.js";
import { CHECKPOINT_FILE } from "../train/checkpoint.js";
import { readRunConfig, type TrainConfig } from "../train/config.js";

/** The run's resolved configuration and checkpoint; a `UserError` naming the folder when either is missing or damaged. */
export function openRunFolder(dir: string): { config: TrainConfig; checkpoint: string } {
  const checkpoint = join(dir, CHECKPOINT_FILE);
  if (!existsSync(join(dir, "config.json"))) throw new UserError(`${dir}: not a dynamoe run folder (no config.json)`);
  if (!existsSync(checkpoint)) throw new UserError(`${dir}: no checkpoint yet (${CHECKPOINT_FILE} is missing)`);
  return { config: readRunConfig(dir, { onNote: (line) => process.stderr.write(`note: ${line}\n`) }), checkpoint };
}
