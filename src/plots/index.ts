/**
 * Interactive charts with plotly.js, for notebooks and reports.
 *
 * The plotly library (about 3.6 MB) is inlined once per session: the first chart's HTML carries
 * it, later charts only call `window.Plotly`. This works wherever the outputs share one page and
 * scripts run in order: JupyterLab and the classic notebook (trusted outputs), and an exported
 * HTML report. A chart whose script runs before the library waits for its ready event.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';

/** A plotly figure: traces, layout and config as plotly.js takes them. */
export interface Figure {
  data: object[];
  layout?: object;
  config?: object;
}

const READY_EVENT = 'finetune-lab:plotly-ready';

let library: string | undefined;

/**
 * The plotly library as a script that defines `window.Plotly` and announces it. The bundle is
 * run with `define`, `module`, `exports` and `require` hidden, or under the classic notebook's
 * RequireJS it would register an AMD module instead of the global.
 */
export function plotlyLibraryHtml(): string {
  library ??= fs.readFileSync(require.resolve('plotly.js-dist-min'), 'utf8');
  return `<script type="text/javascript">(function (define, module, exports, require) {\n${library}\n}).call(window);\n` +
    `window.dispatchEvent(new Event(${JSON.stringify(READY_EVENT)}));</script>`;
}

/** JSON that is safe inside a <script> element. */
function scriptJson(value: unknown): string {
  return JSON.stringify(value ?? {}).replace(/</g, '\\u003c').replace(/\u2028/g, '\\u2028').replace(/\u2029/g, '\\u2029');
}

/** A chart as an HTML fragment: its div and the script that draws it, without the library. */
function chartHtml(figure: Figure): string {
  const id = `finetune-lab-plot-${randomBytes(6).toString('hex')}`;
  const height = (figure.layout as { height?: number } | undefined)?.height ?? 450;
  const config = { responsive: true, displaylogo: false, ...figure.config };
  return `<div id="${id}" class="finetune-lab-plot" style="width:100%;height:${height}px"></div>\n` +
    `<script type="text/javascript">(function () {\n` +
    `  var draw = function () { window.Plotly.newPlot(${JSON.stringify(id)}, ${scriptJson(figure.data)}, ${scriptJson(figure.layout)}, ${scriptJson(config)}); };\n` +
    `  if (window.Plotly) draw(); else window.addEventListener(${JSON.stringify(READY_EVENT)}, draw, { once: true });\n` +
    `})();</script>`;
}

/** A sequence of charts shown on one page: the first one it renders carries the plotly library. */
export class PlotSession {
  private libraryShipped = false;

  /** Passes the next chart's HTML to `show`; the library counts as shipped once `show` returns. */
  show(figure: Figure, show: (html: string) => void): void {
    show((this.libraryShipped ? '' : plotlyLibraryHtml() + '\n') + chartHtml(figure));
    this.libraryShipped = true;
  }

  /** The HTML for the next chart of this session. */
  html(figure: Figure): string {
    let html = '';
    this.show(figure, (h) => { html = h; });
    return html;
  }
}

/** One chart as a self-contained HTML fragment (library included), e.g. for a report. */
export function figureToHtml(figure: Figure): string {
  return new PlotSession().html(figure);
}

/** Writes a chart as a standalone HTML page that works offline. */
export function saveFigure(figure: Figure, file: string): void {
  const title = (figure.layout as { title?: string | { text?: string } } | undefined)?.title;
  const text = typeof title === 'string' ? title : title?.text ?? path.basename(file, path.extname(file));
  const escaped = text.replace(/&/g, '&amp;').replace(/</g, '&lt;');
  fs.mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
  fs.writeFileSync(file, `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${escaped}</title></head>\n<body>\n${figureToHtml(figure)}\n</body></html>\n`);
}

/** The kernel session's charts: the plotly library goes into the first chart of the session. */
const notebookSession = new PlotSession();

/** Shows an interactive chart in a notebook running the finetune-lab (tslab) kernel. */
export function plot(figure: Figure): void {
  const { display } = require('tslab') as typeof import('tslab');
  notebookSession.show(figure, (html) => {
    try {
      display.html(html);
    } catch (err) {
      // tslab's display throws "Not ready" outside a kernel.
      throw new Error(`plot() shows charts in a Jupyter notebook on the finetune-lab kernel (${err instanceof Error ? err.message : String(err)}); outside one, use saveFigure(figure, "chart.html") or figureToHtml(figure)`);
    }
  });
}
