/**
 * The safetensors file format (https://github.com/huggingface/safetensors): an 8-byte little-endian
 * header length, a JSON header `{ name: { dtype, shape, data_offsets: [begin, end] }, __metadata__ }`,
 * then the raw little-endian tensor bytes.
 *
 * Written here because npm has no maintained safetensors writer for Node; the format is the
 * documented one above, so files open in Python's `safetensors.numpy.load_file`.
 */
import { UserError } from "../errors.js";

export type SafeDType = "F32" | "I32" | "U32" | "U8";
export type SafeTensor = { dtype: SafeDType; shape: number[]; data: Float32Array | Int32Array | Uint32Array | Uint8Array };

const BYTES: Record<SafeDType, number> = { F32: 4, I32: 4, U32: 4, U8: 1 };
const CTOR = { F32: Float32Array, I32: Int32Array, U32: Uint32Array, U8: Uint8Array } as const;

/** Serialise tensors (sorted by name) and string metadata into one buffer. */
export function encodeSafetensors(tensors: Record<string, SafeTensor>, metadata: Record<string, string> = {}): Buffer {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const name of names) {
    const t = tensors[name];
    const bytes = t.data.byteLength;
    const expected = t.shape.reduce((a, b) => a * b, 1) * BYTES[t.dtype];
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
 * Parse a safetensors buffer. `file` names the source in errors (a corrupt or truncated file is a
 * `UserError`).
 */
export function decodeSafetensors(buf: Buffer, file = "checkpoint"): { tensors: Record<string, SafeTensor>; metadata: Record<string, string> } {
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
  const tensors: Record<string, SafeTensor> = {};
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
    if (!Ctor) return fail(`tensor ${name} has unsupported dtype ${String(info.dtype)}`);
    if (!Array.isArray(info.shape) || !info.shape.every(isIndex)) return fail(`tensor ${name} has no valid shape (non-negative integers)`);
    const offsets = info.data_offsets;
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isIndex) || offsets[0] > offsets[1]) return fail(`tensor ${name} has no valid data_offsets`);
    const [begin, end] = offsets as [number, number];
    if (base + end > buf.length) fail(`tensor ${name} runs past the end of the file (truncated?)`);
    const shape = info.shape as number[];
    const count = shape.reduce((a, b) => a * b, 1);
    if (end - begin !== count * BYTES[dtype]) fail(`tensor ${name} has a size that does not match its shape`);
    const copy = new Uint8Array(end - begin);
    copy.set(buf.subarray(base + begin, base + end));
    tensors[name] = { dtype, shape, data: new Ctor(copy.buffer) };
  }
  return { tensors, metadata };
}
