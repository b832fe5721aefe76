/**
 * A researcher's own arrays: a folder with NumPy's `.npy` files, as `numpy.save` writes them:
 *
 *   ROOT/x_train.npy  uint8 [n, h, w] or [n, h, w, c] (8-bit pixels, normalised per channel by the
 *                     training split's mean and std), or float32 [n, ...] (features, used as they are)
 *   ROOT/y_train.npy  integer labels [n] (int8/16/32/64 or uint8/16/32)
 *   ROOT/x_test.npy, ROOT/y_test.npy   the same for the test split
 *   ROOT/classes.txt  optional: one class name per line (else the labels' numbers)
 *
 * Only little-endian, C-order arrays are read (NumPy's default). The dataset's name is the folder's.
 */
import { existsSync, readFileSync } from "node:fs";
import { basename, join, resolve } from "node:path";
import { channelStats, normalizePixels } from "./normalize.js";
import { DataError, type ChannelStats, type ImageDataset } from "./types.js";

export type NpyArray = { dtype: string; shape: number[]; data: Uint8Array | Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | BigInt64Array | Uint16Array | Uint32Array };

const TYPED: Record<string, (buf: ArrayBuffer, offset: number, n: number) => NpyArray["data"]> = {
  "|u1": (b, o, n) => new Uint8Array(b, o, n),
  "|i1": (b, o, n) => new Int8Array(b, o, n),
  "<i2": (b, o, n) => new Int16Array(b, o, n),
  "<u2": (b, o, n) => new Uint16Array(b, o, n),
  "<i4": (b, o, n) => new Int32Array(b, o, n),
  "<u4": (b, o, n) => new Uint32Array(b, o, n),
  "<i8": (b, o, n) => new BigInt64Array(b, o, n),
  "<f4": (b, o, n) => new Float32Array(b, o, n),
  "<f8": (b, o, n) => new Float64Array(b, o, n),
};

/** Parse one `.npy` file (format versions 1–3). Throws `DataError` naming the file. */
export function readNpy(path: string): NpyArray {
  const bytes = readFileSync(path);
  if (bytes.length < 10 || bytes.toString("latin1", 0, 6) !== "\x93NUMPY") throw new DataError(`${path}: not a .npy file`);
  const major = bytes[6];
  const headerLen = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = bytes.toString("latin1", start, start + headerLen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*True/.test(header);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || shapeText === undefined) throw new DataError(`${path}: a .npy header without descr or shape`);
  if (fortran) throw new DataError(`${path}: Fortran-order array; save it in C order (numpy.ascontiguousarray)`);
  const make = TYPED[descr];
  if (!make) throw new DataError(`${path}: dtype ${descr} is not read (uint8 or float32 images, integer labels)`);
  const shape = shapeText.split(",").map((s) => s.trim()).filter(Boolean).map(Number);
  const n = shape.reduce((a, b) => a * b, 1);
  const offset = start + headerLen;
  const size = Number(descr.slice(2)) * n;
  if (bytes.length - offset < size) throw new DataError(`${path}: truncated (${bytes.length - offset} of ${size} data bytes)`);
  // Copy into an aligned buffer: typed arrays need their element alignment.
  const copy = new Uint8Array(size);
  copy.set(bytes.subarray(offset, offset + size));
  return { dtype: descr, shape, data: make(copy.buffer, 0, n) };
}

/** Whether `root` holds the four arrays of a split dataset. */
export function isNpyFolder(root: string): boolean {
  return ["x_train", "y_train", "x_test", "y_test"].every((f) => existsSync(join(root, `${f}.npy`)));
}

/** Labels as small non-negative integers, checked against the class count. */
function labels(a: NpyArray, path: string, n: number): Uint8Array {
  if (a.shape.length !== 1 || a.shape[0] !== n) throw new DataError(`${path}: shape [${a.shape}], expected [${n}] labels`);
  if (a.dtype.includes("f")) throw new DataError(`${path}: labels must be integers, not ${a.dtype}`);
  return Uint8Array.from(a.data as ArrayLike<number | bigint>, (v, i) => {
    const k = Number(v);
    if (!(k >= 0 && k < 256)) throw new DataError(`${path}: label ${k} at ${i} is not in 0..255`);
    return k;
  });
}

/** Load a folder of `.npy` arrays (see the file comment). */
export function loadNpyFolder(root: string): ImageDataset {
  const xs = { train: readNpy(join(root, "x_train.npy")), test: readNpy(join(root, "x_test.npy")) };
  const [tr, te] = [xs.train, xs.test];
  if (tr.dtype !== te.dtype || tr.shape.slice(1).join() !== te.shape.slice(1).join()) {
    throw new DataError(`${root}: x_train is ${tr.dtype} [${tr.shape}] but x_test is ${te.dtype} [${te.shape}]; they must match past the first axis`);
  }
  const pixels = tr.dtype === "|u1";
  if (!pixels && tr.dtype !== "<f4") throw new DataError(`${join(root, "x_train.npy")}: ${tr.dtype}; images must be uint8 pixels or float32 features`);
  const inputDim = tr.shape.slice(1).reduce((a, b) => a * b, 1);
  const ytr = labels(readNpy(join(root, "y_train.npy")), join(root, "y_train.npy"), tr.shape[0]);
  const yte = labels(readNpy(join(root, "y_test.npy")), join(root, "y_test.npy"), te.shape[0]);
  const numClasses = Math.max(...ytr, ...yte) + 1;
  if (numClasses < 2) throw new DataError(`${root}: one class only; a classifier needs at least 2`);
  const classFile = join(root, "classes.txt");
  const classNames = existsSync(classFile) ? readFileSync(classFile, "utf8").split("\n").map((l) => l.trim()).filter(Boolean) : Array.from({ length: numClasses }, (_, i) => String(i));
  if (classNames.length < numClasses) throw new DataError(`${classFile}: ${classNames.length} names for ${numClasses} classes`);
  const channels = pixels && tr.shape.length === 4 ? tr.shape[3] : 1;
  let stats: ChannelStats | undefined;
  let x = { train: tr.data as Float32Array, test: te.data as Float32Array };
  if (pixels) {
    const px = tr.data as Uint8Array;
    stats = channelStats(px, channels);
    x = { train: normalizePixels(px, stats), test: normalizePixels(te.data as Uint8Array, stats) };
  }
  return {
    name: basename(resolve(root)),
    inputDim,
    numClasses,
    classNames: classNames.slice(0, numClasses),
    ...(stats ? { stats } : {}),
    ...(pixels && (tr.shape.length === 3 || tr.shape.length === 4) ? { shape: [tr.shape[1], tr.shape[2], channels] as const } : {}),
    source: `${resolve(root)} (.npy arrays: x_train ${tr.dtype} [${tr.shape}], x_test [${te.shape}]${stats ? ", normalised by the training split" : ", features used as given"})`,
    train: { x: x.train, y: ytr, n: tr.shape[0] },
    test: { x: x.test, y: yte, n: te.shape[0] },
  };
}
