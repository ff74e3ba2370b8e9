/**
 * An ONNX graph under construction: named inputs and outputs with symbolic axes, nodes of the
 * standard domain, and weights as initializers (float32, or 8-bit with scales, as little-endian
 * `raw_data`). Weights are read from their tensors only when the model is built, once each,
 * however often they are used.
 */
import { endianness } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { AttributeType, DataType, IR_VERSION, type ModelObject } from './proto.js';
import { quantizeWeight, type ScaleAxis } from './quantize.js';

// Typed-array bytes are host order; ONNX's raw_data is little-endian.
if (endianness() !== 'LE') throw new Error('finetune-lab/onnx needs a little-endian CPU');

/** A dimension: a size, or a symbolic axis name (`batch_size`). */
export type Dim = number | string;

/** A node attribute, typed as ONNX types it. */
export type Attribute = { int: number } | { float: number } | { ints: number[] };

export interface NodeOptions {
  /** The node's name; made unique. Its output is named after it. */
  name: string;
  attributes?: Record<string, Attribute>;
}

export interface ModelInfo {
  /** The opset of the standard domain the nodes use. */
  opset: number;
  producerVersion: string;
  docString?: string;
}

/** A TensorProto as protobufjs' plain objects spell it. */
type TensorObject = { name: string; dims: number[]; dataType: number; rawData: Uint8Array };

interface Initializer {
  tensor: tf.Tensor;
  /** Computed for the export (a merged LoRA weight): disposed once read. */
  owned: boolean;
  /** The initializers written from the tensor's values. */
  encode(data: Float32Array): TensorObject[];
}

/** The names of an 8-bit weight's two initializers. */
export interface QuantizedWeight {
  /** uint8 with zero point WEIGHT_ZERO_POINT, the weight's shape. */
  values: string;
  /** float32: one scale per column or per row. */
  scales: string;
}

interface NodeObject {
  name: string;
  opType: string;
  input: string[];
  output: string[];
  attribute: Record<string, unknown>[];
}

function attributeObject(name: string, value: Attribute): Record<string, unknown> {
  if ('int' in value) return { name, type: AttributeType.INT, i: value.int };
  if ('float' in value) return { name, type: AttributeType.FLOAT, f: value.float };
  return { name, type: AttributeType.INTS, ints: value.ints };
}

function valueInfo(name: string, elemType: number, dims: Dim[]): Record<string, unknown> {
  const dim = dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name, type: { tensorType: { elemType, shape: { dim } } } };
}

const bytesOf = (view: ArrayBufferView) => new Uint8Array(view.buffer, view.byteOffset, view.byteLength);

export class GraphBuilder {
  private readonly nodes: NodeObject[] = [];
  private readonly initializers = new Map<string, Initializer>();
  private readonly constants = new Map<string, TensorObject>();
  private readonly names = new Map<tf.Tensor, string>();
  private readonly quantizedNames = new Map<tf.Tensor, QuantizedWeight>();
  private readonly inputs: Record<string, unknown>[] = [];
  private readonly outputs: Record<string, unknown>[] = [];
  private readonly used = new Set<string>();

  constructor(readonly name: string) {}

  /** Declares a graph input. */
  input(name: string, elemType: number, dims: Dim[]): string {
    this.inputs.push(valueInfo(this.unique(name), elemType, dims));
    return name;
  }

  /** Makes `value` a graph output called `name` (renaming it wherever it is used). */
  output(value: string, name: string, dims: Dim[]): void {
    if (this.used.has(name)) throw new Error(`the graph already has a value named ${name}`);
    this.used.add(name);
    for (const node of this.nodes) {
      node.input = node.input.map((v) => (v === value ? name : v));
      node.output = node.output.map((v) => (v === value ? name : v));
    }
    this.outputs.push(valueInfo(name, DataType.FLOAT, dims));
  }

  /** Adds a node with one output and returns that output's name. */
  node(opType: string, inputs: string[], options: NodeOptions): string {
    return this.nodeWithOutputs(opType, inputs, 1, options)[0];
  }

  /** Adds a node with `count` outputs and returns their names. */
  nodeWithOutputs(opType: string, inputs: string[], count: number, options: NodeOptions): string[] {
    const name = this.unique(options.name);
    const outputs = Array.from({ length: count }, (_, i) => `${name}_output_${i}`);
    for (const output of outputs) this.used.add(output);
    const attribute = Object.entries(options.attributes ?? {}).map(([key, value]) => attributeObject(key, value));
    this.nodes.push({ name, opType, input: inputs, output: outputs, attribute });
    return outputs;
  }

  /** A float32 weight, stored once however often it is asked for (tied embeddings). */
  weight(name: string, tensor: tf.Tensor): string {
    const known = this.names.get(tensor);
    if (known) return known;
    const unique = this.addInitializer(name, tensor, false, (data) => [{ name: unique, dims: tensor.shape, dataType: DataType.FLOAT, rawData: bytesOf(data) }]);
    this.names.set(tensor, unique);
    return unique;
  }

  /** A float32 weight computed for the export; the builder disposes it once it has read it. */
  computed(name: string, tensor: tf.Tensor): string {
    const unique = this.addInitializer(name, tensor, true, (data) => [{ name: unique, dims: tensor.shape, dataType: DataType.FLOAT, rawData: bytesOf(data) }]);
    return unique;
  }

  /**
   * A 2-D weight stored in 8 bits with a scale per column or per row (quantize.ts), once however
   * often it is asked for (tied embeddings); `owned` as for `computed`.
   */
  quantized(name: string, tensor: tf.Tensor, owned: boolean, per: ScaleAxis): QuantizedWeight {
    const known = this.quantizedNames.get(tensor);
    if (known) return known;
    const [rows, columns] = tensor.shape;
    const values = this.unique(`${name}_quantized`);
    const scales = this.addInitializer(`${name}_scale`, tensor, owned, (data) => {
      const q = quantizeWeight(data, rows, columns, per);
      return [
        { name: values, dims: [rows, columns], dataType: DataType.UINT8, rawData: bytesOf(q.values) },
        { name: scales, dims: [q.scales.length], dataType: DataType.FLOAT, rawData: bytesOf(q.scales) },
      ];
    });
    if (!owned) this.quantizedNames.set(tensor, { values, scales });
    return { values, scales };
  }

  /** A uint8 scalar constant (a zero point). */
  uint8(value: number): string {
    return this.constant('uint8', value, (list) => Uint8Array.from(list), DataType.UINT8);
  }

  /** A float32 constant (a scalar, or a vector with `dims`), shared by name. */
  float(values: number | number[]): string {
    return this.constant('float', values, (list) => new Float32Array(list), DataType.FLOAT);
  }

  /** An int64 constant (a scalar, or a vector), shared by name. */
  int64(values: number | number[]): string {
    return this.constant('int64', values, (list) => BigInt64Array.from(list, BigInt), DataType.INT64);
  }

  /** The ModelProto, with every weight read (asynchronously: webgpu has no synchronous reads). */
  async model(info: ModelInfo): Promise<ModelObject> {
    const initializer = [];
    for (const { tensor, owned, encode } of this.initializers.values()) {
      const data = (await tensor.data()) as Float32Array;
      if (owned) tensor.dispose();
      initializer.push(...encode(data));
    }
    initializer.push(...this.constants.values());
    return {
      irVersion: IR_VERSION,
      opsetImport: [{ domain: '', version: info.opset }],
      producerName: 'finetune-lab',
      producerVersion: info.producerVersion,
      ...(info.docString ? { docString: info.docString } : {}),
      graph: { name: this.name, node: this.nodes, initializer, input: this.inputs, output: this.outputs },
    };
  }

  /** Frees the computed weights of a graph that will not be built. */
  dispose(): void {
    for (const { tensor, owned } of this.initializers.values()) if (owned) tensor.dispose();
  }

  private addInitializer(name: string, tensor: tf.Tensor, owned: boolean, encode: Initializer['encode']): string {
    if (tensor.dtype !== 'float32') throw new Error(`weight ${name} is ${tensor.dtype}; ONNX export reads float32 weights`);
    const unique = this.unique(name);
    this.initializers.set(unique, { tensor, owned, encode });
    return unique;
  }

  private constant(kind: string, values: number | number[], typed: (list: number[]) => ArrayBufferView, dataType: number): string {
    const scalar = typeof values === 'number';
    const list = scalar ? [values] : values;
    const name = `${kind}_${scalar ? values : `[${list.join(',')}]`}`;
    if (!this.constants.has(name)) {
      this.used.add(name);
      this.constants.set(name, { name, dims: scalar ? [] : [list.length], dataType, rawData: bytesOf(typed(list)) });
    }
    return name;
  }

  private unique(name: string): string {
    let candidate = name;
    for (let n = 1; this.used.has(candidate); n++) candidate = `${name}_${n}`;
    this.used.add(candidate);
    return candidate;
  }
}
