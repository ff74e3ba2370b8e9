/**
 * Reading and writing the safetensors format (https://github.com/huggingface/safetensors):
 * an 8-byte little-endian header length N, N bytes of JSON header, then the tensor bytes.
 *
 * Reading validates the whole header up front and then reads one tensor at a time with
 * positional reads, so loading a checkpoint needs about its own size in memory, not twice.
 * Writing produces the bytes Python's `safetensors.torch.save_file` writes for the same tensors.
 */
import * as fs from 'node:fs';
import { endianness } from 'node:os';
import { decodeBf16, decodeF16, encodeBf16, encodeF16 } from './float16.js';
import { MAX_HEADER_SIZE, dtypeSize, elementCount, parseHeader, serializeHeader, type TensorInfo } from './header.js';
import { writeFileAtomicWith } from '../files/atomic.js';


// Typed-array views below reinterpret file bytes in host order; the format is little-endian.
if (endianness() !== 'LE') throw new Error('finetune-lab/safetensors needs a little-endian CPU');

/** Fills `target` from byte `position` on, looping over short reads. */
function readExactly(fd: number, target: Uint8Array, position: number, file: string): void {
  let done = 0;
  while (done < target.length) {
    const chunk = Math.min(target.length - done, 1 << 30);
    const n = fs.readSync(fd, target, done, chunk, position + done);
    if (n === 0) throw new Error(`${file}: unexpected end of file at byte ${position + done}`);
    done += n;
  }
}

/** An open safetensors file; the tensor bytes stay on disk until asked for. */
export class SafetensorsFile {
  /** Every tensor's dtype, shape and byte range, in the order of their bytes in the file. */
  readonly tensors: ReadonlyMap<string, TensorInfo>;
  /** The free-form `__metadata__` strings (e.g. `{format: 'pt'}`). */
  readonly metadata: Readonly<Record<string, string>>;
  private fd: number | undefined;

  /** Use {@link readSafetensors}. */
  constructor(
    readonly path: string,
    fd: number,
    tensors: Map<string, TensorInfo>,
    metadata: Record<string, string>,
    private readonly dataStart: number,
  ) {
    this.fd = fd;
    this.tensors = tensors;
    this.metadata = metadata;
  }

  /** Tensor names in the order of their bytes in the file (by name, for files Python wrote). */
  names(): string[] {
    return [...this.tensors.keys()];
  }

  /** Metadata of one tensor; throws naming the file if it is absent. */
  info(name: string): TensorInfo {
    const info = this.tensors.get(name);
    if (!info) throw new Error(`${this.path}: no tensor named "${name}" (the file has ${this.tensors.size} tensors)`);
    return info;
  }

  /** The tensor's raw little-endian bytes, in a fresh buffer of their own (so any typed view is aligned). */
  readBytes(name: string): Uint8Array {
    const { dataOffsets } = this.info(name);
    return this.readInto(name, new Uint8Array(dataOffsets[1] - dataOffsets[0]));
  }

  /**
   * The tensor as float32 values in row-major order. F16 and BF16 convert exactly, F64 rounds
   * to nearest; integer and BOOL tensors become their numeric values.
   */
  readFloat32(name: string): Float32Array {
    const { dtype, shape } = this.info(name);
    const out = new Float32Array(elementCount(shape) ?? 0);
    if (dtype === 'F32') {
      this.readInto(name, new Uint8Array(out.buffer));
      return out;
    }
    const raw = this.readBytes(name).buffer;
    switch (dtype) {
      case 'F16': decodeF16(new Uint16Array(raw), out); break;
      case 'BF16': decodeBf16(new Uint16Array(raw), out); break;
      case 'F64': out.set(new Float64Array(raw)); break;
      case 'I64': new BigInt64Array(raw).forEach((v, i) => (out[i] = Number(v))); break;
      case 'U64': new BigUint64Array(raw).forEach((v, i) => (out[i] = Number(v))); break;
      case 'I32': out.set(new Int32Array(raw)); break;
      case 'U32': out.set(new Uint32Array(raw)); break;
      case 'I16': out.set(new Int16Array(raw)); break;
      case 'U16': out.set(new Uint16Array(raw)); break;
      case 'I8': out.set(new Int8Array(raw)); break;
      case 'U8': case 'BOOL': out.set(new Uint8Array(raw)); break;
    }
    return out;
  }

  /** Releases the file descriptor; reading afterwards throws. */
  close(): void {
    if (this.fd !== undefined) fs.closeSync(this.fd);
    this.fd = undefined;
  }

  private readInto(name: string, target: Uint8Array): Uint8Array {
    if (this.fd === undefined) throw new Error(`${this.path}: cannot read "${name}", the file is closed`);
    readExactly(this.fd, target, this.dataStart + this.info(name).dataOffsets[0], this.path);
    return target;
  }
}

/**
 * Opens a safetensors file and validates its whole header (sizes, dtypes, shapes, offsets that
 * tile the data exactly) before returning; hostile or truncated files give an Error naming the
 * file and the problem. Only the header is read now. Call `close()` when done.
 */
export function readSafetensors(file: string): SafetensorsFile {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    if (size < 8) throw new Error(`file is ${size} bytes, too short for the 8-byte header length`);
    const prefix = new Uint8Array(8);
    readExactly(fd, prefix, 0, file);
    const headerLength = Buffer.from(prefix).readBigUInt64LE(0);
    if (headerLength > BigInt(MAX_HEADER_SIZE)) {
      throw new Error(`header length ${headerLength} exceeds the ${MAX_HEADER_SIZE}-byte limit (not a safetensors file?)`);
    }
    const n = Number(headerLength);
    if (8 + n > size) throw new Error(`header length ${n} runs past the end of the ${size}-byte file (truncated?)`);
    const headerBytes = new Uint8Array(n);
    readExactly(fd, headerBytes, 8, file);
    const { tensors, metadata } = parseHeader(headerBytes, size - 8 - n);
    return new SafetensorsFile(file, fd, tensors, metadata, 8 + n);
  } catch (error) {
    fs.closeSync(fd);
    const message = (error as Error).message;
    throw new Error(message.startsWith(file) ? message : `${file}: ${message}`, { cause: error });
  }
}

/** One tensor to write: float32 values in row-major order. */
export interface TensorToWrite {
  name: string;
  shape: number[];
  data: Float32Array;
}

export interface WriteOptions {
  /** Stored element type; values are rounded to nearest even for F16/BF16. Default F32. */
  dtype?: 'F32' | 'F16' | 'BF16';
  /** `__metadata__` strings. Default `{format: 'pt'}`, which Python transformers requires to load the file. */
  metadata?: Record<string, string>;
}

async function writeAll(handle: fs.promises.FileHandle, bytes: Uint8Array): Promise<void> {
  let done = 0;
  while (done < bytes.length) {
    const { bytesWritten } = await handle.write(bytes, done, bytes.length - done);
    done += bytesWritten;
  }
}

function encode(values: Float32Array, dtype: 'F32' | 'F16' | 'BF16'): Uint8Array {
  if (dtype === 'F32') return new Uint8Array(values.buffer, values.byteOffset, values.byteLength);
  const bits = dtype === 'F16' ? encodeF16(values) : encodeBf16(values);
  return new Uint8Array(bits.buffer);
}

/**
 * Writes tensors as a safetensors file, laid out byte for byte as Python's `save_file` lays them
 * out, atomically (see `writeFileAtomic`): readers never see a half-written checkpoint.
 */
export async function writeSafetensors(file: string, tensors: TensorToWrite[], options: WriteOptions = {}): Promise<void> {
  const dtype = options.dtype ?? 'F32';
  const seen = new Set<string>();
  for (const { name, shape, data } of tensors) {
    if (name === '__metadata__') throw new Error(`${file}: "__metadata__" is reserved and cannot name a tensor`);
    if (seen.has(name)) throw new Error(`${file}: tensor "${name}" is given twice`);
    seen.add(name);
    const count = shape.every((d) => Number.isSafeInteger(d) && d >= 0) ? elementCount(shape) : undefined;
    if (count !== data.length) {
      throw new Error(`${file}: tensor "${name}" has shape ${JSON.stringify(shape)} but ${data.length} values`);
    }
  }
  const byName = new Map(tensors.map((t) => [t.name, t]));
  const { header, ordered } = serializeHeader(
    tensors.map(({ name, shape, data }) => ({ name, shape, dtype, byteLength: data.length * dtypeSize(dtype) })),
    options.metadata ?? { format: 'pt' },
  );

  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(BigInt(header.length));
  const size = 8 + header.length + ordered.reduce((n, entry) => n + byName.get(entry.name)!.data.length * dtypeSize(dtype), 0);
  await writeFileAtomicWith(file, async (handle) => {
    await writeAll(handle, prefix);
    await writeAll(handle, header);
    for (const entry of ordered) await writeAll(handle, encode(byName.get(entry.name)!.data, dtype));
  }, size);
}
