/**
 * A task model's graph open in ONNX Runtime: the fast engine for work that does not train
 * (evaluation, prediction, frozen features, prompting, `finetune-lab forward`). The graph is
 * exported into memory and handed to ONNX Runtime as bytes, so there is no file to keep in step
 * with the weights: an `OnnxModel` holds the weights as they were when it was created, and a model
 * trained further needs a new one.
 */
import * as tf from '@tensorflow/tfjs';
import type * as Ort from 'onnxruntime-node';
import type { BertTaskModel } from '../bert/heads.js';
import type { BertOutput } from '../bert/model.js';
import { wasmThreadCount } from '../backend/index.js';
import { defaultTask, onnxGraph } from './export.js';
import type { OnnxTask } from './layout.js';
import { createSession, runBert, type OnnxBatch, type OnnxOutputs, type OrtSessionOptions } from './session.js';

export interface OnnxModelOptions extends Pick<OrtSessionOptions, 'threads' | 'executionProviders'> {
  /** Default: the model's own task (defaultTask); 'feature-extraction' runs the encoder alone. */
  task?: OnnxTask;
}

/** Token-id batches as the data loaders and tokenizers give them: tensors or plain rows. */
export interface TokenBatch {
  input_ids: tf.Tensor2D | number[][];
  attention_mask?: tf.Tensor2D | number[][];
  token_type_ids?: tf.Tensor2D | number[][];
}

export class OnnxModel<M extends BertTaskModel = BertTaskModel> {
  private constructor(
    /** The TensorFlow.js model it was exported from: its config, its loss and its heads (weights as at export). */
    readonly model: M,
    readonly task: OnnxTask,
    /** The graph's outputs: the task's (`logits`) and the encoder's (`last_hidden_state`, `pooler_output` where the model has a pooler). */
    readonly outputs: readonly string[],
    private readonly session: Ort.InferenceSession,
  ) {}

  /**
   * Exports `model` for `task`, with the encoder's outputs beside the head's, and opens it in ONNX
   * Runtime: on as many threads as the wasm backend where no `threads` are given and it is loaded
   * (so FINETUNE_LAB_THREADS=1 keeps the whole process on one core), else ONNX Runtime's choice.
   */
  static async create<M extends BertTaskModel>(model: M, options: OnnxModelOptions = {}): Promise<OnnxModel<M>> {
    const task = options.task ?? defaultTask(model);
    const { bytes, outputs } = await onnxGraph(model, task, { encoderOutputs: true });
    return new OnnxModel(model, task, outputs, await createSession(bytes, { threads: options.threads ?? wasmThreadCount(), executionProviders: options.executionProviders }));
  }

  /** The graph's outputs for a batch (eval mode: no dropout). */
  async run(batch: TokenBatch): Promise<OnnxOutputs> {
    const rows = async (m: tf.Tensor2D | number[][] | undefined) => (m === undefined || Array.isArray(m) ? m : ((await m.array()) as number[][]));
    const onnxBatch: OnnxBatch = { input_ids: (await rows(batch.input_ids))!, attention_mask: await rows(batch.attention_mask), token_type_ids: await rows(batch.token_type_ids) };
    return runBert(this.session, onnxBatch);
  }

  /** One output of a batch as a TensorFlow.js tensor (the caller disposes it); names the outputs there are when it is not one. */
  async output<R extends tf.Rank>(batch: TokenBatch, name: string): Promise<tf.Tensor<R>> {
    if (!this.outputs.includes(name)) {
      throw new Error(`the ${this.task} graph of a ${this.model.architecture} has no output ${JSON.stringify(name)} (it has ${this.outputs.join(', ')}); create the OnnxModel for the task that gives it`);
    }
    const { dims, data } = (await this.run(batch))[name];
    return tf.tensor(data, dims as tf.ShapeMap[R]);
  }

  /** The encoder's outputs as TensorFlow.js tensors, as BertModel.forward gives them (the caller disposes them). */
  async encoderOutput(batch: TokenBatch): Promise<BertOutput> {
    const outputs = await this.run(batch);
    const tensor = (name: string) => tf.tensor(outputs[name].data, outputs[name].dims);
    return { lastHiddenState: tensor('last_hidden_state') as tf.Tensor3D, ...(outputs.pooler_output ? { poolerOutput: tensor('pooler_output') as tf.Tensor2D } : {}) };
  }

  /** Frees ONNX Runtime's side (its copy of the weights); the TensorFlow.js model is left as it is. */
  async release(): Promise<void> {
    await this.session.release();
  }
}
