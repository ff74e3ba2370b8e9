// A Jupyter server for the tests, started the `npm start` way (the set-up, then `finetune-lab lab`)
// headless on 127.0.0.1 with a token, a private configuration, runtime and data directory, and
// stopped at the end.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { requireSystem } from '../../kernel-setup/system.mjs';

export const ROOT = path.resolve(__dirname, '..', '..');

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

export interface JupyterServer {
  port: number;
  token: string;
  /** Jupyter's configuration, runtime and data directory (its notebook-signing key and nbsignatures.db). */
  dataDir: string;
  /** What the server printed so far. */
  log(): string;
  /** A call to its REST API with the token. */
  api(method: string, url: string, body?: unknown): Promise<{ status: number; json: any }>;
  stop(): Promise<void>;
}

/**
 * Runs the set-up, then `finetune-lab lab --no-browser --port P ...args` and waits until the
 * server answers. A private JUPYTER_CONFIG_DIR, JUPYTER_RUNTIME_DIR and JUPYTER_DATA_DIR: the
 * user's Jupyter configuration must not change the test, nor the test their notebook signatures.
 */
export async function startJupyter(args: string[] = []): Promise<JupyterServer> {
  execFileSync(process.execPath, ['kernel-setup/setup.mjs', '--for', 'tests'], { cwd: ROOT, stdio: 'inherit' });
  requireSystem('python-jupyter');
  const port = await freePort();
  const token = randomBytes(16).toString('hex');
  const dataDir = mkdtempSync(path.join(tmpdir(), 'finetune-lab-jupyter-'));
  const server: ChildProcess = spawn(process.execPath, ['dist/cli/main.js', 'lab', '--no-browser', `--port=${port}`, ...args], {
    cwd: ROOT,
    env: { ...process.env, JUPYTER_TOKEN: token, JUPYTER_CONFIG_DIR: dataDir, JUPYTER_RUNTIME_DIR: dataDir, JUPYTER_DATA_DIR: dataDir },
  });
  let log = '';
  server.stdout?.on('data', (c) => { log += c; });
  server.stderr?.on('data', (c) => { log += c; });
  const api = async (method: string, url: string, body?: unknown) => {
    const res = await fetch(`http://127.0.0.1:${port}${url}`, {
      method,
      headers: { Authorization: `token ${token}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : undefined };
  };
  const deadline = Date.now() + 90_000;
  for (;;) {
    const status = await api('GET', '/api/status').then((r) => r.status, () => 0);
    if (status === 200) break;
    assert.ok(server.exitCode === null && Date.now() < deadline, `Jupyter did not start:\n${log}`);
    await new Promise((r) => setTimeout(r, 500));
  }
  const stop = async () => {
    if (server.exitCode !== null) return;
    const exited = new Promise((resolve) => server.on('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  };
  return { port, token, dataDir, log: () => log, api, stop };
}
