/**
 * A language-modelling dataset: a corpus split by document (seeded), each side tokenized with
 * GPT-2 BPE (cached on disk), cut into sequences of `context + 1` tokens that overlap by one, so
 * sequence i gives inputs `tokens[i·S .. i·S+S)` and next-token targets `tokens[i·S+1 .. i·S+S]`.
 */
import { loadCorpus } from "./corpus.js";
import { splitDocuments, type DocumentSplit } from "./split.js";
import { gpt2Tokenizer, tokenizeDocuments } from "./tokenize.js";
import { DataError } from "../types.js";

export type LmDataset = {
  name: string;
  /** Where the text came from (package and version, or a path). */
  source: string;
  vocab: number;
  /** Token streams (EOT between documents) of each side of the split. */
  train: Uint16Array;
  validation: Uint16Array;
  split: DocumentSplit;
  /** Titles of the validation documents, for the run folder. */
  validationTitles: string[];
  /** Token-frequency buckets of the training text, for the routing analytics. */
  buckets: FrequencyBuckets;
};

export type LmDataOptions = {
  seed: number;
  validationFraction?: number;
  /** Called while tokenizing (not when the cache is read). */
  onTokenize?: (side: "train" | "validation", done: number, total: number) => void;
};

/** Load, split and tokenize a corpus (`sotu`, `gutenberg`, or a .txt/.jsonl/.parquet path). */
export async function loadLmDataset(corpus: string, opts: LmDataOptions): Promise<LmDataset> {
  const c = await loadCorpus(corpus);
  const split = splitDocuments(c.documents.length, { seed: opts.seed, validationFraction: opts.validationFraction });
  const tokenizer = gpt2Tokenizer();
  const side = async (which: "train" | "validation") =>
    (
      await tokenizeDocuments(
        split[which].map((i) => c.documents[i]),
        { tokenizer, onProgress: opts.onTokenize ? (d, t) => opts.onTokenize!(which, d, t) : undefined },
      )
    ).tokens;
  const train = await side("train");
  const validation = await side("validation");
  return {
    name: c.name,
    source: c.source,
    vocab: tokenizer.vocabSize,
    train,
    validation,
    split,
    validationTitles: split.validation.map((i) => c.titles[i] ?? `document ${i}`),
    buckets: frequencyBuckets(train, tokenizer.vocabSize),
  };
}

/** Whole sequences of `context` positions in a token stream (each needs `context + 1` tokens). */
export function sequenceCount(tokens: Uint16Array, context: number): number {
  return Math.max(0, Math.floor((tokens.length - 1) / context));
}

/**
 * Sequences `order[start .. start+count)` (or `start ..` in order when `order` is null) as inputs and
 * targets, each `[count · context]` int32, row-major.
 */
export function gatherSequences(
  tokens: Uint16Array,
  order: Int32Array | null,
  start: number,
  count: number,
  context: number,
): { x: Int32Array; y: Int32Array } {
  const x = new Int32Array(count * context);
  const y = new Int32Array(count * context);
  for (let i = 0; i < count; i++) {
    const seq = order ? order[start + i] : start + i;
    const at = seq * context;
    if (at + context + 1 > tokens.length) throw new DataError(`sequence ${seq} runs past the ${tokens.length} tokens`);
    x.set(tokens.subarray(at, at + context), i * context);
    y.set(tokens.subarray(at + 1, at + context + 1), i * context);
  }
  return { x, y };
}

/** Token-frequency buckets by rank in the training text: a bucket id per vocabulary entry. */
export type FrequencyBuckets = {
  /** Bucket names, most frequent first, e.g. `top 100`, `100–1k`, ..., `unseen`. */
  names: string[];
  /** `[vocab]` bucket id of each token. */
  ofToken: Uint8Array;
};

/** Rank edges of the buckets: ranks [0, 100), [100, 1000), [1000, 10000), [10000, …), then tokens never seen in training. */
export const BUCKET_EDGES = [100, 1000, 10000] as const;

/** Bucket every vocabulary entry by its frequency rank in `tokens` (ties broken by id). */
export function frequencyBuckets(tokens: Uint16Array, vocab: number): FrequencyBuckets {
  const counts = new Float64Array(vocab);
  for (let i = 0; i < tokens.length; i++) counts[tokens[i]] += 1;
  const seen: number[] = [];
  for (let v = 0; v < vocab; v++) if (counts[v] > 0) seen.push(v);
  seen.sort((a, b) => counts[b] - counts[a] || a - b);
  const names = ["top 100", "100–1k", "1k–10k", "10k+", "unseen"];
  const ofToken = new Uint8Array(vocab).fill(names.length - 1);
  seen.forEach((v, rank) => {
    let b = 0;
    while (b < BUCKET_EDGES.length && rank >= BUCKET_EDGES[b]) b++;
    ofToken[v] = b;
  });
  return { names, ofToken };
}
