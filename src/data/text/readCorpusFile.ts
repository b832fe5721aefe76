/**
 * Reading a corpus from a `.txt`, `.jsonl` or `.parquet` file (see `corpus.ts` for the formats), for
 * `loadCorpus` and for the downloadable corpora that are stored in one of these formats.
 */
import { readFile, stat } from "node:fs/promises";
import { basename, extname } from "node:path";
import { brotliDecompressSync, gunzipSync } from "node:zlib";
import { requireOptional } from "../../io/optionalPackage.js";

/** hyparquet, loaded when a Parquet file is read. */
const hyparquet = () => requireOptional<typeof import("hyparquet")>("hyparquet", "reading Parquet files");
import { DataError } from "../types.js";

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
  const { asyncBufferFromFile, parquetMetadataAsync, parquetReadObjects, parquetSchema } = hyparquet();
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

/** The corpus without its empty or whitespace-only documents. */
export function keepNonEmpty(corpus: Corpus): Corpus {
  const keep = corpus.documents.map((d) => d.trim() !== "");
  return { ...corpus, documents: corpus.documents.filter((_, i) => keep[i]), titles: corpus.titles.filter((_, i) => keep[i]) };
}
