/**
 * The safetensors header: parsing with the same checks as the reference Rust crate
 * (huggingface/safetensors `read_metadata` + `Metadata::validate`), and serialisation
 * in the exact byte layout its `serialize` writes.
 */

/** Element types of the format (the reference crate's names). */
export type DType = 'F64' | 'F32' | 'F16' | 'BF16' | 'I64' | 'I32' | 'I16' | 'I8' | 'U64' | 'U32' | 'U16' | 'U8' | 'BOOL';

/** Where one tensor lives: `dataOffsets` are byte offsets relative to the end of the header. */
export interface TensorInfo {
  dtype: DType;
  shape: number[];
  dataOffsets: [number, number];
}

export interface Header {
  /** In the order of their bytes in the file. */
  tensors: Map<string, TensorInfo>;
  metadata: Record<string, string>;
  /** Total bytes of tensor data that must follow the header. */
  dataLength: number;
}

const DTYPE_SIZES: Record<DType, number> = {
  BOOL: 1, U8: 1, I8: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8,
};

/** Same cap as the reference crate: a larger header is refused before it is read. */
export const MAX_HEADER_SIZE = 100_000_000;

export function dtypeSize(dtype: DType): number {
  return DTYPE_SIZES[dtype];
}

function isDType(value: unknown): value is DType {
  return typeof value === 'string' && Object.prototype.hasOwnProperty.call(DTYPE_SIZES, value);
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** Product of the dims, or undefined when it leaves the range of exact integers. */
export function elementCount(shape: readonly number[]): number | undefined {
  let count = 1;
  for (const dim of shape) {
    count *= dim;
    if (!Number.isSafeInteger(count)) return undefined;
  }
  return count;
}

/**
 * Parses and validates header bytes. `dataLength` is how many bytes the file holds after the
 * header; the tensors must cover exactly that range, contiguously, as the reference crate requires.
 * Errors are plain messages; the caller prefixes the file name.
 */
export function parseHeader(bytes: Uint8Array, dataLength: number): Header {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new Error('header is not valid UTF-8');
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new Error(`header is not valid JSON (${(error as Error).message})`);
  }
  if (!isPlainObject(json)) throw new Error('header is not a JSON object');

  const metadata: Record<string, string> = {};
  const tensors = new Map<string, TensorInfo>();
  for (const [name, entry] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (!isPlainObject(entry)) throw new Error('"__metadata__" is not an object of strings');
      for (const [key, value] of Object.entries(entry)) {
        if (typeof value !== 'string') throw new Error(`"__metadata__" entry ${JSON.stringify(key)} is not a string`);
        metadata[key] = value;
      }
      continue;
    }
    tensors.set(name, parseEntry(name, entry));
  }

  // Sorted by offsets, the tensors must tile [0, dataLength) without gaps or overlaps.
  const byOffset = [...tensors.entries()].sort(
    ([, a], [, b]) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1],
  );
  let end = 0;
  for (const [name, info] of byOffset) {
    const [begin, stop] = info.dataOffsets;
    if (begin !== end) {
      throw new Error(
        begin < end
          ? `tensor "${name}" data_offsets [${begin}, ${stop}] overlap the previous tensor, which ends at ${end}`
          : `tensor "${name}" data_offsets [${begin}, ${stop}] leave a hole: the previous tensor ends at ${end}`,
      );
    }
    if (stop > dataLength) {
      throw new Error(`tensor "${name}" data_offsets [${begin}, ${stop}] run past the end of the data (${dataLength} bytes)`);
    }
    end = stop;
  }
  if (end !== dataLength) {
    throw new Error(`the tensors cover ${end} bytes of data but the file holds ${dataLength} bytes after the header`);
  }
  return { tensors: new Map(byOffset), metadata, dataLength };
}

function parseEntry(name: string, entry: unknown): TensorInfo {
  const where = `tensor "${name}"`;
  if (!isPlainObject(entry)) throw new Error(`${where} is not an object with dtype, shape and data_offsets`);
  const { dtype, shape, data_offsets: offsets } = entry;
  if (!isDType(dtype)) {
    throw new Error(`${where} has unknown dtype ${JSON.stringify(dtype)} (known: ${Object.keys(DTYPE_SIZES).join(', ')})`);
  }
  if (!Array.isArray(shape) || !shape.every(isCount)) {
    throw new Error(`${where} has invalid shape ${JSON.stringify(shape)}: expected an array of non-negative integers`);
  }
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0] > offsets[1]) {
    throw new Error(`${where} has invalid data_offsets ${JSON.stringify(offsets)}: expected [begin, end] with 0 <= begin <= end`);
  }
  const count = elementCount(shape);
  const bytes = count === undefined ? undefined : count * DTYPE_SIZES[dtype];
  if (bytes === undefined || !Number.isSafeInteger(bytes)) {
    throw new Error(`${where} shape ${JSON.stringify(shape)} has too many elements (the size overflows)`);
  }
  if (offsets[1] - offsets[0] !== bytes) {
    throw new Error(
      `${where} data_offsets [${offsets[0]}, ${offsets[1]}] span ${offsets[1] - offsets[0]} bytes, ` +
        `but ${dtype} ${JSON.stringify(shape)} needs ${bytes}`,
    );
  }
  return { dtype, shape, dataOffsets: [offsets[0], offsets[1]] };
}

/** Byte-wise UTF-8 order, as Rust compares `String`s. */
function compareUtf8(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}

export interface HeaderEntry {
  name: string;
  dtype: DType;
  shape: number[];
  byteLength: number;
}

/**
 * Lays tensors out as the reference writer does and returns the header bytes (compact JSON padded
 * with spaces to a multiple of 8) with the entries in data order. The reference sorts by dtype
 * (descending alignment), then by name; the entries here share one dtype, so by name.
 */
export function serializeHeader(
  entries: HeaderEntry[],
  metadata: Record<string, string> | undefined,
): { header: Buffer; ordered: HeaderEntry[] } {
  const ordered = [...entries].sort((a, b) => compareUtf8(a.name, b.name));
  // Built by hand because JS objects would move integer-like keys ("0", "1") to the front.
  const parts: string[] = [];
  if (metadata !== undefined) {
    const keys = Object.keys(metadata).sort(compareUtf8);
    parts.push(`"__metadata__":{${keys.map((key) => `${JSON.stringify(key)}:${JSON.stringify(metadata[key])}`).join(',')}}`);
  }
  let offset = 0;
  for (const entry of ordered) {
    const offsets = `[${offset},${offset + entry.byteLength}]`;
    parts.push(`${JSON.stringify(entry.name)}:{"dtype":"${entry.dtype}","shape":[${entry.shape.join(',')}],"data_offsets":${offsets}}`);
    offset += entry.byteLength;
  }
  const json = Buffer.from(`{${parts.join(',')}}`, 'utf8');
  const header = Buffer.alloc(Math.ceil(json.length / 8) * 8, ' ');
  json.copy(header);
  return { header, ordered };
}
