/**
 * Recycling-the-Web, 1,000 documents: the language-modelling corpus of the DynaMoE paper, which trains
 * on "1,000 Recycling-the-Web samples" (GPT-2 tokenizer, sequence length 128).
 *
 * Recycling-the-Web is Meta's REWIRE data (`facebook/recycling_the_web` on Hugging Face, CC-BY-NC 4.0,
 * Llama 3.3 outputs). The paper's author, Gökdeniz Gülmez, publishes a 1,000-document subset of it as
 * `mlx-community/recycling_the_web-1k`; we download its train split. We could not reach Hugging Face
 * when writing this, so neither the file's exact path nor its checksum is known here: the sha256 is
 * recorded on first download (trust on first use) in `manifest.json` beside the cached file, and
 * every later fetch or load verifies it. `--url` (or `$DYNAMOE_RECYCLING_THE_WEB_URL`) points at
 * another address, a `file://` URL or a local `.parquet`/`.jsonl` file; see docs/data.md.
 *
 * Reference: Gülmez, "DynaMoE: Dynamic Token-Level Expert Activation with Layer-Wise Adaptive Capacity
 * for Mixture-of-Experts Neural Networks", arXiv:2603.01697; Nguyen et al., "Recycling the Web",
 * arXiv:2506.04689.
 */
import { copyFile, readFile, rename, rm, stat } from "node:fs/promises";
import { dirname, extname, join, resolve } from "node:path";
import { makeFolder } from "../../io/makeFolder.js";
import { fileURLToPath } from "node:url";
import { z } from "zod";
import { UserError } from "../../errors.js";
import { writeCacheFile } from "../cacheFile.js";
import { cacheDir, downloadFile, fileDigest, type DownloadOptions } from "../download.js";
import { DataError } from "../types.js";
import { readCorpusFile, type Corpus } from "./readCorpusFile.js";

/** Where a downloadable text corpus lives and how to read it. */
export type TextDatasetDescriptor = {
  /** The corpus name (`loadCorpus`, `dynamoe data fetch`) and the name of its cache subfolder. */
  name: string;
  /** The default address; its checksum is unknown until the first download (see the file comment). */
  url: string;
  /** The cached file's name; its extension picks the reader. */
  file: string;
  format: "parquet" | "jsonl";
  /** The column (parquet) or field (jsonl) holding each document's text. */
  textColumn: "text";
  /** At most this many documents are used: the file's first records. */
  limit: number;
};

/**
 * The DynaMoE paper's subset. The path assumes the subset was uploaded with `datasets.push_to_hub`,
 * which writes `data/train-00000-of-00001.parquet`; unverified (no network when written).
 */
export const RECYCLING_THE_WEB_1K: TextDatasetDescriptor = {
  name: "recycling-the-web-1k",
  url: "https://huggingface.co/datasets/mlx-community/recycling_the_web-1k/resolve/main/data/train-00000-of-00001.parquet",
  file: "recycling-the-web-1k.parquet",
  format: "parquet",
  textColumn: "text",
  limit: 1000,
};

/** Environment variable that replaces the default address (`--url` wins over it). */
export const RECYCLING_THE_WEB_URL_ENV = "DYNAMOE_RECYCLING_THE_WEB_URL";

const MANIFEST = "manifest.json";
const FETCH_COMMAND = `dynamoe data fetch ${RECYCLING_THE_WEB_1K.name}`;

const manifestSchema = z.object({
  dataset: z.literal(RECYCLING_THE_WEB_1K.name),
  /** The source the file came from, as given (URL or local path). */
  url: z.string().min(1),
  /** The cached file's name inside the corpus folder. */
  file: z.string().regex(/^[^/\\]+\.(parquet|jsonl)$/),
  /** Recorded on first download; every later use checks the file against it. */
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
  bytes: z.number().int().nonnegative(),
  fetchedAt: z.string(),
});

/** `manifest.json` beside the cached file: where it came from and its trusted-on-first-use sha256. */
export type RecyclingTheWebManifest = z.infer<typeof manifestSchema>;

/** The corpus folder inside the cache folder: `<cacheDir>/recycling-the-web-1k`. */
export function recyclingTheWebDir(root: string = cacheDir()): string {
  return join(root, RECYCLING_THE_WEB_1K.name);
}

/**
 * The manifest in `dir`, or `undefined` when there is none yet.
 * Throws `DataError` for a manifest that is not valid JSON or has the wrong fields.
 */
export async function readRecyclingTheWebManifest(dir: string): Promise<RecyclingTheWebManifest | undefined> {
  const path = join(dir, MANIFEST);
  let text: string;
  try {
    text = await readFile(path, "utf8");
  } catch {
    return undefined;
  }
  let parsed: ReturnType<typeof manifestSchema.safeParse>;
  try {
    parsed = manifestSchema.safeParse(JSON.parse(text));
  } catch {
    throw new DataError(`${path} is not valid JSON: delete ${dir} and run "${FETCH_COMMAND}" again`);
  }
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new DataError(`${path}: ${issue.path.join(".") || "manifest"}: ${issue.message}: delete ${dir} and run "${FETCH_COMMAND}" again`);
  }
  return parsed.data;
}

export type FetchRecyclingTheWebOptions = {
  /**
   * Where to fetch from: an `http(s)://` address, a `file://` URL or a local file path, ending in
   * `.parquet` or `.jsonl`.
   * @default $DYNAMOE_RECYCLING_THE_WEB_URL, else `RECYCLING_THE_WEB_1K.url`
   */
  url?: string;
  /** @default cacheDir() ($DYNAMOE_CACHE, else ~/.cache/dynamoe) */
  cacheDir?: string;
  /** @default process.stderr.isTTY (downloads only; a local copy draws no bar) */
  progressBar?: boolean;
  onProgress?: DownloadOptions["onProgress"];
};

/**
 * Fetch the corpus file into `<cacheDir>/recycling-the-web-1k/` and return its path.
 *
 * The first fetch from a source records the file's sha256 in `manifest.json` (trust on first use).
 * Later fetches from the same source return at once when the cached file still matches; otherwise
 * they fetch again and accept the new copy only if it matches the recorded sha256. Fetching from a
 * different source replaces the cached file and starts a new record. The file is fetched into an
 * `incoming/` folder and checked (checksum, readable as a corpus) before it takes the cached name.
 * Throws `UserError` for an address we cannot use, `DataError` for a failed download, a missing local
 * file, a file that is not a corpus, or a checksum that differs from the recorded one.
 */
export async function fetchRecyclingTheWeb(opts: FetchRecyclingTheWebOptions = {}): Promise<string> {
  const env = process.env[RECYCLING_THE_WEB_URL_ENV];
  const url = opts.url ?? (env !== undefined && env !== "" ? env : RECYCLING_THE_WEB_1K.url);
  const source = parseSource(url);
  const dir = recyclingTheWebDir(opts.cacheDir);
  const file = `${RECYCLING_THE_WEB_1K.name}${source.ext}`;
  const dest = join(dir, file);

  const previous = await readRecyclingTheWebManifest(dir);
  const recorded = previous?.url === url && previous.file === file ? previous : undefined;
  if (recorded !== undefined && (await isFile(dest)) && (await fileDigest(dest, "sha256")) === recorded.sha256) return dest;

  const incomingDir = join(dir, "incoming");
  const incoming = join(incomingDir, file);
  await rm(incomingDir, { recursive: true, force: true });
  try {
    if (source.kind === "http") {
      try {
        await downloadFile(source.url, incoming, { onProgress: opts.onProgress, progressBar: opts.progressBar });
      } catch (err) {
        // downloadFile's advice is for image datasets; here a file fetched by hand goes to --url.
        if (err instanceof DataError) throw new DataError(err.message.replace("pass --data-dir DIR", `run "${FETCH_COMMAND} --url FILE"`));
        throw err;
      }
    } else {
      await copyLocal(source.path, incoming, opts.onProgress);
    }
    const sha256 = await fileDigest(incoming, "sha256");
    if (recorded !== undefined && sha256 !== recorded.sha256) {
      throw new DataError(
        `${url}: sha256 checksum mismatch (expected ${recorded.sha256}, recorded on first download; got ${sha256}): ` +
          `the file changed at its source or the download is corrupt; to trust the new file, delete ${dir} and run "${FETCH_COMMAND}" again`,
      );
    }
    try {
      await readCorpusFile(incoming, { limit: 1 });
    } catch (err) {
      if (err instanceof DataError) throw new DataError(`${url} is not a usable corpus file (${err.message.replace(incoming, file)})`);
      throw err;
    }
    const bytes = (await stat(incoming)).size;
    await rename(incoming, dest);
    const manifest: RecyclingTheWebManifest = { dataset: "recycling-the-web-1k", url, file, sha256, bytes, fetchedAt: new Date().toISOString() };
    await writeCacheFile(join(dir, MANIFEST), [Buffer.from(`${JSON.stringify(manifest, null, 2)}\n`)]);
    if (previous !== undefined && previous.file !== file) await rm(join(dir, previous.file), { force: true });
  } finally {
    await rm(incomingDir, { recursive: true, force: true });
  }
  return dest;
}

/**
 * The corpus from the cache folder: at most 1,000 documents (the file's first records), verified
 * against the sha256 in the manifest. Throws `DataError` when it is not fetched yet (naming the
 * fetch command) or when the cached file no longer matches its recorded checksum.
 */
export async function loadRecyclingTheWeb(opts: { cacheDir?: string } = {}): Promise<Corpus> {
  const dir = recyclingTheWebDir(opts.cacheDir);
  const notFetched = `the ${RECYCLING_THE_WEB_1K.name} corpus is not downloaded yet: run "${FETCH_COMMAND}" (add --url FILE to use a copy you already have)`;
  const manifest = await readRecyclingTheWebManifest(dir);
  if (manifest === undefined) throw new DataError(notFetched);
  const path = join(dir, manifest.file);
  if (!(await isFile(path))) throw new DataError(notFetched);
  const actual = await fileDigest(path, "sha256");
  if (actual !== manifest.sha256) {
    throw new DataError(
      `${path}: sha256 checksum mismatch (expected ${manifest.sha256}, recorded on first download; got ${actual}): ` +
        `the cached file was changed or damaged, run "${FETCH_COMMAND}" to fetch it again`,
    );
  }
  const corpus = await readCorpusFile(path, { limit: RECYCLING_THE_WEB_1K.limit });
  return { ...corpus, name: RECYCLING_THE_WEB_1K.name, source: `${manifest.url} (sha256 ${manifest.sha256})` };
}

type Source = { kind: "http"; url: string; ext: string } | { kind: "file"; path: string; ext: string };

/** An `http(s)://` address, a `file://` URL or a local path, with its file extension. */
function parseSource(url: string): Source {
  let source: Source;
  if (/^https?:\/\//i.test(url)) {
    let pathname: string;
    try {
      pathname = new URL(url).pathname;
    } catch {
      throw new UserError(`"${url}" is not a valid URL`);
    }
    source = { kind: "http", url, ext: extname(decodeURIComponent(pathname)).toLowerCase() };
  } else if (/^file:/i.test(url)) {
    let path: string;
    try {
      path = fileURLToPath(url);
    } catch (err) {
      throw new UserError(`"${url}" is not a usable file URL (${err instanceof Error ? err.message : String(err)})`);
    }
    source = { kind: "file", path, ext: extname(path).toLowerCase() };
  } else if (/^[a-z][a-z0-9+.-]+:\/\//i.test(url)) {
    throw new UserError(`cannot fetch "${url}": use an http(s):// or file:// URL, or a local file path`);
  } else {
    const path = resolve(url);
    source = { kind: "file", path, ext: extname(path).toLowerCase() };
  }
  if (source.ext !== ".parquet" && source.ext !== ".jsonl") {
    throw new UserError(`cannot tell the format of "${url}": the file name must end in .parquet or .jsonl`);
  }
  return source;
}

/** Copy a local file to `dest` (a staging name: the caller checks it before renaming it into place). */
async function copyLocal(path: string, dest: string, onProgress: DownloadOptions["onProgress"]): Promise<void> {
  if (!(await isFile(path))) throw new DataError(`${path} does not exist or is not a file: check the path given to --url or $${RECYCLING_THE_WEB_URL_ENV}`);
  makeFolder(dirname(dest), "the download folder");
  await copyFile(path, dest);
  const size = (await stat(dest)).size;
  onProgress?.({ received: size, total: size });
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
