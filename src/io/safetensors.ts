/**
 * The safetensors file format (https://github.com/huggingface/safetensors): an 8-byte little-endian
 * header length, a JSON header `{ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__ }`,
 * then the raw little-endian tensor bytes.
 *
 * Written here because npm has no maintained safetensors writer for Node; the format is the
 * documented one above, so files open in Python's `safetensors.numpy.load_file`.
 */
import { UserError } from "../errors.js";

/** The format's dtypes that have a JavaScript typed array (F16, BF16, BOOL and F8 have none and are not read). */
const CTOR = {
  F64: Float64Array,
  F32: Float32Array,
  I64: BigInt64Array,
  I32: Int32Array,
  I16: Int16Array,
  I8: Int8Array,
  U64: BigUint64Array,
  U32: Uint32Array,
  U16: Uint16Array,
  U8: Uint8Array,
} as const;

export type SafeDType = keyof typeof CTOR;
/** Any readable tensor (`decodeAnySafetensors`); `data` is `[product of shape]`, row-major. */
export type AnySafeTensor = { dtype: SafeDType; shape: number[]; data: Float64Array | Float32Array | BigInt64Array | Int32Array | Int16Array | Int8Array | BigUint64Array | Uint32Array | Uint16Array | Uint8Array };
/** The tensors dynamoe itself writes and reads back (checkpoints, exports). */
export type SafeTensor = { dtype: "F32" | "I32" | "U32" | "U8"; shape: number[]; data: Float32Array | Int32Array | Uint32Array | Uint8Array };
const OWN_DTYPES: readonly SafeDType[] = ["F32", "I32", "U32", "U8"];

const BYTES = (dtype: SafeDType): number => CTOR[dtype].BYTES_PER_ELEMENT;

/** Serialise tensors (sorted by name) and string metadata into one buffer. */
export function encodeSafetensors(tensors: Record<string, AnySafeTensor>, metadata: Record<string, string> = {}): Buffer {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const name of names) {
    const t = tensors[name];
    const bytes = t.data.byteLength;
    const expected = t.shape.reduce((a, b) => a * b, 1) * BYTES(t.dtype);
    if (bytes !== expected) throw new Error(`safetensors: ${name} has ${bytes} bytes, shape needs ${expected}`);
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = JSON.stringify(header);
  json += " ".repeat((8 - (json.length % 8)) % 8); // align the data to 8 bytes
  const headerBytes = Buffer.from(json, "utf8");
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let pos = 8 + headerBytes.length;
  for (const name of names) {
    const t = tensors[name];
    Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(out, pos);
    pos += t.data.byteLength;
  }
  return out;
}

/**
 * Parse a safetensors buffer holding only the dtypes dynamoe writes (`SafeTensor`). `file` names the
 * source in errors (a corrupt or truncated file, or another dtype, is a `UserError`).
 */
export function decodeSafetensors(buf: Buffer, file = "checkpoint"): { tensors: Record<string, SafeTensor>; metadata: Record<string, string> } {
  const { tensors, metadata } = decodeAnySafetensors(buf, file);
  for (const [name, t] of Object.entries(tensors)) {
    if (!OWN_DTYPES.includes(t.dtype)) throw new UserError(`${file}: tensor ${name} has unsupported dtype ${t.dtype} (read: ${OWN_DTYPES.join(", ")})`);
  }
  return { tensors: tensors as Record<string, SafeTensor>, metadata };
}

/**
 * Parse a safetensors buffer with any dtype that has a typed array (`AnySafeTensor`; 64-bit integers
 * as `BigInt64Array`/`BigUint64Array`). `file` names the source in errors (a corrupt or truncated
 * file, or F16, BF16, BOOL or F8, is a `UserError`). Each tensor's data is an aligned copy.
 */
export function decodeAnySafetensors(buf: Buffer, file = "checkpoint"): { tensors: Record<string, AnySafeTensor>; metadata: Record<string, string> } {
  const fail = (why: string): never => {
    throw new UserError(`${file}: corrupt safetensors file (${why})`);
  };
  if (buf.length < 8) fail("shorter than its 8-byte header length");
  const n = Number(buf.readBigUInt64LE(0));
  if (8 + n > buf.length) fail(`header of ${n} bytes runs past the end of the file`);
  let header: Record<string, { dtype: SafeDType; shape: number[]; data_offsets: [number, number] }>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + n).toString("utf8"));
  } catch {
    return fail("header is not JSON");
  }
  if (!header || typeof header !== "object" || Array.isArray(header)) return fail("header is not a JSON object");
  const base = 8 + n;
  const tensors: Record<string, AnySafeTensor> = {};
  let metadata: Record<string, string> = {};
  const isIndex = (v: unknown): v is number => typeof v === "number" && Number.isSafeInteger(v) && v >= 0;
  for (const [name, raw] of Object.entries(header as Record<string, unknown>)) {
    if (name === "__metadata__") {
      if (!raw || typeof raw !== "object" || Array.isArray(raw) || Object.values(raw).some((v) => typeof v !== "string")) fail("__metadata__ is not an object of strings");
      metadata = raw as Record<string, string>;
      continue;
    }
    if (!raw || typeof raw !== "object" || Array.isArray(raw)) return fail(`tensor ${name} is not described by an object`);
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    const dtype = info.dtype as SafeDType;
    const Ctor = typeof dtype === "string" ? CTOR[dtype] : undefined;
    if (!Ctor) throw new UserError(`${file}: tensor ${name} has unsupported dtype ${String(info.dtype)} (read: ${Object.keys(CTOR).join(", ")})`);
    if (!Array.isArray(info.shape) || !info.shape.every(isIndex)) return fail(`tensor ${name} has no valid shape (non-negative integers)`);
    const offsets = info.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isIndex) || offsets[0] > offsets[1]) return fail(`tensor ${name} has no valid data_offsets`);
    const [begin, end] = offsets as [number, number];
    if (base + end > buf.length) fail(`tensor ${name} runs past the end of the file (truncated?)`);
    const shape = info.shape as number[];
    const count = shape.reduce((a, b) => a * b, 1);
    if (end - begin !== count * BYTES(dtype)) fail(`tensor ${name} has a size that does not match its shape`);
    const copy = new Uint8Array(end - begin);
    copy.set(buf.subarray(base + begin, base + end));
    tensors[name] = { dtype, shape, data: new Ctor(copy.buffer) };
  }
  return { tensors, metadata };
}
