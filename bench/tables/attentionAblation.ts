/**
 * Does a trained language model use its attention? For each run folder: the validation loss by
 * position band (the first N sequences of the run's validation split), and, for runs with attention,
 * the same with every attention output projection set to zero (the branch switched off).
 *
 *   npm run table:attention-ablation -- RUN_DIR [RUN_DIR ...]     (N=64 by default; env N)
 *
 * A model that has learned to use attention gets worse when it is switched off; a model whose
 * attention only adds noise does not. Position bands show whether context helps: with attention the
 * loss should fall with position, without it it cannot.
 */
import { initEngine } from "../../src/engine/engine.js";
import { numpy as np, random, tree } from "../../src/engine/jax.js";
import { openRunFolder } from "../../src/cli/runFolder.js";
import { loadCheckpoint } from "../../src/train/checkpoint.js";
import { lmModelConfigFor, loadRunCorpus } from "../../src/train/lmTask.js";
import { initLmModel, applyLmTrunk, type LmModelParams } from "../../src/models/lmModel.js";
import { linearCrossEntropy } from "../../src/models/lmHead.js";
import { gatherSequences } from "../../src/data/text/lmData.js";

await initEngine();
const N = Number(process.env.N ?? 64);
for (const dir of process.argv.slice(2)) {
  const { config, checkpoint } = openRunFolder(dir);
  const data = await loadRunCorpus(config);
  const cfg = lmModelConfigFor(config, data.vocab);
  const state = loadCheckpoint(checkpoint, initLmModel(random.key(0), cfg));
  tree.dispose([state.opt, state.key]);
  const s = cfg.context;
  const variants: [string, LmModelParams][] = [["as trained", state.params]];
  if (cfg.attention) {
    const z = tree.map((a: np.Array) => a, tree.ref(state.params)) as LmModelParams;
    for (const b of z.blocks) { b.attn!.out.w = np.zerosLike(b.attn!.out.w); b.attn!.out.b = np.zerosLike(b.attn!.out.b); }
    variants.push(["attention zeroed", z]);
  }
  for (const [name, params] of variants) {
    const pos = new Float64Array(s);
    let total = 0;
    for (let start = 0; start < N; start += 16) {
      const { x, y } = gatherSequences(data.validation, null, start, 16, s);
      const { hidden, routings } = applyLmTrunk(params, np.array(x, { dtype: np.int32 }).reshape([16, s]), cfg, { train: false });
      const head = await linearCrossEntropy(params.embed.tokens, hidden, np.array(y, { dtype: np.int32 }), { chunk: 512 });
      const l = await head.losses.data(); head.correct.dispose();
      for (let i = 0; i < l.length; i++) { pos[i % s] += l[i] / N; total += l[i]; }
    }
    const band = (a: number, b: number) => (pos.slice(a, b).reduce((p, q) => p + q, 0) / (b - a)).toFixed(3);
    console.log(`${dir} [${name}] mean ${(total / (N * s)).toFixed(3)}  pos0 ${pos[0].toFixed(3)} pos1-3 ${band(1, 4)} pos4-15 ${band(4, 16)} pos16-63 ${band(16, 64)} pos64-127 ${band(64, 128)}`);
  }
}
