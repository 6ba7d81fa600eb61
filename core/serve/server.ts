import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { eventNames } from '../api/methods';
import type { CallRequest, CallResponse, EventMessage } from '../api/wire';
import { projectRoot } from '../app/version';
import { QuantbenchError, serializeError } from '../errors';
import type { Service } from '../service';
import { hostAllowed, originAllowed, TOKEN_COOKIE, tokenFromRequest, tokenMatches } from './security';
import { serveStatic } from './static';

export interface ServeOptions {
  service: Service;
  /** 0 picks a free port. */
  port?: number;
  /** Folder with the built renderer (index.html). */
  rendererDir?: string;
  /** Fixed token for tests; a random one otherwise. */
  token?: string;
}

export interface RunningServer {
  url: string;
  port: number;
  token: string;
  close(): Promise<void>;
}

export const defaultRendererDir = path.join(projectRoot, 'dist', 'renderer');

function contentSecurityPolicy(port: number): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    // Svelte transitions and chart libraries set inline style attributes.
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data: blob:",
    `connect-src 'self' ws://127.0.0.1:${port} ws://localhost:${port}`,
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'none'",
  ].join('; ');
}

/**
 * Serve mode: the renderer over HTTP and the core API over a WebSocket, on loopback only,
 * behind a per-start token. For lab machines without a display and for browser tests.
 */
export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const rendererDir = path.resolve(options.rendererDir ?? defaultRendererDir);
  if (!existsSync(path.join(rendererDir, 'index.html'))) {
    throw new QuantbenchError('RENDERER_NOT_BUILT', `The user interface is not built: ${rendererDir}/index.html is missing.`, {
      hint: 'run `npm run build:renderer` (or start with `npm run serve`, which builds it)',
    });
  }
  const token = options.token ?? randomBytes(24).toString('base64url');
  const { service } = options;
  let port = 0;

  const server = http.createServer((req, res) => {
    if (!hostAllowed(req, port)) {
      res.writeHead(403, { 'Content-Type': 'text/plain' }).end('Forbidden: unexpected Host header\n');
      return;
    }
    if (!originAllowed(req.headers.origin, port, false)) {
      res.writeHead(403, { 'Content-Type': 'text/plain' }).end('Forbidden: foreign Origin\n');
      return;
    }
    if (!tokenMatches(token, tokenFromRequest(req))) {
      res.writeHead(401, { 'Content-Type': 'text/plain' }).end('Unauthorized: open the URL printed by `quantbench serve`, token included\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    serveStatic(rendererDir, req.url ?? '/', res, {
      'Content-Security-Policy': contentSecurityPolicy(port),
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
      // The page's own requests for scripts and styles carry no query string: the cookie does.
      'Set-Cookie': `${TOKEN_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`,
    });
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 * 1024 });
  server.on('upgrade', (req, socket, head) => {
    const reject = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (!hostAllowed(req, port) || !originAllowed(req.headers.origin, port, true)) return reject(403, 'Forbidden');
    if (!tokenMatches(token, tokenFromRequest(req))) return reject(401, 'Unauthorized');
    if (new URL(req.url ?? '/', 'http://x').pathname !== '/api') return reject(404, 'Not Found');
    wss.handleUpgrade(req, socket, head, (ws) => bindSocket(ws, service));
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/?token=${token}`,
    port,
    token,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function bindSocket(ws: WebSocket, service: Service): void {
  const send = (message: CallResponse | EventMessage) => {
    if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(message));
  };
  const unsubscribe = eventNames.map((event) => service.events.on(event, (payload) => send({ event, payload })));
  ws.on('close', () => unsubscribe.forEach((off) => off()));
  ws.on('message', async (data) => {
    let request: CallRequest;
    try {
      request = JSON.parse(data.toString()) as CallRequest;
      if (typeof request.id !== 'number') throw new Error('missing numeric id');
    } catch (error) {
      ws.close(1007, `malformed request: ${(error as Error).message}`.slice(0, 120));
      return;
    }
    try {
      const result = await service.invoke(request.method, request.params);
      send({ id: request.id, ok: true, result });
    } catch (error) {
      send({ id: request.id, ok: false, error: serializeError(error) });
    }
  });
}
