import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as v8 from 'node:v8';
import * as vm from 'node:vm';
import { readSafetensors, writeSafetensors, f32ToF16Bits, f32ToBf16Bits } from '../src/safetensors/index.js';

const FIXTURE = path.join(__dirname, 'fixtures/hf-reference/tiny-bert');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'safetensors-test-'));
process.on('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

let counter = 0;
const tempFile = () => path.join(tmp, `t${counter++}.safetensors`);

/** A deterministic pseudo-random float stream spanning many magnitudes. */
function randomValues(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  const next = () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  for (let i = 0; i < n; i++) out[i] = (next() - 0.5) * 2 ** Math.floor(next() * 40 - 28);
  return out;
}

const F16 = new Float32Array(65536);
{
  const probe = tempFile();
  // Decode every F16 bit pattern through the reader, so the table below is what readFloat32 yields.
  const header = JSON.stringify({ all: { dtype: 'F16', shape: [65536], data_offsets: [0, 131072] } });
  const bits = new Uint16Array(65536).map((_, i) => i);
  fs.writeFileSync(probe, craft(header, new Uint8Array(bits.buffer)));
  const file = readSafetensors(probe);
  F16.set(file.readFloat32('all'));
  file.close();
}

/** Assembles a file from a header string and data bytes, optionally lying about the header length. */
function craft(header: string | Buffer, data: Uint8Array = new Uint8Array(0), declaredLength?: bigint): Buffer {
  const json = typeof header === 'string' ? Buffer.from(header, 'utf8') : header;
  const prefix = Buffer.alloc(8);
  prefix.writeBigUInt64LE(declaredLength ?? BigInt(json.length));
  return Buffer.concat([prefix, json, data]);
}

test('reads the Python-written tiny BERT checkpoint: names, dtypes, shapes, metadata', () => {
  const config = JSON.parse(fs.readFileSync(path.join(FIXTURE, 'config.json'), 'utf8'));
  const file = readSafetensors(path.join(FIXTURE, 'model.safetensors'));
  try {
    assert.deepEqual(file.metadata, { format: 'pt' });
    assert.equal(file.names().length, 46);
    for (const info of file.tensors.values()) assert.equal(info.dtype, 'F32');
    assert.deepEqual(file.info('bert.embeddings.word_embeddings.weight').shape, [config.vocab_size, config.hidden_size]);
    assert.deepEqual(file.info('bert.encoder.layer.1.intermediate.dense.weight').shape, [config.intermediate_size, config.hidden_size]);
    assert.deepEqual(file.info('cls.predictions.bias').shape, [config.vocab_size]);
    const layers = new Set(file.names().flatMap((n) => n.match(/^bert\.encoder\.layer\.(\d+)\./)?.[1] ?? []));
    assert.equal(layers.size, config.num_hidden_layers);
    const gamma = file.readFloat32('bert.embeddings.LayerNorm.weight');
    assert.equal(gamma.length, config.hidden_size);
    assert.ok(gamma.every(Number.isFinite));
    assert.throws(() => file.info('nope'), /model\.safetensors: no tensor named "nope"/);
  } finally {
    file.close();
  }
  assert.throws(() => file.readFloat32('cls.predictions.bias'), /closed/);
});

test('re-writing the Python checkpoint reproduces its bytes exactly (save_file layout)', async () => {
  const original = path.join(FIXTURE, 'model.safetensors');
  const file = readSafetensors(original);
  // Given in reverse, so the writer's own ordering is what is being checked.
  const tensors = file.names().reverse().map((name) => ({ name, shape: file.info(name).shape, data: file.readFloat32(name) }));
  file.close();
  const out = tempFile();
  await writeSafetensors(out, tensors);
  assert.ok(fs.readFileSync(out).equals(fs.readFileSync(original)));
});

test('F32 round trip is exact, including -0, infinities, NaN and subnormals', async () => {
  const data = randomValues(1000, 1);
  data.set([-0, Infinity, -Infinity, NaN, 1e-45, -3.4e38], 0);
  const out = tempFile();
  await writeSafetensors(out, [{ name: 'x', shape: [10, 100], data }, { name: 'empty', shape: [0, 3], data: new Float32Array(0) }], {
    metadata: { note: 'hi' },
  });
  const file = readSafetensors(out);
  assert.deepEqual(file.metadata, { note: 'hi' });
  assert.deepEqual(file.info('x'), { dtype: 'F32', shape: [10, 100], dataOffsets: [0, 4000] });
  assert.deepEqual(file.info('empty'), { dtype: 'F32', shape: [0, 3], dataOffsets: [0, 0] });
  assert.ok(Buffer.from(file.readFloat32('x').buffer).equals(Buffer.from(data.buffer)));
  assert.equal(file.readFloat32('empty').length, 0);
  file.close();
});

/** Checks `got` is the representable value nearest to `want`, ties to the even pattern. */
function assertNearest(want: number, gotBits: number, decode: (bits: number) => number, label: string): void {
  const got = decode(gotBits);
  if (Number.isNaN(want)) return assert.ok(Number.isNaN(got), `${label}: NaN`);
  const down = decode((gotBits - 1) & 0xffff);
  const up = decode((gotBits + 1) & 0xffff);
  for (const neighbour of [down, up]) {
    if (!Number.isFinite(neighbour) || Number.isNaN(neighbour)) continue;
    const dGot = Math.abs(got - want);
    const dOther = Math.abs(neighbour - want);
    assert.ok(dGot < dOther || (dGot === dOther && (gotBits & 1) === 0) || !Number.isFinite(got), `${label}: ${want} -> ${got}, neighbour ${neighbour}`);
  }
}

test('F16 and BF16 writing rounds to nearest even and reading decodes exactly', async () => {
  const data = randomValues(20000, 7);
  // Ties, overflow, underflow and specials.
  data.set([1 + 2 ** -11, 1 + 3 * 2 ** -11, 65504, 65520, 1e6, 2 ** -25, 2 ** -24 * 1.5, 1e-10, -0, Infinity, NaN, 1 + 2 ** -8, 1 + 3 * 2 ** -8], 0);
  const bf16Decode = (bits: number) => new Float32Array(new Uint32Array([bits << 16]).buffer)[0];
  for (const dtype of ['F16', 'BF16'] as const) {
    const out = tempFile();
    await writeSafetensors(out, [{ name: 'w', shape: [data.length], data }], { dtype });
    const file = readSafetensors(out);
    assert.equal(file.info('w').dtype, dtype);
    const back = file.readFloat32('w');
    const raw = new Uint16Array(file.readBytes('w').buffer);
    file.close();
    const decode = dtype === 'F16' ? (b: number) => F16[b] : bf16Decode;
    for (let i = 0; i < data.length; i++) {
      assert.ok(Object.is(back[i], decode(raw[i])), `${dtype} decode of ${raw[i]}`);
      assertNearest(data[i], raw[i], decode, dtype);
    }
  }
  assert.equal(f32ToF16Bits(1 + 2 ** -11), 0x3c00); // tie, even is down
  assert.equal(f32ToF16Bits(1 + 3 * 2 ** -11), 0x3c02); // tie, even is up
  assert.equal(f32ToF16Bits(65520), 0x7c00); // rounds to infinity
  assert.equal(f32ToF16Bits(2 ** -25), 0); // tie with zero
  assert.equal(f32ToF16Bits(2 ** -24 * 1.5), 0x0002);
  assert.equal(f32ToBf16Bits(1 + 2 ** -8), 0x3f80);
  assert.equal(f32ToBf16Bits(1 + 3 * 2 ** -8), 0x3f82);
});

test('values exactly representable in F16/BF16 survive the round trip unchanged', async () => {
  const f16Exact = F16.filter((v) => Number.isFinite(v));
  const out = tempFile();
  await writeSafetensors(out, [{ name: 'h', shape: [f16Exact.length], data: f16Exact }], { dtype: 'F16' });
  const file = readSafetensors(out);
  const back = file.readFloat32('h');
  file.close();
  for (let i = 0; i < f16Exact.length; i++) assert.ok(Object.is(back[i], f16Exact[i]), `${f16Exact[i]}`);
});

test('header keys keep byte order even for integer-like names, padded to 8 bytes', async () => {
  const out = tempFile();
  const one = new Float32Array([1]);
  await writeSafetensors(out, ['b', '10', '2', 'a'].map((name) => ({ name, shape: [1], data: one })));
  const bytes = fs.readFileSync(out);
  const n = Number(bytes.readBigUInt64LE(0));
  assert.equal(n % 8, 0);
  const header = bytes.subarray(8, 8 + n).toString('utf8');
  const file = readSafetensors(out);
  assert.deepEqual(file.names(), ['10', '2', 'a', 'b']); // file order, not JS object key order
  file.close();
  assert.match(header, /^\{"__metadata__":\{"format":"pt"\},"10":\{"dtype":"F32","shape":\[1\],"data_offsets":\[0,4\]\},"2":.*"a":.*"b":\{[^}]*\[12,16\]\}\} *$/);
});

test('writing is validated and atomic: a bad call leaves the old file and no temp files', async () => {
  const out = tempFile();
  await writeSafetensors(out, [{ name: 'old', shape: [2], data: new Float32Array([1, 2]) }]);
  const before = fs.readFileSync(out);
  await assert.rejects(writeSafetensors(out, [{ name: 'x', shape: [3], data: new Float32Array(2) }]), /tensor "x" has shape \[3\] but 2 values/);
  await assert.rejects(writeSafetensors(out, [{ name: 'x', shape: [1], data: one() }, { name: 'x', shape: [1], data: one() }]), /"x" is given twice/);
  await assert.rejects(writeSafetensors(out, [{ name: '__metadata__', shape: [1], data: one() }]), /reserved/);
  assert.ok(fs.readFileSync(out).equals(before));
  await writeSafetensors(out, [{ name: 'new', shape: [1], data: one() }]);
  const written = readSafetensors(out);
  assert.deepEqual(written.names(), ['new']);
  written.close();
  assert.deepEqual(fs.readdirSync(tmp).filter((f) => f.endsWith('.tmp')), []);
  function one() {
    return new Float32Array([1]);
  }
});

test('hostile files give a clear error naming the file and the problem', () => {
  const entry = (o: object) => JSON.stringify({ t: o });
  const f32 = (shape: unknown, offsets: unknown) => entry({ dtype: 'F32', shape, data_offsets: offsets });
  const cases: Array<[string, Buffer, RegExp]> = [
    ['short', Buffer.from([1, 2, 3, 4, 5]), /5 bytes, too short for the 8-byte header length/],
    ['header too large', craft('{}', undefined, 2n ** 60n), /header length 1152921504606846976 exceeds the 100000000-byte limit/],
    ['header past end', craft('{}', undefined, 4096n), /header length 4096 runs past the end of the 10-byte file/],
    ['bad utf-8', craft(Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x3a, 0x31, 0x7d])), /header is not valid UTF-8/],
    ['bad json', craft('{"t": {'), /header is not valid JSON/],
    ['not an object', craft('[1,2]'), /header is not a JSON object/],
    ['entry not object', craft(entry([1])), /tensor "t" is not an object/],
    ['unknown dtype', craft(entry({ dtype: 'Q4', shape: [1], data_offsets: [0, 1] }), new Uint8Array(1)), /tensor "t" has unknown dtype "Q4"/],
    ['missing dtype', craft(entry({ shape: [1], data_offsets: [0, 4] }), new Uint8Array(4)), /unknown dtype undefined/],
    ['negative dim', craft(f32([-1, 2], [0, 8]), new Uint8Array(8)), /invalid shape \[-1,2\]/],
    ['fractional dim', craft(f32([1.5], [0, 6]), new Uint8Array(6)), /invalid shape \[1.5\]/],
    ['shape not array', craft(f32('3', [0, 12]), new Uint8Array(12)), /invalid shape "3"/],
    ['overflow', craft(f32([2 ** 30, 2 ** 30, 2 ** 30], [0, 4])), /too many elements \(the size overflows\)/],
    ['bad offsets', craft(f32([1], [4, 0])), /invalid data_offsets \[4,0\]/],
    ['offsets not pair', craft(f32([1], [0])), /invalid data_offsets \[0\]/],
    ['size mismatch', craft(f32([2], [0, 4]), new Uint8Array(4)), /span 4 bytes, but F32 \[2\] needs 8/],
    ['huge declared', craft(f32([1e12], [0, 4e12]), new Uint8Array(16)), /data_offsets \[0, 4000000000000\] run past the end of the data \(16 bytes\)/],
    ['past end', craft(f32([2], [0, 8]), new Uint8Array(4)), /run past the end of the data \(4 bytes\)/],
    ['hole', craft(JSON.stringify({ a: { dtype: 'U8', shape: [2], data_offsets: [0, 2] }, b: { dtype: 'U8', shape: [2], data_offsets: [3, 5] } }), new Uint8Array(5)), /tensor "b" data_offsets \[3, 5\] leave a hole: the previous tensor ends at 2/],
    ['overlap', craft(JSON.stringify({ a: { dtype: 'U8', shape: [2], data_offsets: [0, 2] }, b: { dtype: 'U8', shape: [2], data_offsets: [1, 3] } }), new Uint8Array(3)), /tensor "b" data_offsets \[1, 3\] overlap the previous tensor, which ends at 2/],
    ['hole at start', craft(f32([1], [4, 8]), new Uint8Array(8)), /leave a hole: the previous tensor ends at 0/],
    ['trailing bytes', craft(f32([1], [0, 4]), new Uint8Array(12)), /the tensors cover 4 bytes of data but the file holds 12 bytes/],
    ['metadata not strings', craft(JSON.stringify({ __metadata__: { a: 1 } })), /"__metadata__" entry "a" is not a string/],
  ];
  for (const [label, bytes, expected] of cases) {
    const file = path.join(tmp, `hostile-${label.replace(/\W/g, '_')}.safetensors`);
    fs.writeFileSync(file, bytes);
    assert.throws(() => readSafetensors(file), (error: Error) => {
      assert.ok(error.message.startsWith(`${file}: `), `${label}: ${error.message}`);
      assert.match(error.message, expected, label);
      return true;
    });
  }
  assert.throws(() => readSafetensors(path.join(tmp, 'missing.safetensors')), /ENOENT.*missing\.safetensors/);
});

test('reading a ~256 MB file tensor by tensor costs about its size in memory, not twice', async () => {
  v8.setFlagsFromString('--expose-gc');
  const gc = vm.runInNewContext('gc') as () => void;
  const perTensor = 4 * 1024 * 1024; // 16 MB each
  const count = 16;
  const block = randomValues(perTensor, 3);
  const out = tempFile();
  await writeSafetensors(out, Array.from({ length: count }, (_, i) => ({ name: `layer.${i}`, shape: [1024, 4096], data: block })));
  const fileSize = fs.statSync(out).size;
  assert.ok(fileSize > 256 * 1024 * 1024);

  gc();
  const start = process.memoryUsage();
  let peakRss = 0;
  let peakBuffers = 0;
  const file = readSafetensors(out);
  const loaded: Float32Array[] = [];
  for (const name of file.names()) {
    loaded.push(file.readFloat32(name));
    const now = process.memoryUsage();
    peakRss = Math.max(peakRss, now.rss - start.rss);
    peakBuffers = Math.max(peakBuffers, now.arrayBuffers - start.arrayBuffers);
  }
  file.close();
  fs.rmSync(out);
  assert.equal(loaded.length, count);
  assert.ok(Buffer.from(loaded[count - 1].buffer).equals(Buffer.from(block.buffer)));
  const mb = (n: number) => `${(n / 2 ** 20).toFixed(0)} MB`;
  console.log(`file ${mb(fileSize)}: peak ArrayBuffer growth ${mb(peakBuffers)}, peak RSS growth ${mb(peakRss)}`);
  assert.ok(peakBuffers < fileSize * 1.1, `ArrayBuffer growth ${mb(peakBuffers)} for a ${mb(fileSize)} file`);
  assert.ok(peakRss < fileSize * 1.5, `RSS growth ${mb(peakRss)} for a ${mb(fileSize)} file`);
});
