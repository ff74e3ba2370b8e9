/** A status line on a terminal, redrawn in place. */

/** A terminal, or a stream that may be one. */
export type TerminalStream = NodeJS.WritableStream & { isTTY?: boolean; columns?: number };

/** Draws `text` over the current line, cut to the terminal's width: a wrapped line would redraw only its end. */
export function redrawLine(stream: TerminalStream, text: string): void {
  const width = Math.max((stream.columns || 80) - 1, 10);
  stream.write(`\r${text.length > width ? text.slice(0, width - 1) + '…' : text}\x1b[K`);
}

/** Clears the current line, where a status line was drawn. */
export function clearLine(stream: TerminalStream): void {
  stream.write('\r\x1b[K');
}
