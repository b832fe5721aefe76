/**
 * Count-based reference points for a language-model table: the validation cross-entropy of a
 * unigram model (add-½ smoothing) and of a bigram model interpolated with it,
 * p(b | a) = λ·c(a, b)/c(a) + (1 − λ)·p_uni(b), both counted on the training split. λ is picked
 * on the validation split itself, so the bigram row is slightly optimistic. The per-position
 * language model (no attention) can at best learn a bigram model; one with attention can go below.
 *
 *   npm run table:ngram -- [--corpus sotu] [--seed 0]
 */
import { parseArgs } from "node:util";
import { loadLmDataset } from "../../src/data/text/lmData.js";

const { values } = parseArgs({ options: { corpus: { type: "string", default: "sotu" }, seed: { type: "string", default: "0" } } });
const data = await loadLmDataset(values.corpus!, { seed: Number(values.seed) });
const { train, validation: val, vocab } = data;

const uni = new Float64Array(vocab);
for (const t of train) uni[t] += 1;
const unigramP = (t: number) => (uni[t] + 0.5) / (train.length + 0.5 * vocab);
const pairs = new Map<number, number>();
for (let i = 0; i + 1 < train.length; i++) {
  const k = train[i] * vocab + train[i + 1];
  pairs.set(k, (pairs.get(k) ?? 0) + 1);
}
let unigramCe = 0;
for (let i = 1; i < val.length; i++) unigramCe -= Math.log(unigramP(val[i]));
unigramCe /= val.length - 1;
const bigramCe = (lambda: number) => {
  let ce = 0;
  for (let i = 0; i + 1 < val.length; i++) {
    const [a, b] = [val[i], val[i + 1]];
    const ml = uni[a] > 0 ? (pairs.get(a * vocab + b) ?? 0) / uni[a] : 0;
    ce -= Math.log(lambda * ml + (1 - lambda) * unigramP(b));
  }
  return ce / (val.length - 1);
};
const lambdas = [0.5, 0.6, 0.7, 0.8, 0.9];
const best = lambdas.map((l) => ({ l, ce: bigramCe(l) })).sort((x, y) => x.ce - y.ce)[0];
console.log(`${data.name}, seed ${values.seed}: ${train.length.toLocaleString("en")} training tokens, ${val.length.toLocaleString("en")} validation tokens\n`);
console.log("| model (counted on the training split) | validation cross-entropy (nats) | perplexity |");
console.log("|---|---|---|");
console.log(`| unigram, add-½ | ${unigramCe.toFixed(3)} | ${Math.exp(unigramCe).toFixed(1)} |`);
console.log(`| bigram interpolated with unigram, λ = ${best.l} (best on validation) | ${best.ce.toFixed(3)} | ${Math.exp(best.ce).toFixed(1)} |`);
