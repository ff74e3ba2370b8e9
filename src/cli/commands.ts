/**
 * The command table. A command module exports its `usage` (what `--help` prints) and
 * `run(args): Promise<number>` (the exit code), which throws a UsageError (src/cli/args.ts) for a
 * wrong command line.
 */
export interface CommandModule {
  usage: string;
  run(args: string[]): Promise<number>;
}

export interface Command {
  summary: string;
  load(): Promise<CommandModule>;
}

export const COMMANDS: Record<string, Command> = {
  env: { summary: 'Show versions, the TensorFlow.js backends available here and the one selected (JSON)', load: () => import('./env.js') },
  tokenize: { summary: 'Tokenize a JSON file of texts (or sentence pairs) into padded, truncated BERT inputs (JSON)', load: () => import('./tokenize.js') },
  run: { summary: 'Execute notebooks headlessly on the finetune-lab kernel; non-zero exit on the first failing cell', load: () => import('./run.js') },
  forward: { summary: 'Run a BERT checkpoint on token ids (JSON) and write its hidden states and logits (JSON)', load: () => import('./forward.js') },
  train: { summary: 'Fine-tune a classifier (frozen features, full, adapters or LoRA) and print a JSON summary', load: () => import('./train.js') },
  grid: { summary: "Choose each method's learning rate and epochs on the validation split by a grid search (resumable); JSON", load: () => import('./grid.js') },
  bench: { summary: 'Time BERT forward and training steps on random ids (JSON), the same work as the PyTorch reference', load: () => import('./bench.js') },
  pretrain: { summary: 'Pretrain a BERT from scratch by masked-language modelling on the IMDB reviews (resumable) and print a JSON summary', load: () => import('./pretrain.js') },
  curve: { summary: "Fine-tune and prompt every model a pretraining run kept, with the profile's settings: the model card's curve (resumable); JSON", load: () => import('./curve.js') },
  tutorial: { summary: 'Execute every notebook in order under one settings profile and export the HTML report (works offline)', load: () => import('./tutorial.js') },
  prompt: { summary: 'Zero-shot sentiment by cloze prompting a masked-language model (templates, calibration), or fill in [MASK] blanks (JSON)', load: () => import('./prompt.js') },
  export: { summary: 'Export a fine-tuned BERT (LoRA merged, adapters as layers) to ONNX in the layout transformers.js loads', load: () => import('./export.js') },
  lab: { summary: 'Open the notebooks in JupyterLab (or Jupyter Notebook) on 127.0.0.1 with the finetune-lab kernel', load: () => import('./lab.js') },
};
