/**
 * Tokenizing a corpus into one flat array of token ids, with an end-of-text token between documents,
 * cached on disk under the cache folder so a corpus is tokenized once.
 * Tokenizer: GPT-2's byte-level BPE (50,257 ids) from the npm package `js-tiktoken`.
 * Reference: Radford et al., 2019, "Language Models are Unsupervised Multitask Learners".
 */
import { createHash } from "node:crypto";
import type { Tiktoken as TiktokenClass, TiktokenBPE } from "js-tiktoken/lite";
import { requireOptional } from "../../io/optionalPackage.js";
import { cacheDir } from "../download.js";
import { readTokenCache, tokenCachePath, writeTokenCache } from "./tokenCache.js";

/** A tokenizer whose ids fit in uint16. */
export type Tokenizer = {
  /** Part of the cache key: two tokenizers with one name must give the same ids. */
  name: string;
  /** Number of ids, at most 65,536. */
  vocabSize: number;
  /** The end-of-text id placed between documents. */
  eot: number;
  /** Text to ids. Special-token strings in the text (`<|endoftext|>`) are encoded as ordinary text. */
  encode(text: string): number[];
  decode(ids: ArrayLike<number>): string;
};

let gpt2: Tokenizer | undefined;

/** GPT-2's BPE: 50,257 ids, end-of-text 50256. Built once (about 0.1 s), then shared. */
export function gpt2Tokenizer(): Tokenizer {
  if (gpt2 === undefined) {
    const { Tiktoken } = requireOptional<{ Tiktoken: typeof TiktokenClass }>("js-tiktoken/lite", "GPT-2 tokenization (language models)");
    const ranks = requireOptional<TiktokenBPE | { default: TiktokenBPE }>("js-tiktoken/ranks/gpt2", "GPT-2 tokenization (language models)");
    const bpe = new Tiktoken("default" in ranks ? ranks.default : ranks);
    gpt2 = {
      name: "gpt2",
      vocabSize: 50257,
      eot: 50256,
      // No allowed and no disallowed specials: a corpus that quotes "<|endoftext|>" neither throws nor ends a document.
      encode: (text) => bpe.encode(text, [], []),
      decode: (ids) => bpe.decode(Array.from(ids)),
    };
  }
  return gpt2;
}

export type TokenizeOptions = {
  /** @default gpt2Tokenizer() */
  tokenizer?: Tokenizer;
  /** Folder of the cache (files go in `tokens/` below it). @default cacheDir() */
  dir?: string;
  /** Called after each document that is tokenized (not when the cache is read). */
  onProgress?: (done: number, total: number) => void;
};

/** The tokens of a corpus, and where they are cached. */
export type TokenizedText = {
  /** `[sum of document lengths + documents - 1]`: `doc0 EOT doc1 EOT ... docN-1`. */
  tokens: Uint16Array;
  /** The cache file. */
  path: string;
  /** Whether the tokens were read from the cache. */
  fromCache: boolean;
};

/** sha256 of the tokenizer's name and the documents, each prefixed by its length so boundaries count. */
export function tokenCacheKey(documents: string[], tokenizer: string): Buffer {
  const hash = createHash("sha256").update(`dynamoe-tokens\0${tokenizer}\0${documents.length}\0`);
  for (const doc of documents) hash.update(`${doc.length}\0`).update(doc);
  return hash.digest();
}

/**
 * Tokenize `documents` into one flat array with `tokenizer.eot` between documents, or read it from
 * the cache file keyed by `tokenCacheKey(documents, tokenizer.name)`. A missing or damaged cache
 * file is (re)written.
 */
export async function tokenizeDocuments(documents: string[], opts: TokenizeOptions = {}): Promise<TokenizedText> {
  const tokenizer = opts.tokenizer ?? gpt2Tokenizer();
  if (tokenizer.vocabSize > 65536) throw new Error(`tokenizer ${tokenizer.name} has ${tokenizer.vocabSize} ids, more than uint16 holds`);
  const key = tokenCacheKey(documents, tokenizer.name);
  const path = tokenCachePath(opts.dir ?? cacheDir(), tokenizer.name, key);
  const cached = await readTokenCache(path, key);
  if (cached !== undefined) return { tokens: cached, path, fromCache: true };

  const parts: number[][] = [];
  let total = 0;
  let lastYield = Date.now();
  for (let i = 0; i < documents.length; i++) {
    const ids = tokenizer.encode(documents[i]);
    parts.push(ids);
    total += ids.length;
    opts.onProgress?.(i + 1, documents.length);
    // Let timers run now and then, so a progress bar can redraw during a long corpus.
    if (Date.now() - lastYield > 100) {
      await new Promise((resolve) => setImmediate(resolve));
      lastYield = Date.now();
    }
  }
  const tokens = new Uint16Array(total + Math.max(0, documents.length - 1));
  let at = 0;
  parts.forEach((ids, i) => {
    if (i > 0) tokens[at++] = tokenizer.eot;
    tokens.set(ids, at);
    at += ids.length;
  });
  await writeTokenCache(path, key, tokens);
  return { tokens, path, fromCache: false };
}
