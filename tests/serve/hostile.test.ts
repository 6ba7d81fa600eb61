import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { startServeProcess, type ServeProcess } from '../helpers/serve';
import { tempDir } from '../helpers/tmp';

/** Sends raw bytes and returns whatever the server answered before closing (or after 2 s). */
function raw(port: number, bytes: string | Buffer): Promise<string> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let answer = '';
    const done = () => {
      socket.destroy();
      resolve(answer);
    };
    const timer = setTimeout(done, 2000);
    socket.on('data', (d) => (answer += d.toString('latin1')));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(answer);
    });
    socket.write(bytes);
  });
}

function statusOf(answer: string): number {
  return Number(/^HTTP\/1\.1 (\d{3})/.exec(answer)?.[1] ?? 0);
}

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

/** The process is alive and still answers: the check every hostile input ends with. */
async function assertAlive(server: ServeProcess): Promise<void> {
  assert.equal(server.child.exitCode, null, 'the serve process exited');
  const r = await get(server.port, '/');
  assert.equal(r.status, 401);
}

function upgradeRequest(port: number, extra: string, target = '/api'): string {
  return (
    `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nOrigin: http://127.0.0.1:${port}\r\n` +
    'Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n' +
    `Sec-WebSocket-Key: ${Buffer.alloc(16, 7).toString('base64')}\r\n${extra}\r\n`
  );
}

describe('quantbench serve under hostile input', () => {
  let server: ServeProcess;
  let origin: string;
  before(async () => {
    server = await startServeProcess(tempDir());
    origin = `http://127.0.0.1:${server.port}`;
  });
  after(() => server.stop());

  it('answers a malformed cookie with 401, over HTTP and on the WebSocket upgrade', async () => {
    const http1 = await raw(server.port, `GET / HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nCookie: qb_token=%\r\nConnection: close\r\n\r\n`);
    assert.equal(statusOf(http1), 401);
    const name = `qb_token_${server.port}`;
    const http2 = await raw(server.port, `GET / HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nCookie: ${name}=%E0%A4%A\r\nConnection: close\r\n\r\n`);
    assert.equal(statusOf(http2), 401);
    const upgrade = await raw(server.port, upgradeRequest(server.port, `Cookie: qb_token=%; ${name}=%\r\n`));
    assert.equal(statusOf(upgrade), 401);
    await assertAlive(server);
  });

  it('answers an unparsable request target with 400', async () => {
    const a = await raw(server.port, `GET http://[ HTTP/1.1\r\nHost: 127.0.0.1:${server.port}\r\nConnection: close\r\n\r\n`);
    assert.equal(statusOf(a), 400);
    const b = await raw(server.port, upgradeRequest(server.port, '', 'http://['));
    assert.equal(statusOf(b), 400);
    await assertAlive(server);
  });

  it('answers a path that is not valid percent-encoding with 400', async () => {
    const r = await get(server.port, `/%E0%A4%A?token=${server.token}`);
    assert.equal(r.status, 400);
    await assertAlive(server);
  });

  it('survives an unmasked WebSocket frame (closes that socket with 1002)', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api?token=${server.token}`, { headers: { Origin: origin } });
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    // A client frame must be masked (RFC 6455 5.1); this text frame "hi" is not.
    (ws as unknown as { _socket: net.Socket })._socket.write(Buffer.from([0x81, 0x02, 0x68, 0x69]));
    assert.equal(await closed, 1002);
    await assertAlive(server);
  });

  it('survives a message larger than maxPayload (closes that socket with 1009)', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api?token=${server.token}`, { headers: { Origin: origin } });
    ws.on('error', () => undefined);
    await new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('error', reject);
    });
    const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
    ws.send(Buffer.alloc(70 * 1024 * 1024, 0x20));
    assert.equal(await closed, 1009);
    await assertAlive(server);
  });

  it('exchanges the URL token for an HttpOnly, SameSite=Strict cookie named after the port', async () => {
    const r = await get(server.port, `/?token=${server.token}`);
    assert.equal(r.status, 303);
    assert.equal(r.headers.location, '/');
    const cookie = String(r.headers['set-cookie']);
    assert.match(cookie, new RegExp(`^qb_token_${server.port}=[\\w-]+; HttpOnly; SameSite=Strict; Path=/`));
    const pair = cookie.split(';')[0]!;
    const page = await get(server.port, '/', { Cookie: pair });
    assert.equal(page.status, 200);
    assert.match(page.body, /<div id="app">/);
    // The cookie another instance (or any other server on 127.0.0.1) would see is not ours.
    assert.equal((await get(server.port, '/', { Cookie: `qb_token=${server.token}` })).status, 401);
    const { status } = await new Promise<{ status?: number }>((resolve, reject) => {
      const ws = new WebSocket(`ws://127.0.0.1:${server.port}/api`, { headers: { Origin: origin, Cookie: pair } });
      ws.once('open', () => {
        ws.close();
        resolve({});
      });
      ws.once('unexpected-response', (_req, res) => resolve({ status: res.statusCode }));
      ws.once('error', reject);
    });
    assert.equal(status, undefined, 'the WebSocket opens with the cookie alone');
  });
});
