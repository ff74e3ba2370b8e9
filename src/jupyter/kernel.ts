/**
 * A Jupyter kernel process and a client for it over ZeroMQ: start it from a kernel spec with a
 * signed connection file, send requests, route every output message to the request that caused
 * it, interrupt it, and shut it down (or kill it) so that no kernel outlives its client.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import type * as zmq from 'zeromq';
import { optionalPeer } from '../package/peers.js';
import { KERNEL_NAME, type KernelSpec } from './kernelspec.js';
import { decode, encode, request, type Message } from './protocol.js';
import { writeFileAtomic } from '../files/atomic.js';

/** A request sent to the kernel: its message id and its reply, once all its output arrived. */
export interface Request {
  id: string;
  done: Promise<Message>;
}

/** Thrown to every waiting request when the kernel process ends. */
export class KernelExitedError extends Error {}

interface Pending {
  onOutput(message: Message): void;
  reply?: Message;
  idle: boolean;
  resolve(reply: Message): void;
  reject(err: Error): void;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}

/** Kernels still running in this process, killed when it exits however it exits. */
const live = new Set<Kernel>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => { for (const kernel of live) kernel.kill(); });
}

export class Kernel {
  /** Output of the kernel process itself (not of the code it runs), kept for error messages. */
  private log = '';
  private readonly session = randomUUID();
  private readonly pending = new Map<string, Pending>();
  private exitInfo: string | undefined;
  /** Resolves when the kernel process has ended. */
  readonly exited: Promise<void>;
  /** Output messages whose request already finished, e.g. an error reported after its cell ended. */
  onLateOutput: (message: Message) => void = () => {};

  private constructor(
    private readonly child: ChildProcess,
    private readonly key: string,
    private readonly connectionFile: string,
    private readonly shell: zmq.Dealer,
    private readonly control: zmq.Dealer,
    private readonly iopub: zmq.Subscriber,
  ) {
    for (const stream of [child.stdout, child.stderr]) {
      stream?.setEncoding('utf8');
      stream?.on('data', (text: string) => { this.log = (this.log + text).slice(-4000); });
    }
    this.exited = new Promise((resolve) => {
      child.on('exit', (code, signal) => {
        this.exitInfo = signal ? `signal ${signal}` : `exit code ${code}`;
        const err = new KernelExitedError(`the kernel process ended (${this.exitInfo})${this.log.trim() ? `; its last output:\n${this.log.trim()}` : ''}`);
        for (const p of this.pending.values()) p.reject(err);
        this.pending.clear();
        resolve();
      });
    });
    this.receive(shell, (m) => this.onReply(m));
    this.receive(control, (m) => this.onReply(m));
    this.receive(iopub, (m) => this.onIopub(m));
  }

  /**
   * Starts the kernel described by `spec` in `cwd` with environment `env` and waits until it
   * answers on its shell and output channels.
   */
  static async start(spec: KernelSpec, cwd: string, env: NodeJS.ProcessEnv = process.env, startTimeoutMs = 60_000): Promise<Kernel> {
    const ports = await Promise.all([0, 1, 2, 3, 4].map(() => freePort()));
    const key = randomBytes(32).toString('hex');
    const connection = {
      transport: 'tcp', ip: '127.0.0.1', signature_scheme: 'hmac-sha256', key, kernel_name: KERNEL_NAME,
      shell_port: ports[0], iopub_port: ports[1], stdin_port: ports[2], control_port: ports[3], hb_port: ports[4],
    };
    const connectionFile = path.join(tmpdir(), `finetune-lab-kernel-${randomUUID()}.json`);
    writeFileAtomic(connectionFile, JSON.stringify(connection), { mode: 0o600 });
    const argv = spec.argv.map((a) => a.replace('{connection_file}', connectionFile));
    // Its own process group: a Ctrl-C in the terminal reaches the runner, which then stops the kernel.
    const child = spawn(argv[0], argv.slice(1), { cwd, env: { ...env, ...spec.env }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    const url = (port: number) => `tcp://127.0.0.1:${port}`;
    const { Dealer, Subscriber } = optionalPeer<typeof zmq>('zeromq', 'Running notebooks');
    const shell = new Dealer({ linger: 0 });
    const control = new Dealer({ linger: 0 });
    const iopub = new Subscriber({ linger: 0 });
    shell.connect(url(connection.shell_port));
    control.connect(url(connection.control_port));
    iopub.connect(url(connection.iopub_port));
    iopub.subscribe();
    const kernel = new Kernel(child, key, connectionFile, shell, control, iopub);
    live.add(kernel);
    installExitHook();
    try {
      await kernel.waitReady(startTimeoutMs);
    } catch (err) {
      await kernel.shutdown();
      throw err;
    }
    return kernel;
  }

  /**
   * Runs `code`; `onOutput` gets each output message. `done` resolves with the execute_reply once
   * all output arrived; `id` names the request in output that arrives later (see onLateOutput).
   */
  execute(code: string, onOutput: (message: Message) => void): Request {
    const content = { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true };
    return this.send(this.shell, 'execute_request', content, onOutput);
  }

  /** Interrupts the running code the way Jupyter does for kernels with interrupt_mode "signal". */
  interrupt(): void {
    if (this.exitInfo === undefined) this.child.kill('SIGINT');
  }

  /** Kills the kernel and everything it started, at once. */
  kill(): void {
    if (this.exitInfo !== undefined || this.child.pid === undefined) return;
    try {
      process.kill(-this.child.pid, 'SIGKILL');
    } catch {
      this.child.kill('SIGKILL');
    }
    rmSync(this.connectionFile, { force: true });
  }

  /** Asks the kernel to shut down, kills it if it has not ended within `graceMs`, and closes the sockets. */
  async shutdown(graceMs = 3000): Promise<void> {
    if (this.exitInfo === undefined) {
      this.send(this.control, 'shutdown_request', { restart: false }).done.catch(() => {});
      const timer = setTimeout(() => this.kill(), graceMs);
      await this.exited;
      clearTimeout(timer);
    }
    live.delete(this);
    rmSync(this.connectionFile, { force: true });
    for (const socket of [this.shell, this.control, this.iopub]) socket.close();
  }

  /** Asks for kernel_info until a reply and its idle status came back: then both channels are connected. */
  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const attempt = this.send(this.shell, 'kernel_info_request', {});
      let timer: NodeJS.Timeout | undefined;
      const timedOut = new Promise<'timeout'>((resolve) => { timer = setTimeout(() => resolve('timeout'), 2000); });
      const outcome = await Promise.race([attempt.done, timedOut]).finally(() => clearTimeout(timer));
      if (outcome !== 'timeout') return;
      this.pending.delete(attempt.id);
    }
    throw new Error(`the kernel did not answer within ${timeoutMs / 1000} s${this.log.trim() ? `; its output:\n${this.log.trim()}` : ''}`);
  }

  private send(socket: zmq.Dealer, type: string, content: object, onOutput: (m: Message) => void = () => {}): Request {
    const message = request(type, content, this.session);
    const id = message.header.msg_id;
    const done = new Promise<Message>((resolve, reject) => {
      if (this.exitInfo !== undefined) return reject(new KernelExitedError(`the kernel process has ended (${this.exitInfo})`));
      this.pending.set(id, { onOutput, idle: false, resolve, reject });
      socket.send(encode(message, this.key)).catch(reject);
    });
    return { id, done };
  }

  private settle(id: string, p: Pending): void {
    if (p.reply && p.idle) {
      this.pending.delete(id);
      p.resolve(p.reply);
    }
  }

  private onReply(message: Message): void {
    const id = message.parent_header.msg_id ?? '';
    const p = this.pending.get(id);
    if (!p) return;
    p.reply = message;
    this.settle(id, p);
  }

  private onIopub(message: Message): void {
    const id = message.parent_header.msg_id ?? '';
    const p = this.pending.get(id);
    if (message.header.msg_type === 'status') {
      if (p && message.content.execution_state === 'idle') {
        p.idle = true;
        this.settle(id, p);
      }
    } else if (p) {
      p.onOutput(message);
    } else {
      this.onLateOutput(message);
    }
  }

  private async receive(socket: zmq.Dealer | zmq.Subscriber, handle: (m: Message) => void): Promise<void> {
    try {
      for await (const frames of socket) {
        try {
          handle(decode(frames, this.key));
        } catch (err) {
          this.log = (this.log + `\n[client] dropped a message: ${(err as Error).message}`).slice(-4000);
        }
      }
    } catch {
      // The socket was closed while waiting: the kernel is gone.
    }
  }
}
