/** `dynamoe generate --run DIR --prompt "..."`: sample text from a trained language model's checkpoint. */
import { initEngine } from "../engine/engine.js";
import { random, tree } from "../engine/jax.js";
import { UserError } from "../errors.js";
import { gpt2Tokenizer } from "../data/text/tokenize.js";
import { generateTokens } from "../models/generate.js";
import { initLmModel } from "../models/lmModel.js";
import { loadCheckpoint } from "../train/checkpoint.js";
import { lmModelConfigFor } from "../train/lmTask.js";
import { openRunFolder } from "./runFolder.js";

export type GenerateFlags = { run: string; prompt?: string; tokens?: number; temperature?: number; topK?: number; seed?: number };

export async function generateCommand(flags: GenerateFlags): Promise<void> {
  const dir = flags.run;
  const { config, checkpoint: ckpt } = openRunFolder(dir);
  if (config.task !== "lm") throw new UserError(`--run ${dir}: an image run; generate needs a language model (train with --task lm)`);
  if (flags.temperature !== undefined && flags.temperature < 0) throw new UserError("--temperature must be ≥ 0");
  await initEngine();
  const tokenizer = gpt2Tokenizer();
  const cfg = lmModelConfigFor(config, tokenizer.vocabSize);
  const state = loadCheckpoint(ckpt, initLmModel(random.key(0), cfg));
  tree.dispose([state.opt, state.key]);
  const prompt = flags.prompt ?? "";
  // An empty prompt starts from the end-of-text token, as a new document.
  const ids = prompt === "" ? [tokenizer.eot] : tokenizer.encode(prompt);
  process.stdout.write(prompt);
  const generated: number[] = [];
  let printed = "";
  await generateTokens(state.params, cfg, ids, {
    tokens: flags.tokens ?? 100,
    temperature: flags.temperature ?? 0.8,
    topK: flags.topK ?? 40,
    seed: flags.seed ?? 0,
    onToken: (id) => {
      // Decode the whole continuation each time: a character can span several BPE tokens.
      generated.push(id);
      const text = tokenizer.decode(generated);
      if (text.startsWith(printed) && !text.endsWith("\uFFFD")) {
        process.stdout.write(text.slice(printed.length));
        printed = text;
      }
    },
  });
  const text = tokenizer.decode(generated);
  if (text.startsWith(printed)) process.stdout.write(text.slice(printed.length));
  process.stdout.write("\n");
  tree.dispose(state.params);
}
