/**
 * Writes a folder of real images for `scripts/tarball-trial.sh`: MNIST digits 0–4 as 28×28 PNGs in
 * `OUT/train/<class>/` (600 each) and `OUT/test/<class>/` (100 each), from the official split.
 * Usage: node --import tsx scripts/tarballTrialImages.ts OUT
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { PNG } from "pngjs";
import { loadMnist } from "../src/data/mnist.js";
import { MNIST_STATS } from "../src/data/normalize.js";

const root = process.argv[2];
if (!root) throw new Error("usage: tarballTrialImages.ts OUT");
const d = await loadMnist();
const names = ["zero", "one", "two", "three", "four"];
for (const [split, data, per] of [["train", d.train, 600], ["test", d.test, 100]] as const) {
  const count = new Array(10).fill(0);
  for (let i = 0; i < data.n; i++) {
    const c = data.y[i];
    if (c >= names.length || count[c] >= per) continue;
    count[c]++;
    const png = new PNG({ width: 28, height: 28 });
    for (let p = 0; p < 784; p++) {
      const v = Math.round((data.x[i * 784 + p] * MNIST_STATS.std[0] + MNIST_STATS.mean[0]) * 255); // back to the file's 8-bit pixel
      png.data[p * 4] = png.data[p * 4 + 1] = png.data[p * 4 + 2] = v;
      png.data[p * 4 + 3] = 255;
    }
    mkdirSync(join(root, split, names[c]), { recursive: true });
    writeFileSync(join(root, split, names[c], `${i}.png`), PNG.sync.write(png));
  }
}
