/**
 * Interactive charts with plotly.js, for notebooks and reports.
 *
 * The plotly library (about 1.5 MB) is inlined once per session: the first chart's HTML carries
 * it, later charts only call `window.Plotly`. This works wherever the outputs share one page and
 * scripts run in order: JupyterLab and the classic notebook (trusted outputs), and an exported
 * HTML report. A chart whose script runs before the library waits for its ready event.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { randomBytes } from 'node:crypto';
import { writeFileAtomic } from '../files/atomic.js';
import { optionalPeer } from '../package/peers.js';

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
  library ??= fs.readFileSync(PLOTLY_LIBRARY_FILE, 'utf8');
  return LIBRARY_START + library + LIBRARY_END;
}

/**
 * The plotly bundle: a report ships it once as a file next to its pages. It is plotly.js's
 * cartesian partial bundle (scatter, bar, histogram, heatmap, box, violin, pie, contour, image),
 * which has every trace the course draws at a third of the full bundle's size.
 */
export const PLOTLY_LIBRARY_FILE = require.resolve('plotly.js-cartesian-dist-min');

const LIBRARY_START = '<script type="text/javascript">(function (define, module, exports, require) {\n';
const LIBRARY_END = `\n}).call(window);\nwindow.dispatchEvent(new Event(${JSON.stringify(READY_EVENT)}));</script>`;

/**
 * Chart HTML without the inlined plotly library (whichever plotly version it carried), for a
 * page that loads the library itself: the charts then draw because `window.Plotly` is there.
 */
export function stripPlotlyLibrary(html: string): { html: string; stripped: boolean } {
  const start = html.indexOf(LIBRARY_START);
  const end = start < 0 ? -1 : html.indexOf(LIBRARY_END, start);
  if (end < 0) return { html, stripped: false };
  return { html: html.slice(0, start) + html.slice(end + LIBRARY_END.length).replace(/^\n/, ''), stripped: true };
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
  writeFileAtomic(file, `<!DOCTYPE html>\n<html><head><meta charset="utf-8"><title>${escaped}</title></head>\n<body>\n${figureToHtml(figure)}\n</body></html>\n`);
}

const IMAGE_TYPES = { '.png': 'png', '.jpg': 'jpeg', '.jpeg': 'jpeg', '.webp': 'webp', '.svg': 'svg' } as const;

export interface ImageOptions {
  /** Pixels; default 900 wide and the figure's own height (else 450). */
  width?: number;
  height?: number;
  /** Device pixels per CSS pixel of a bitmap (default 2, sharp on paper and high-density screens). */
  scale?: number;
}

/**
 * Saves a chart as a static image (PNG, JPEG, WebP or SVG, by `file`'s extension), drawn by
 * plotly's own `toImage` in headless Chromium: the picture is the one the notebook shows.
 * Needs a Chromium or Chrome: Debian's `chromium` package, or the path in `CHROMIUM_PATH`.
 */
export async function saveFigureImage(figure: Figure, file: string, options: ImageOptions = {}): Promise<void> {
  const extension = path.extname(file).toLowerCase();
  const format = IMAGE_TYPES[extension as keyof typeof IMAGE_TYPES];
  if (!format) throw new Error(`saveFigureImage cannot write ${extension || 'files without an extension'}; name the file .png, .jpg, .webp or .svg`);
  const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
  if (!fs.existsSync(executablePath)) {
    throw new Error(`saveFigureImage needs Chromium, not found at ${executablePath}; install it (Debian: apt-get install chromium) or set CHROMIUM_PATH to a Chromium or Chrome executable`);
  }
  const { chromium } = await import('playwright-core');
  const browser = await chromium.launch({ executablePath, args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking'] });
  try {
    const page = await browser.newPage();
    await page.setContent(`<!DOCTYPE html><html><body><div id="figure"></div>${plotlyLibraryHtml()}</body></html>`);
    const layout = (figure.layout ?? {}) as { height?: number };
    // An SVG scales by itself; only bitmaps need more pixels.
    const size = { width: options.width ?? 900, height: options.height ?? layout.height ?? 450, scale: format === 'svg' ? 1 : options.scale ?? 2 };
    const url = await page.evaluate(async ({ figure, format, size }) => {
      const Plotly = (window as unknown as { Plotly: any }).Plotly;
      const div = document.getElementById('figure');
      await Plotly.newPlot(div, figure.data, { ...figure.layout, width: size.width, height: size.height }, { staticPlot: true });
      return Plotly.toImage(div, { format, ...size }) as Promise<string>;
    }, { figure, format, size });
    const comma = url.indexOf(',');
    const payload = url.slice(comma + 1);
    // SVG comes back URL-encoded text, the bitmaps base64.
    const bytes = url.slice(0, comma).endsWith(';base64') ? Buffer.from(payload, 'base64') : Buffer.from(decodeURIComponent(payload), 'utf8');
    writeFileAtomic(file, bytes);
  } finally {
    await browser.close();
  }
}

/** The kernel session's charts: the plotly library goes into the first chart of the session. */
const notebookSession = new PlotSession();

/** Shows an interactive chart in a notebook running the finetune-lab (tslab) kernel. */
export function plot(figure: Figure): void {
  const { display } = optionalPeer<typeof import('tslab')>('tslab', 'plot()');
  notebookSession.show(figure, (html) => {
    try {
      display.html(html);
    } catch (err) {
      // tslab's display throws "Not ready" outside a kernel.
      throw new Error(`plot() shows charts in a Jupyter notebook on the finetune-lab kernel (${err instanceof Error ? err.message : String(err)}); outside one, use saveFigure(figure, "chart.html") or figureToHtml(figure)`);
    }
  });
}
