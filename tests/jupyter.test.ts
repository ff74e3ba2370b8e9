// Jupyter integration: start Jupyter the `npm start` way (setup, then `finetune-lab lab`) headless on
// 127.0.0.1, open a session on the finetune-lab kernel through the REST API, run a TypeScript cell
// over the kernel's WebSocket channel, check its outputs, and stop everything.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import * as http from 'node:http';
import type { Socket } from 'node:net';
import { startJupyter, type JupyterServer } from './helpers/jupyter-server.js';

let jupyter: JupyterServer;

/** A minimal RFC 6455 client (Node 20 has no global WebSocket): text frames out, text frames in. */
class WebSocketClient {
  private buffer = Buffer.alloc(0);
  private fragments: Buffer[] = [];

  private constructor(private readonly socket: Socket, head: Buffer, private readonly onText: (text: string) => void) {
    socket.on('data', (chunk) => this.receive(chunk));
    if (head.length > 0) this.receive(head);
  }

  static connect(url: string, headers: Record<string, string>, onText: (text: string) => void): Promise<WebSocketClient> {
    const key = randomBytes(16).toString('base64');
    const accept = createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
    return new Promise((resolve, reject) => {
      const req = http.request(url, { headers: { ...headers, Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Key': key, 'Sec-WebSocket-Version': '13' } });
      req.on('upgrade', (res, socket, head) => {
        if (res.headers['sec-websocket-accept'] !== accept) return reject(new Error('bad Sec-WebSocket-Accept'));
        resolve(new WebSocketClient(socket, head, onText));
      });
      req.on('response', (res) => reject(new Error(`WebSocket upgrade refused: HTTP ${res.statusCode}`)));
      req.on('error', reject);
      req.end();
    });
  }

  send(text: string): void {
    const payload = Buffer.from(text);
    const mask = randomBytes(4);
    const length = payload.length;
    const header = length < 126 ? Buffer.from([0x81, 0x80 | length])
      : length < 65536 ? Buffer.from([0x81, 0x80 | 126, length >> 8, length & 255])
      : Buffer.concat([Buffer.from([0x81, 0x80 | 127]), (() => { const b = Buffer.alloc(8); b.writeBigUInt64BE(BigInt(length)); return b; })()]);
    const masked = Buffer.from(payload.map((byte, i) => byte ^ mask[i % 4]));
    this.socket.write(Buffer.concat([header, mask, masked]));
  }

  close(): void {
    this.socket.destroy();
  }

  private receive(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
    for (;;) {
      if (this.buffer.length < 2) return;
      const fin = (this.buffer[0] & 0x80) !== 0;
      const opcode = this.buffer[0] & 0x0f;
      let length = this.buffer[1] & 0x7f;
      let offset = 2;
      if (length === 126) {
        if (this.buffer.length < 4) return;
        length = this.buffer.readUInt16BE(2);
        offset = 4;
      } else if (length === 127) {
        if (this.buffer.length < 10) return;
        length = Number(this.buffer.readBigUInt64BE(2));
        offset = 10;
      }
      if (this.buffer.length < offset + length) return;
      const payload = this.buffer.subarray(offset, offset + length);
      this.buffer = this.buffer.subarray(offset + length);
      if (opcode === 0x1 || opcode === 0x0) {
        this.fragments.push(payload);
        if (fin) {
          this.onText(Buffer.concat(this.fragments).toString('utf8'));
          this.fragments = [];
        }
      }
    }
  }
}

/** Processes whose command line mentions `text`. */
function processesWith(text: string): number[] {
  return readdirSync('/proc').filter((p) => /^\d+$/.test(p)).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text);
    } catch {
      return false;
    }
  }).map(Number);
}

before(async () => {
  jupyter = await startJupyter();
});

after(() => jupyter?.stop());

test('Jupyter serves the finetune-lab kernel on 127.0.0.1 and runs a TypeScript cell over its WebSocket', async () => {
  const { api, port, token } = jupyter;
  const specs = await api('GET', '/api/kernelspecs');
  assert.equal(specs.status, 200);
  assert.equal(specs.json.kernelspecs['finetune-lab']?.spec.display_name, 'TypeScript (finetune-lab)', JSON.stringify(specs.json));
  const unauthorized = await fetch(`http://127.0.0.1:${port}/api/sessions`);
  assert.equal(unauthorized.status, 403);

  const session = await api('POST', '/api/sessions', { path: 'jupyter-test.ipynb', name: 'jupyter-test.ipynb', type: 'notebook', kernel: { name: 'finetune-lab' } });
  assert.equal(session.status, 201, JSON.stringify(session.json));
  const kernelId: string = session.json.kernel.id;
  assert.equal(session.json.kernel.name, 'finetune-lab');

  const messages: any[] = [];
  let arrived: () => void = () => {};
  const ws = await WebSocketClient.connect(`http://127.0.0.1:${port}/api/kernels/${kernelId}/channels?session_id=${randomUUID()}`, { Authorization: `token ${token}` }, (text) => {
    messages.push(JSON.parse(text));
    arrived();
  });
  const msgId = randomUUID();
  const code = 'const xs: number[] = [1, 2, 3];\nconsole.log(xs.map((x) => x * 2).join(","), require("node:path").basename(process.cwd()));\nxs.length';
  ws.send(JSON.stringify({
    channel: 'shell',
    header: { msg_id: msgId, msg_type: 'execute_request', session: randomUUID(), username: 'test', date: new Date().toISOString(), version: '5.3' },
    parent_header: {},
    metadata: {},
    content: { code, silent: false, store_history: true, user_expressions: {}, allow_stdin: false, stop_on_error: true },
    buffers: [],
  }));
  const mine = () => messages.filter((m) => m.parent_header?.msg_id === msgId);
  const done = () => mine().some((m) => m.msg_type === 'execute_reply') && mine().some((m) => m.msg_type === 'status' && m.content.execution_state === 'idle');
  const deadline = Date.now() + 60_000;
  while (!done()) {
    assert.ok(Date.now() < deadline, `no reply within 60 s; got ${JSON.stringify(messages)}\n${jupyter.log()}`);
    await new Promise<void>((resolve) => { arrived = resolve; setTimeout(resolve, 1000); });
  }
  ws.close();

  const reply = mine().find((m) => m.msg_type === 'execute_reply');
  assert.equal(reply.content.status, 'ok', JSON.stringify(reply.content));
  const stdout = mine().filter((m) => m.msg_type === 'stream' && m.content.name === 'stdout').map((m) => m.content.text).join('');
  assert.equal(stdout, '2,4,6 notebooks\n');
  const result = mine().find((m) => m.msg_type === 'execute_result');
  assert.equal(result?.content.data['text/plain'], '3');

  assert.equal((await api('DELETE', `/api/sessions/${session.json.id}`)).status, 204);
  for (let i = 0; i < 50 && processesWith(`kernel-${kernelId}.json`).length > 0; i++) await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(processesWith(`kernel-${kernelId}.json`), [], 'the kernel outlived its session');
});
