/**
 * A researcher's own images: a folder laid out as torchvision's `ImageFolder`, one subfolder per
 * class under `train/` and under `test/`:
 *
 *   ROOT/train/<class>/*.png     ROOT/test/<class>/*.png
 *
 * Classes are the subfolders of `train/`, sorted by name (their index is the label); every image has
 * the size of the first one. An image is read as grayscale when every pixel of every image has
 * R = G = B, else as RGB (alpha dropped), channels last. Pixels are normalised per channel with the
 * training split's own mean and std. The dataset's name is the folder's name.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { PNG } from "pngjs";
import { channelStats, normalizePixels } from "./normalize.js";
import { DataError, type ImageDataset } from "./types.js";

const isDir = (p: string) => {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
};

type Decoded = { rgba: Uint8Array; label: number };

/** Every PNG of `dir/<class>/`, decoded, in class then file-name order; the image size is checked against `size`. */
function readSplit(dir: string, classes: string[], size: { w: number; h: number } | null): { images: Decoded[]; size: { w: number; h: number } } {
  const images: Decoded[] = [];
  let sz = size;
  classes.forEach((cls, label) => {
    const folder = join(dir, cls);
    if (!isDir(folder)) return; // a class may be absent from the test split
    for (const name of readdirSync(folder).filter((f) => f.toLowerCase().endsWith(".png")).sort()) {
      const path = join(folder, name);
      let png: PNG;
      try {
        png = PNG.sync.read(readFileSync(path));
      } catch (err) {
        throw new DataError(`${path}: not a readable PNG (${(err as Error).message})`);
      }
      if (!sz) sz = { w: png.width, h: png.height };
      if (png.width !== sz.w || png.height !== sz.h) throw new DataError(`${path}: ${png.width}×${png.height}, but the images are ${sz.w}×${sz.h} (resize them to one size)`);
      images.push({ rgba: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.length), label });
    }
  });
  if (!sz) throw new DataError(`${dir}: no PNG images in its class folders`);
  return { images, size: sz };
}

/** Channels-last pixels of RGBA images: one channel (R) when `gray`, else R, G, B. */
function pixels(images: Decoded[], gray: boolean, pixelsPerImage: number): Uint8Array {
  const c = gray ? 1 : 3;
  const out = new Uint8Array(images.length * pixelsPerImage * c);
  images.forEach((im, i) => {
    for (let p = 0; p < pixelsPerImage; p++) for (let k = 0; k < c; k++) out[(i * pixelsPerImage + p) * c + k] = im.rgba[p * 4 + k];
  });
  return out;
}

/** Load a folder of images per class (see the file comment). Throws `DataError` naming what is wrong. */
export function loadImageFolder(root: string): ImageDataset {
  const trainDir = join(root, "train"), testDir = join(root, "test");
  if (!isDir(root)) throw new DataError(`unknown dataset "${root}": the choices are mnist, fashion-mnist, cifar10, or a folder of images (train/<class>/*.png, test/<class>/*.png) or of arrays (x_train.npy, y_train.npy, x_test.npy, y_test.npy), or an .npz or .safetensors file of those arrays`);
  if (!isDir(trainDir) || !isDir(testDir)) throw new DataError(`dataset ${root}: a folder of images needs train/<class>/*.png and test/<class>/*.png (or x_train.npy, y_train.npy, x_test.npy and y_test.npy)`);
  const classes = readdirSync(trainDir).filter((c) => isDir(join(trainDir, c))).sort();
  if (classes.length > 256) throw new DataError(`${trainDir}: ${classes.length} class folders; at most 256 are supported`);
  if (classes.length < 2) throw new DataError(`${trainDir}: ${classes.length} class folder(s); a classifier needs at least 2`);
  const extra = readdirSync(testDir).filter((c) => isDir(join(testDir, c)) && !classes.includes(c));
  if (extra.length) throw new DataError(`${testDir}: class folder(s) ${extra.join(", ")} are not in train/`);
  const train = readSplit(trainDir, classes, null);
  const test = readSplit(testDir, classes, train.size);
  const all = [...train.images, ...test.images];
  const gray = all.every((im) => {
    for (let p = 0; p < im.rgba.length; p += 4) if (im.rgba[p] !== im.rgba[p + 1] || im.rgba[p] !== im.rgba[p + 2]) return false;
    return true;
  });
  const perImage = train.size.w * train.size.h;
  const channels = gray ? 1 : 3;
  const trainPixels = pixels(train.images, gray, perImage);
  const stats = channelStats(trainPixels, channels);
  const split = (images: Decoded[], x: Uint8Array) => ({ x: normalizePixels(x, stats), y: Uint8Array.from(images, (im) => im.label), n: images.length });
  return {
    name: basename(resolve(root)),
    inputDim: perImage * channels,
    numClasses: classes.length,
    classNames: classes,
    stats,
    shape: [train.size.h, train.size.w, channels],
    source: `${resolve(root)} (${train.size.w}×${train.size.h} ${gray ? "grayscale" : "RGB"}, normalised by its training split: mean ${stats.mean.map((m) => m.toFixed(4)).join(", ")}, std ${stats.std.map((s) => s.toFixed(4)).join(", ")})`,
    train: split(train.images, trainPixels),
    test: split(test.images, pixels(test.images, gray, perImage)),
  };
}
