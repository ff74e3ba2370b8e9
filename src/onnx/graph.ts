/**
 * An ONNX graph under construction: named inputs and outputs with symbolic axes, nodes of the
 * standard domain, and weights as initializers (float32 `raw_data`, little-endian). Weights are
 * read from their tensors only when the model is built, once each, however often they are used.
 */
import { endianness } from 'node:os';
import * as tf from '@tensorflow/tfjs';
import { AttributeType, DataType, IR_VERSION, type ModelObject } from './proto.js';

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

interface Initializer {
  tensor: tf.Tensor;
  /** Computed for the export (a merged LoRA weight): disposed once read. */
  owned: boolean;
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
  private readonly constants = new Map<string, { dims: number[]; dataType: number; rawData: Uint8Array }>();
  private readonly names = new Map<tf.Tensor, string>();
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
    const name = this.unique(options.name);
    const output = `${name}_output_0`;
    this.used.add(output);
    const attribute = Object.entries(options.attributes ?? {}).map(([key, value]) => attributeObject(key, value));
    this.nodes.push({ name, opType, input: inputs, output: [output], attribute });
    return output;
  }

  /** A float32 weight, stored once however often it is asked for (tied embeddings). */
  weight(name: string, tensor: tf.Tensor): string {
    const known = this.names.get(tensor);
    if (known) return known;
    return this.addInitializer(name, tensor, false);
  }

  /** A float32 weight computed for the export; the builder disposes it once it has read it. */
  computed(name: string, tensor: tf.Tensor): string {
    return this.addInitializer(name, tensor, true);
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
    for (const [name, { tensor, owned }] of this.initializers) {
      const data = (await tensor.data()) as Float32Array;
      if (owned) tensor.dispose();
      initializer.push({ name, dims: tensor.shape, dataType: DataType.FLOAT, rawData: bytesOf(data) });
    }
    for (const [name, c] of this.constants) initializer.push({ name, ...c });
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

  private addInitializer(name: string, tensor: tf.Tensor, owned: boolean): string {
    if (tensor.dtype !== 'float32') throw new Error(`weight ${name} is ${tensor.dtype}; ONNX export writes float32 weights`);
    const unique = this.unique(name);
    this.initializers.set(unique, { tensor, owned });
    if (!owned) this.names.set(tensor, unique);
    return unique;
  }

  private constant(kind: string, values: number | number[], typed: (list: number[]) => ArrayBufferView, dataType: number): string {
    const scalar = typeof values === 'number';
    const list = scalar ? [values] : values;
    const name = `${kind}_${scalar ? values : `[${list.join(',')}]`}`;
    if (!this.constants.has(name)) {
      this.used.add(name);
      this.constants.set(name, { dims: scalar ? [] : [list.length], dataType, rawData: bytesOf(typed(list)) });
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
