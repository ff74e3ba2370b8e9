/**
 * BERT's modules (src/bert) written as ONNX nodes, in eval mode (no dropout), each in the form
 * `torch.onnx.export` gives transformers' BertModel at opset 17, so that ONNX Runtime's BERT
 * fusions can recognise them:
 *
 *   GELU        Div(√2) Erf Add(1) Mul(x) Mul(0.5)                    -> Gelu / BiasGelu
 *   LayerNorm   LayerNormalization after the residual Add              -> SkipLayerNormalization
 *   attention   MatMul Add Reshape Transpose (q, k, v), MatMul Div Add(mask) Softmax MatMul
 *               Transpose Reshape                                       -> Attention
 *   embeddings  Gather(words) + Gather(types) + Gather(positions), LayerNormalization -> EmbedLayerNormalization
 *
 * The adapters export as what they compute: LoRA folded into its base weight (`W + A B * scaling`),
 * a bottleneck adapter as its layers (down, activation, up, residual Add). The quantized variant
 * stores every Linear weight and embedding table in 8 bits (quantize.ts); LayerNorms and biases stay float32.
 */
import * as tf from '@tensorflow/tfjs';
import { BottleneckAdapter, LoraLinear } from '../adapters/index.js';
import type { BertConfig } from '../bert/config.js';
import type { BertEmbeddings, BertLayer, BertPooler, BertResidualOutput, BertSelfAttention } from '../bert/layers.js';
import type { BertLMPredictionHead } from '../bert/mlm-head.js';
import type { BertModel } from '../bert/model.js';
import { Linear, type Embedding, type LayerNorm, type LinearModule } from '../bert/modules.js';
import type { GraphBuilder, QuantizedWeight } from './graph.js';
import { DataType } from './proto.js';
import { WEIGHT_ZERO_POINT } from './quantize.js';

/** transformers fills masked attention scores with float32's lowest value (as BertModel does, src/bert/model.ts). */
const FLOAT32_MIN = -3.4028234663852886e38;

/** The encoder's ONNX values: `[batch, seq, hidden]` and, where the model has a pooler, `[batch, hidden]`. */
export interface EncoderValues {
  lastHiddenState: string;
  poolerOutput?: string;
}

/** The graph inputs, int64 `[batch_size, sequence_length]` each. */
export interface BertGraphInputs {
  inputIds: string;
  attentionMask: string;
  tokenTypeIds: string;
}

export class BertGraphWriter {
  /** @param quantize write the Linear weights and embedding tables in 8 bits (the `model_quantized.onnx` variant) */
  constructor(private readonly g: GraphBuilder, private readonly config: BertConfig, private readonly quantize = false) {}

  /** Embeddings, every encoder layer, and the pooler where the model has one. */
  encoder(bert: BertModel, inputs: BertGraphInputs): EncoderValues {
    const maskBias = this.maskBias(inputs.attentionMask);
    let h = this.embeddings(bert.embeddings, inputs.inputIds, inputs.tokenTypeIds);
    for (const layer of bert.encoder.layer) h = this.layer(layer, h, maskBias);
    return { lastHiddenState: h, ...(bert.pooler ? { poolerOutput: this.pooler(bert.pooler, h) } : {}) };
  }

  /** A Linear module, or what stands in its place (an adapter). */
  linear(module: LinearModule, x: string): string {
    if (module instanceof Linear) return this.affine(module.name, x, module.weight, false, module.bias);
    if (module instanceof LoraLinear) {
      if (module.merged) return this.linear(module.base, x);
      return this.affine(module.name, x, module.mergedWeight(), true, module.base.bias);
    }
    if (module instanceof BottleneckAdapter) {
      const y = this.linear(module.base, x);
      const down = this.activation(module.nonLinearity, this.linear(module.down, y), `${module.down.name}.act`);
      return this.g.node('Add', [y, this.linear(module.up, down)], { name: `${module.name.replace(/\.dense$/, '.adapter')}/Add` });
    }
    throw new Error(`cannot export ${module.name}: it is a ${module.constructor.name}, and ONNX export knows Linear, LoRA and bottleneck adapters`);
  }

  layerNorm(module: LayerNorm, x: string): string {
    const inputs = [x, this.g.weight(`${module.name}.weight`, module.weight), this.g.weight(`${module.name}.bias`, module.bias)];
    return this.g.node('LayerNormalization', inputs, { name: `${module.name}/LayerNormalization`, attributes: { axis: { int: -1 }, epsilon: { float: module.eps } } });
  }

  /** The config's `hidden_act` (or an adapter's non-linearity): exact erf GELU or ReLU. */
  activation(name: string, x: string, scope: string): string {
    if (name === 'relu') return this.g.node('Relu', [x], { name: `${scope}/Relu` });
    const erf = this.g.node('Erf', [this.g.node('Div', [x, this.g.float(Math.SQRT2)], { name: `${scope}/Div` })], { name: `${scope}/Erf` });
    const scaled = this.g.node('Mul', [x, this.g.node('Add', [erf, this.g.float(1)], { name: `${scope}/Add` })], { name: `${scope}/Mul` });
    return this.g.node('Mul', [scaled, this.g.float(0.5)], { name: `${scope}/Mul_1` });
  }

  /** The MLM head: transform (dense, activation, LayerNorm), then the decoder (tied to the word embeddings) and bias. */
  mlmLogits(head: BertLMPredictionHead, h: string): string {
    const { transform } = head;
    const act = this.activation(this.config.hidden_act, this.linear(transform.dense, h), `${transform.name}.act`);
    const transformed = this.layerNorm(transform.LayerNorm, act);
    // The decoder is stored [vocab, hidden], shared with the word embeddings; ORT folds the Transpose once, at load.
    const scope = `${head.name}.decoder`;
    const transpose = (decoder: string) => this.g.node('Transpose', [decoder], { name: `${scope}/Transpose`, attributes: { perm: { ints: [1, 0] } } });
    let product: string;
    if (this.quantize) {
      // Row scales of the table are column scales of its transpose: the quantized product as for any Linear.
      const q = this.g.quantized(`${scope}.weight`, head.decoder, false, 'row');
      product = this.quantizedMatMul(scope, transformed, { values: transpose(q.values), scales: q.scales });
    } else {
      product = this.g.node('MatMul', [transformed, transpose(this.g.weight(`${scope}.weight`, head.decoder))], { name: `${scope}/MatMul` });
    }
    return this.g.node('Add', [product, this.g.weight(`${head.name}.bias`, head.bias)], { name: `${scope}/Add` });
  }

  /** `x @ weight + bias`; `owned`: the weight was computed for the export (see GraphBuilder.computed). */
  private affine(scope: string, x: string, weight: tf.Tensor, owned: boolean, bias: tf.Variable | undefined): string {
    const name = `${scope}.weight`;
    const product = this.quantize
      ? this.quantizedMatMul(scope, x, this.g.quantized(name, weight, owned, 'column'))
      : this.g.node('MatMul', [x, owned ? this.g.computed(name, weight) : this.g.weight(name, weight)], { name: `${scope}/MatMul` });
    return bias ? this.g.node('Add', [product, this.g.weight(`${scope}.bias`, bias)], { name: `${scope}/Add` }) : product;
  }

  /**
   * `x @ W` with W in 8 bits, as ONNX Runtime's `quantize_dynamic` writes it (and its optimiser fuses
   * into DynamicQuantizeMatMul): x quantized to uint8 at run time, the integer product, then both scales.
   */
  private quantizedMatMul(scope: string, x: string, weight: QuantizedWeight): string {
    const [xq, xScale, xZeroPoint] = this.g.nodeWithOutputs('DynamicQuantizeLinear', [x], 3, { name: `${scope}/DynamicQuantizeLinear` });
    const product = this.g.node('MatMulInteger', [xq, weight.values, xZeroPoint, this.g.uint8(WEIGHT_ZERO_POINT)], { name: `${scope}/MatMulInteger` });
    const float = this.g.node('Cast', [product], { name: `${scope}/Cast`, attributes: { to: { int: DataType.FLOAT } } });
    const scale = this.g.node('Mul', [xScale, weight.scales], { name: `${scope}/Mul_scales` });
    return this.g.node('Mul', [float, scale], { name: `${scope}/Mul` });
  }

  /** `(1 - mask[:, None, None, :]) * float32 min`, as transformers' extended attention mask. */
  private maskBias(mask: string): string {
    const scope = 'bert/extended_attention_mask';
    const unsqueezed = this.g.node('Unsqueeze', [mask, this.g.int64([1, 2])], { name: `${scope}/Unsqueeze` });
    const cast = this.g.node('Cast', [unsqueezed], { name: `${scope}/Cast`, attributes: { to: { int: DataType.FLOAT } } });
    const inverted = this.g.node('Sub', [this.g.float(1), cast], { name: `${scope}/Sub` });
    return this.g.node('Mul', [inverted, this.g.float(FLOAT32_MIN)], { name: `${scope}/Mul` });
  }

  /** The rows `indices` of an embedding table; quantized: 8-bit rows less the zero point, each times its own scale. */
  private lookup(table: Embedding, indices: string): string {
    const scope = table.name;
    if (!this.quantize) return this.g.node('Gather', [this.g.weight(`${scope}.weight`, table.weight), indices], { name: `${scope}/Gather` });
    const q = this.g.quantized(`${scope}.weight`, table.weight, false, 'row');
    const values = this.g.node('Cast', [this.g.node('Gather', [q.values, indices], { name: `${scope}/Gather` })], { name: `${scope}/Cast`, attributes: { to: { int: DataType.FLOAT } } });
    const rows = this.g.node('Sub', [values, this.g.float(WEIGHT_ZERO_POINT)], { name: `${scope}/Sub_zero_point` });
    const scales = this.g.node('Unsqueeze', [this.g.node('Gather', [q.scales, indices], { name: `${scope}/Gather_scales` }), this.g.int64([-1])], { name: `${scope}/Unsqueeze` });
    return this.g.node('Mul', [rows, scales], { name: `${scope}/Mul` });
  }

  private embeddings(m: BertEmbeddings, ids: string, tokenTypes: string): string {
    const words = this.lookup(m.word_embeddings, ids);
    const types = this.lookup(m.token_type_embeddings, tokenTypes);
    // position_ids = range(sequence_length); longer inputs fail in Gather, as max_position_embeddings says they must.
    const shape = this.g.node('Shape', [ids], { name: `${m.name}/Shape` });
    const seq = this.g.node('Gather', [shape, this.g.int64(1)], { name: `${m.name}/Gather_seq`, attributes: { axis: { int: 0 } } });
    const positionIds = this.g.node('Range', [this.g.int64(0), seq, this.g.int64(1)], { name: `${m.name}/Range` });
    const positions = this.lookup(m.position_embeddings, positionIds);
    const sum = this.g.node('Add', [this.g.node('Add', [words, types], { name: `${m.name}/Add` }), positions], { name: `${m.name}/Add_1` });
    return this.layerNorm(m.LayerNorm, sum);
  }

  private selfAttention(m: BertSelfAttention, h: string, maskBias: string): string {
    const heads = this.config.num_attention_heads;
    const dh = this.config.hidden_size / heads;
    const split = (module: LinearModule, perm: number[]) => {
      const reshaped = this.g.node('Reshape', [this.linear(module, h), this.g.int64([0, 0, heads, dh])], { name: `${module.name}/Reshape` });
      return this.g.node('Transpose', [reshaped], { name: `${module.name}/Transpose`, attributes: { perm: { ints: perm } } });
    };
    const q = split(m.query, [0, 2, 1, 3]);
    const kT = split(m.key, [0, 2, 3, 1]);
    const v = split(m.value, [0, 2, 1, 3]);
    const scores = this.g.node('Div', [this.g.node('MatMul', [q, kT], { name: `${m.name}/MatMul` }), this.g.float(Math.sqrt(dh))], { name: `${m.name}/Div` });
    const probs = this.g.node('Softmax', [this.g.node('Add', [scores, maskBias], { name: `${m.name}/Add` })], { name: `${m.name}/Softmax`, attributes: { axis: { int: -1 } } });
    const context = this.g.node('Transpose', [this.g.node('MatMul', [probs, v], { name: `${m.name}/MatMul_1` })], { name: `${m.name}/Transpose`, attributes: { perm: { ints: [0, 2, 1, 3] } } });
    return this.g.node('Reshape', [context, this.g.int64([0, 0, this.config.hidden_size])], { name: `${m.name}/Reshape` });
  }

  private residual(m: BertResidualOutput, hidden: string, input: string): string {
    return this.layerNorm(m.LayerNorm, this.g.node('Add', [this.linear(m.dense, hidden), input], { name: `${m.name}/Add` }));
  }

  private layer(m: BertLayer, h: string, maskBias: string): string {
    const attended = this.residual(m.attention.output, this.selfAttention(m.attention.self, h, maskBias), h);
    const intermediate = this.activation(this.config.hidden_act, this.linear(m.intermediate.dense, attended), `${m.intermediate.name}.intermediate_act_fn`);
    return this.residual(m.output, intermediate, attended);
  }

  /** The mean of `h` `[batch, seq, hidden]` over the real tokens of `mask` (pooling 'mean', src/bert/pooling.ts). */
  meanPool(h: string, mask: string): string {
    const scope = 'mean_pooling';
    const unsqueezed = this.g.node('Unsqueeze', [mask, this.g.int64([2])], { name: `${scope}/Unsqueeze` });
    const weights = this.g.node('Cast', [unsqueezed], { name: `${scope}/Cast`, attributes: { to: { int: DataType.FLOAT } } });
    const axis = this.g.int64([1]);
    const sum = this.g.node('ReduceSum', [this.g.node('Mul', [h, weights], { name: `${scope}/Mul` }), axis], { name: `${scope}/ReduceSum`, attributes: { keepdims: { int: 0 } } });
    const count = this.g.node('ReduceSum', [weights, axis], { name: `${scope}/ReduceSum_count`, attributes: { keepdims: { int: 0 } } });
    return this.g.node('Div', [sum, count], { name: `${scope}/Div` });
  }

  /** tanh(dense(h[:, 0])). */
  private pooler(m: BertPooler, h: string): string {
    const first = this.g.node('Gather', [h, this.g.int64(0)], { name: `${m.name}/Gather`, attributes: { axis: { int: 1 } } });
    return this.g.node('Tanh', [this.linear(m.dense, first)], { name: `${m.name}/Tanh` });
  }
}
