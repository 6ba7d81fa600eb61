import assert from 'node:assert/strict';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { startServeProcess, type ServeProcess } from '../helpers/serve';
import { tempDir } from '../helpers/tmp';

function get(port: number, path: string, headers: Record<string, string> = {}): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: string }> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, headers }, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
  });
}

/** Opens a WebSocket and reports either 'open' or the HTTP status it was refused with. */
function connect(url: string, headers: Record<string, string>): Promise<{ ws?: WebSocket; status?: number }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { headers });
    ws.once('open', () => resolve({ ws }));
    ws.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode }));
    ws.once('error', (e) => (e.message.includes('Unexpected server response') ? undefined : reject(e)));
  });
}

function call(ws: WebSocket, id: number, method: string, params: unknown): Promise<{ ok: boolean; result?: unknown; error?: { code: string; message: string } }> {
  return new Promise((resolve) => {
    const onMessage = (data: WebSocket.RawData) => {
      const msg = JSON.parse(data.toString()) as { id?: number };
      if (msg.id === id) {
        ws.off('message', onMessage);
        resolve(msg as never);
      }
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ id, method, params }));
  });
}

describe('quantbench serve', () => {
  let server: ServeProcess;
  let origin: string;
  before(async () => {
    server = await startServeProcess(tempDir());
    origin = `http://127.0.0.1:${server.port}`;
  });
  after(() => server.stop());

  it('listens on 127.0.0.1 and prints a URL with a token', () => {
    assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+\/\?token=[\w-]{20,}$/);
  });

  it('serves the UI with the token, with a strict CSP', async () => {
    const exchange = await get(server.port, `/?token=${server.token}`, { Host: `127.0.0.1:${server.port}` });
    assert.equal(exchange.status, 303);
    assert.match(String(exchange.headers['set-cookie']), /HttpOnly; SameSite=Strict/);
    const cookie = String(exchange.headers['set-cookie']).split(';')[0]!;
    const r = await get(server.port, '/', { Host: `127.0.0.1:${server.port}`, Cookie: cookie });
    assert.equal(r.status, 200);
    assert.match(r.body, /<div id="app">/);
    assert.match(String(r.headers['content-security-policy']), /default-src 'self'/);
  });

  it('refuses HTTP requests without the token or with a wrong one (401)', async () => {
    assert.equal((await get(server.port, '/')).status, 401);
    assert.equal((await get(server.port, '/?token=wrong')).status, 401);
    assert.equal((await get(server.port, '/assets/x.js')).status, 401);
  });

  it('refuses a foreign Host header, as DNS rebinding would send (403)', async () => {
    const r = await get(server.port, `/?token=${server.token}`, { Host: `evil.example:${server.port}` });
    assert.equal(r.status, 403);
  });

  it('answers app.info over the WebSocket with the token and our Origin', async () => {
    const { ws } = await connect(`ws://127.0.0.1:${server.port}/api?token=${server.token}`, { Origin: origin });
    assert.ok(ws);
    const r = await call(ws, 1, 'app.info', {});
    assert.equal(r.ok, true);
    assert.equal((r.result as { face: string }).face, 'serve');
    ws.close();
  });

  it('refuses a WebSocket without the token or with a wrong one (401)', async () => {
    assert.equal((await connect(`ws://127.0.0.1:${server.port}/api`, { Origin: origin })).status, 401);
    assert.equal((await connect(`ws://127.0.0.1:${server.port}/api?token=nope`, { Origin: origin })).status, 401);
  });

  it('refuses a WebSocket from a foreign Origin or with no Origin (403)', async () => {
    const url = `ws://127.0.0.1:${server.port}/api?token=${server.token}`;
    assert.equal((await connect(url, { Origin: 'http://evil.example' })).status, 403);
    assert.equal((await connect(url, { Origin: `http://127.0.0.1:${server.port + 1}` })).status, 403);
    assert.equal((await connect(url, {})).status, 403);
  });

  it('returns contract errors for unknown methods and bad parameters', async () => {
    const { ws } = await connect(`ws://127.0.0.1:${server.port}/api?token=${server.token}`, { Origin: origin });
    assert.ok(ws);
    const unknown = await call(ws, 7, 'fs.readFile', { path: '/etc/passwd' });
    assert.equal(unknown.ok, false);
    assert.match(unknown.error!.message, /unknown method/);
    const bad = await call(ws, 8, 'app.info', { surprise: 1 });
    assert.equal(bad.ok, false);
    assert.equal(bad.error!.code, 'INVALID_PARAMS');
    ws.close();
  });
});
