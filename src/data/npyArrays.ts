/**
 * A researcher's own arrays: a folder with NumPy's `.npy` files, as `numpy.save` writes them:
 *
 *   ROOT/x_train.npy, ROOT/y_train.npy, ROOT/x_test.npy, ROOT/y_test.npy   (see `splitArrays.ts`)
 *   ROOT/classes.txt  optional: one class name per line (else the labels' numbers)
 *
 * Only little-endian, C-order arrays are read (NumPy's default). The dataset's name is the folder's.
 * The `.npy` parser also reads the members of `.npz` archives (`npzArchive.ts`).
 */
import { existsSync } from "node:fs";
import { join } from "node:path";
import { datasetFromArrays, pickSplitArrays, readClassesTxt, readDataFile, SPLIT_ARRAYS, type NumericArray } from "./splitArrays.js";
import { DataError, type ImageDataset } from "./types.js";

export type NpyArray = NumericArray & { dtype: string };

const TYPED: Record<string, (buf: ArrayBuffer, offset: number, n: number) => NpyArray["data"]> = {
  "|u1": (b, o, n) => new Uint8Array(b, o, n),
  "|i1": (b, o, n) => new Int8Array(b, o, n),
  "<i2": (b, o, n) => new Int16Array(b, o, n),
  "<u2": (b, o, n) => new Uint16Array(b, o, n),
  "<i4": (b, o, n) => new Int32Array(b, o, n),
  "<u4": (b, o, n) => new Uint32Array(b, o, n),
  "<i8": (b, o, n) => new BigInt64Array(b, o, n),
  "<u8": (b, o, n) => new BigUint64Array(b, o, n),
  "<f4": (b, o, n) => new Float32Array(b, o, n),
  "<f8": (b, o, n) => new Float64Array(b, o, n),
};

/** The header of a `.npy` file: dtype descr, shape, and where the data starts. */
function npyHeader(bytes: Buffer, where: string): { descr: string; shape: number[]; offset: number } {
  if (bytes.length < 10 || bytes.toString("latin1", 0, 6) !== "\x93NUMPY") throw new DataError(`${where}: not a .npy file`);
  const major = bytes[6];
  const headerLen = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = major === 1 ? 10 : 12;
  const header = bytes.toString("latin1", start, start + headerLen);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*True/.test(header);
  const shapeText = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || shapeText === undefined) throw new DataError(`${where}: a .npy header without descr or shape`);
  if (fortran) throw new DataError(`${where}: Fortran-order array; save it in C order (numpy.ascontiguousarray)`);
  const shape = shapeText.split(",").map((s) => s.trim()).filter(Boolean).map(Number);
  return { descr, shape, offset: start + headerLen };
}

/** The `size` data bytes after the header, checked for truncation. */
function npyData(bytes: Buffer, where: string, offset: number, size: number): Buffer {
  if (bytes.length - offset < size) throw new DataError(`${where}: truncated (${bytes.length - offset} of ${size} data bytes)`);
  return bytes.subarray(offset, offset + size);
}

/** Parse one numeric `.npy` array (format versions 1–3) from its bytes. Throws `DataError` naming `where`. */
export function parseNpy(bytes: Buffer, where: string): NpyArray {
  const { descr, shape, offset } = npyHeader(bytes, where);
  const make = TYPED[descr];
  if (!make) throw new DataError(`${where}: dtype ${descr} is not read (uint8 or float32 images, integer labels)`);
  const n = shape.reduce((a, b) => a * b, 1);
  // Copy into an aligned buffer: typed arrays need their element alignment.
  const copy = new Uint8Array(npyData(bytes, where, offset, Number(descr.slice(2)) * n));
  return { dtype: descr, shape, data: make(copy.buffer, 0, n) };
}

/**
 * Parse a 1-D `.npy` array of strings, as `np.array(["cat", "dog"])` saves them: fixed-width
 * unicode (`<U`, UTF-32) or bytes (`|S`), NUL-padded. Throws `DataError` naming `where`.
 */
export function parseNpyStrings(bytes: Buffer, where: string): string[] {
  const { descr, shape, offset } = npyHeader(bytes, where);
  const m = /^([<|])([US])(\d+)$/.exec(descr);
  if (descr === "|O") throw new DataError(`${where}: Python objects (pickled); save the names as a string array, np.array(names)`);
  if (!m || shape.length !== 1) throw new DataError(`${where}: dtype ${descr} [${shape}]; expected a 1-D string array, np.array(names)`);
  const width = Number(m[3]) * (m[2] === "U" ? 4 : 1);
  const data = npyData(bytes, where, offset, width * shape[0]);
  return Array.from({ length: shape[0] }, (_, i) => {
    const cell = data.subarray(i * width, (i + 1) * width);
    const text = m[2] === "U" ? String.fromCodePoint(...new Uint32Array(Uint8Array.from(cell).buffer)) : cell.toString("utf8");
    return text.replace(/\0+$/, "");
  });
}

/** Read one `.npy` file. Throws `DataError` naming the file. */
export function readNpy(path: string): NpyArray {
  return parseNpy(readDataFile(path), path);
}

/** Whether `root` holds the four arrays of a split dataset. */
export function isNpyFolder(root: string): boolean {
  return SPLIT_ARRAYS.every((f) => existsSync(join(root, `${f}.npy`)));
}

/** Load a folder of `.npy` arrays (see the file comment). */
export function loadNpyFolder(root: string): ImageDataset {
  const at = (array: string) => join(root, `${array}.npy`);
  const held = Object.fromEntries(SPLIT_ARRAYS.filter((a) => existsSync(at(a))).map((a) => [a, readNpy(at(a))]));
  const arrays = pickSplitArrays(root, held, "array", "numpy.save(ROOT/x_train.npy, ...) and the same for y_train, x_test, y_test");
  return datasetFromArrays(arrays, { path: root, kind: ".npy arrays", at }, readClassesTxt(join(root, "classes.txt")));
}
