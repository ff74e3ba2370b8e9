#!/usr/bin/env node
// The finetune-lab Jupyter kernel: tslab's TypeScript kernel with its protocol gaps closed.
// kernel-setup/setup.mjs points the kernel spec here instead of tslab's own bin/tslab.
//
// tslab (no longer developed) sends error replies without ename/evalue/traceback and prints the
// real error (stack trace, type error) on the stderr stream only, so Jupyter clients such as
// `jupyter nbconvert --execute` report a blank error. It also prints the value of a cell's last
// expression as stdout instead of an execute_result, and its kernel_info_reply has no status.
// This launcher reuses tslab's compiler, executor and ZeroMQ server and fixes those replies:
//   - a failing cell gets an `error` message and an error reply with the real name, message and
//     stack (or the TypeScript diagnostics);
//   - an unhandled promise rejection or uncaught exception while a cell runs fails that cell; one
//     that arrives after the cell finished is published as an `error` on the last cell;
//   - the last expression's value is an `execute_result` (text/plain);
//   - kernel_info, comm_info and shutdown replies follow the messaging spec;
//   - the kernel exits when its parent process dies, so no orphan kernels are left behind.
//
//   node kernel-setup/kernel.cjs --config-path CONNECTION_FILE
'use strict';
const util = require('node:util');
const path = require('node:path');
const { parseArgs } = require('node:util');

const tslabDir = path.dirname(require.resolve('tslab/package.json'));
const jupyter = require('tslab/dist/jupyter');
const { createExecutor } = require('tslab/dist/executor');
const { createConverter } = require('tslab/dist/converter');
const { versions } = require('tslab');

/** Lazily created converters, as in tslab's main.js (the browser one only for `%browser` cells). */
class Converters {
  get node() { return (this._node ??= createConverter({ isJS: false, isBrowser: false })); }
  get browser() { return (this._browser ??= createConverter({ isJS: false, isBrowser: true })); }
  close() { this._node?.close(); this._browser?.close(); }
}

/** Stack lines that belong to the kernel's machinery rather than to the user's code. */
function isKernelFrame(line) {
  return line.includes(tslabDir) || line.includes(__filename) || /\(node:|at node:/.test(line);
}

/** A Jupyter error (ename, evalue, traceback) for a thrown value. */
function errorContent(value) {
  if (value instanceof Error || util.types.isNativeError(value)) {
    const stack = (value.stack || `${value.name}: ${value.message}`).split('\n').filter((l) => !isKernelFrame(l));
    return { ename: value.name, evalue: value.message, traceback: stack };
  }
  const text = util.inspect(value);
  return { ename: 'Error', evalue: text, traceback: [`Uncaught ${text}`] };
}

/** The error for a failure that no code in the cell caught, e.g. a rejected promise nobody awaited. */
function asyncErrorContent(kind, explanation, value) {
  const { ename, evalue, traceback } = errorContent(value);
  return { ename: kind, evalue: `${ename}: ${evalue}`, traceback: [`${kind} (${explanation}):`, ...traceback] };
}

/** The state of one execute_request while it runs. */
class Cell {
  constructor(publish) {
    this.publish = publish;
    /** Errors thrown by the code, rejected promises nobody handled, TypeScript diagnostics. */
    this.errors = [];
    this.diagnostics = [];
    this.hasResult = false;
    this.result = undefined;
    this.failed = false;
  }

  /** The error reply fields: the first runtime error, or all TypeScript diagnostics. */
  error() {
    if (this.errors.length > 0) return this.errors[0];
    if (this.diagnostics.length > 0) {
      return { ename: 'TSError', evalue: this.diagnostics.join('\n'), traceback: this.diagnostics };
    }
    // tslab reports every failure through its console; reaching here means it changed.
    return { ename: 'Error', evalue: 'the cell failed without an error message', traceback: [] };
  }
}

let running = null;
let lastCell = null;

/** The executor's console: where tslab reports the cell's value, its errors and its type errors. */
const executorConsole = {
  log(value) {
    if (!running) return console.log(value);
    running.hasResult = true;
    running.result = value;
  },
  error(first, ...rest) {
    if (!running) return console.error(first, ...rest);
    if (typeof first === 'string') running.diagnostics.push(util.format(first, ...rest));
    else running.errors.push(errorContent(first));
  },
};

/** Failures that surface outside the cell's own control flow. */
function reportAsync(content) {
  if (running) running.errors.push(content);
  else if (lastCell) lastCell.publish('error', content);
  else process.stderr.write(content.traceback.join('\n') + '\n');
}

class Handler extends jupyter.JupyterHandlerImpl {
  handleKernel() {
    const reply = super.handleKernel();
    reply.language_info.version = versions.typescript;
    return { status: 'ok', ...reply, help_links: [{ text: 'tslab', url: 'https://github.com/yunabe/tslab' }] };
  }

  /** Runs inside tslab's queue; `req.cell` is the Cell made by Server.handleExecute. */
  async handleExecuteImpl(req, writeStream, writeDisplayData) {
    const cell = req.cell;
    cell.publish('execute_input', { code: req.code, execution_count: this.execCount + 1 });
    running = cell;
    lastCell = cell;
    let count;
    try {
      count = await super.handleExecuteImpl(req, writeStream, writeDisplayData);
      // Let Node report rejections of promises the cell dropped before the cell counts as done.
      await new Promise((resolve) => setImmediate(resolve));
      // Diagnostics of a successful cell come from `//%module` cells, which tslab registers anyway.
      if (cell.errors.length === 0) for (const line of cell.diagnostics) writeStream('stderr', line + '\n');
    } catch (thrown) {
      if (typeof thrown?.count !== 'number') throw thrown;
      count = thrown; // tslab throws the execution count when the cell failed
      cell.failed = true;
    } finally {
      running = null;
    }
    cell.failed ||= cell.errors.length > 0;
    // Throwing makes tslab abort the requests queued behind this one, which is what stop_on_error
    // asks for; without it (e.g. nbconvert --allow-errors) the following cells must still run.
    if (cell.failed && req.stop_on_error !== false) throw count;
    return count;
  }
}

class Server extends jupyter.ZmqServer {
  async handleExecute(sock, msg) {
    const publish = (type, content) => {
      const out = msg.createReply();
      out.header.msg_type = type;
      out.content = content;
      out.signAndSend(this.connInfo.key, this.iopub);
    };
    const cell = new Cell(publish);
    const writeStream = (name, text) => publish('stream', { name, text });
    const writeDisplayData = (data, update) => publish(update ? 'update_display_data' : 'display_data', data);
    let content = await this.handler.handleExecute({ ...msg.content, cell }, writeStream, writeDisplayData);
    if (content.status === 'error' || cell.failed) {
      const error = cell.error();
      publish('error', error);
      content = { ...content, status: 'error', ...error };
    } else if (content.status === 'ok') {
      if (cell.hasResult) {
        publish('execute_result', { execution_count: content.execution_count, data: { 'text/plain': util.inspect(cell.result) }, metadata: {} });
      }
      content = { ...content, payload: [], user_expressions: {} };
    }
    const reply = msg.createReply();
    reply.header.msg_type = 'execute_reply';
    reply.content = content;
    reply.signAndSend(this.connInfo.key, sock);
  }

  handleCommInfoRequest(sock, msg) {
    const reply = msg.createReply();
    reply.header.msg_type = 'comm_info_reply';
    reply.content = { status: 'ok', comms: {} };
    reply.signAndSend(this.connInfo.key, sock);
  }

  handleShutdown(sock, msg) {
    const reply = msg.createReply();
    reply.header.msg_type = 'shutdown_reply';
    reply.content = { status: 'ok', restart: Boolean(msg.content.restart) };
    reply.signAndSend(this.connInfo.key, sock);
    // Timers or native handles left by notebook code must not keep a shut-down kernel alive.
    setTimeout(() => process.exit(0), 500).unref();
  }
}

function main() {
  const { values } = parseArgs({ options: { 'config-path': { type: 'string' } } });
  if (!values['config-path']) {
    console.error('usage: node kernel-setup/kernel.cjs --config-path CONNECTION_FILE');
    process.exit(2);
  }
  const converters = new Converters();
  converters.node; // compile the TypeScript environment now rather than in the first cell
  const executor = createExecutor(process.cwd(), converters, executorConsole);
  const server = new Server(new Handler(executor, false), values['config-path']);
  process.on('SIGINT', () => executor.interrupt());
  process.on('unhandledRejection', (reason) => reportAsync(asyncErrorContent('UnhandledPromiseRejection', 'a promise was rejected and no code awaited or caught it', reason)));
  process.on('uncaughtException', (err) => reportAsync(asyncErrorContent('UncaughtException', 'thrown outside the cell, e.g. in a timer or event callback', err)));
  // A kernel whose client died (killed runner, crashed server) is reparented: exit with it.
  const parent = process.ppid;
  setInterval(() => { if (process.ppid !== parent) process.exit(0); }, 1000).unref();
  server.init().catch((err) => {
    console.error(`finetune-lab kernel: cannot open the connection sockets: ${err.message}`);
    process.exit(1);
  });
}

main();
