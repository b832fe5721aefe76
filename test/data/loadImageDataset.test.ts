import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { test } from "node:test";
import { IMAGE_DATASET_NAMES, loadImageDataset } from "../../src/data/loadImageDataset.js";
import type { ImageDatasetName } from "../../src/data/types.js";
import { cifarTarball, makeCifarBatches, tempDir, writeIdxFolder } from "./fixtures.js";

test("loadImageDataset dispatches by name with dataDir", async () => {
  assert.deepEqual(IMAGE_DATASET_NAMES, ["mnist", "fashion-mnist", "cifar10"]);
  const idx = tempDir();
  writeIdxFolder(idx, 2, 1, true);
  const cifar = tempDir();
  writeFileSync(join(cifar, "cifar-10-binary.tar.gz"), await cifarTarball(makeCifarBatches(1)));
  const dims: Record<ImageDatasetName, number> = { mnist: 784, "fashion-mnist": 784, cifar10: 3072 };
  for (const name of IMAGE_DATASET_NAMES) {
    const ds = await loadImageDataset(name, { dataDir: name === "cifar10" ? cifar : idx });
    assert.equal(ds.name, name);
    assert.equal(ds.inputDim, dims[name]);
    assert.equal(ds.numClasses, 10);
    assert.equal(ds.classNames.length, 10);
    assert.equal(ds.train.x.length, ds.train.n * ds.inputDim);
    assert.equal(ds.test.x.length, ds.test.n * ds.inputDim);
  }
});

test("an unknown name is a DataError listing the choices", async () => {
  await assert.rejects(loadImageDataset("imagenet" as ImageDatasetName), {
    name: "DataError",
    message: 'unknown dataset "imagenet": the choices are mnist, fashion-mnist, cifar10, or a folder of images (train/<class>/*.png, test/<class>/*.png) or of arrays (x_train.npy, y_train.npy, x_test.npy, y_test.npy), or an .npz or .safetensors file of those arrays',
  });
});
