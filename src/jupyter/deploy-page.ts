/**
 * The report's "try the model" page: the learner types a review and the course's fine-tuned
 * model, exported to ONNX by notebook 08, classifies it in the browser. transformers.js' browser
 * bundle does the tokenizing and runs the model on ONNX Runtime Web's WebAssembly build; the
 * bundle, the runtime and the model are copied into the report, so the page needs no network.
 * Browsers load neither ES modules nor WebAssembly from file://, so this one page is served
 * (any static server on 127.0.0.1 will do).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { writeFileAtomic } from '../files/atomic.js';
import { ONNX_MODEL_FILE } from '../onnx/layout.js';
import { peerPath } from '../package/peers.js';

/** The page's file name in the report. */
export const DEPLOY_PAGE = 'deploy.html';
/** Where the model goes in the report: a transformers.js model directory (`models/` is its localModelPath). */
export const DEPLOY_MODEL = 'models/sentiment';

/** The exported files transformers.js reads for text classification: config, tokenizer, the float model. */
const MODEL_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', ONNX_MODEL_FILE];
/** ONNX Runtime Web's plain WebAssembly build (CPU, SIMD; threads where the page is cross-origin isolated). */
const RUNTIME_FILES = ['ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm'];
const BUNDLE = 'transformers.min.js';

const USER = "The report's browser page (deploy.html)";

/** Copies the model exported in `modelDir`, transformers.js' browser bundle and ONNX Runtime Web's files into the report in `outDir`. */
export function copyDeployFiles(outDir: string, modelDir: string): void {
  const transformers = peerPath('@huggingface/transformers', USER);
  const copy = (from: string, to: string) => writeFileAtomic(join(outDir, to), readFileSync(from));
  for (const file of MODEL_FILES) copy(join(modelDir, file), join(DEPLOY_MODEL, file));
  // The bundle of the package's own ONNX Runtime Web (its version is pinned by transformers.js).
  copy(join(dirname(transformers), BUNDLE), join('assets', BUNDLE));
  const fromTransformers = createRequire(transformers);
  for (const file of RUNTIME_FILES) copy(fromTransformers.resolve(`onnxruntime-web/${file}`), join('assets', file));
}

/** The page's body: the form, and the module that loads the model from the report's own files. */
export function deployPageBody(modelName: string): string {
  const [mjs, wasm] = RUNTIME_FILES.map((file) => `assets/${file}`);
  return `<h1>Try the fine-tuned model</h1>
<p>This is <strong>${modelName}</strong>, the course's best fine-tuned model, exported to ONNX by notebook 08 and
running here, in your browser: <a href="https://huggingface.co/docs/transformers.js">transformers.js</a> tokenizes the
review and runs the model on ONNX Runtime's WebAssembly build. Every file comes from this report; nothing is sent anywhere.</p>
<p id="status">Loading the model…</p>
<form id="form">
<textarea id="review" rows="5" style="width:100%" placeholder="Type a movie review…"></textarea>
<p><button id="classify" type="submit" disabled>Classify</button></p>
</form>
<table id="result" hidden><tr><th>label</th><th>probability</th></tr></table>
<p class="prompt">transformers.js cuts a review longer than the model's limit (512 tokens) and then drops the final
<code>[SEP]</code>, which Python's tokenizer (and finetune-lab's) keep, so on such long reviews its scores differ slightly
from the course's own.</p>
<script type="module">
const status = document.getElementById('status');
if (location.protocol === 'file:') {
  status.textContent = 'Browsers load neither modules nor WebAssembly from file://. Serve the report, e.g. ' +
    'python3 -m http.server -b 127.0.0.1 -d report 8000, and open http://127.0.0.1:8000/${DEPLOY_PAGE}';
} else {
  const { env, pipeline } = await import('./assets/${BUNDLE}');
  // The report's files only: the browser build fetches models from the Hub and the runtime from a CDN unless told otherwise.
  env.allowLocalModels = true;
  env.allowRemoteModels = false;
  // A path, not a URL: transformers.js 4.3.1 looks for the tokenizer's files locally only when localModelPath is no http(s) URL.
  env.localModelPath = 'models/';
  env.backends.onnx.wasm.wasmPaths = { mjs: new URL('${mjs}', location.href).href, wasm: new URL('${wasm}', location.href).href };
  const started = performance.now();
  const classify = await pipeline('text-classification', '${DEPLOY_MODEL.split('/')[1]}', { dtype: 'fp32', device: 'wasm' }).catch((error) => {
    status.textContent = 'The model did not load: ' + error.message;
    document.body.dataset.error = error.message;
    throw error;
  });
  status.textContent = 'Model loaded in ' + ((performance.now() - started) / 1000).toFixed(1) + ' s. Type a review and press Classify.';
  const button = document.getElementById('classify');
  button.disabled = false;
  document.getElementById('form').addEventListener('submit', async (event) => {
    event.preventDefault();
    button.disabled = true;
    const [scores] = await classify([document.getElementById('review').value], { top_k: null }).catch((error) => {
      status.textContent = 'Classifying failed: ' + error.message;
      document.body.dataset.error = error.message;
      throw error;
    });
    const table = document.getElementById('result');
    table.querySelectorAll('tr.score').forEach((row) => row.remove());
    for (const { label, score } of scores) {
      const row = table.insertRow();
      row.className = 'score';
      row.dataset.label = label;
      row.dataset.score = String(score);
      row.insertCell().textContent = label;
      row.insertCell().textContent = (100 * score).toFixed(1) + '%';
    }
    table.hidden = false;
    button.disabled = false;
    document.body.dataset.classified = String(Number(document.body.dataset.classified ?? 0) + 1);
  });
  document.body.dataset.ready = 'true';
}
</script>`;
}
