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
import {
  hostAllowed,
  originAllowed,
  requestUrl,
  tokenCookieName,
  tokenFromCookie,
  tokenFromQuery,
  tokenMatches,
} from './security';
import { decodePath, serveStatic } from './static';
import type { Duplex } from 'node:stream';

/**
 * The largest WebSocket message the API accepts. A model upload travels as base64 in one
 * message, so this bounds uploads from the browser to about 48 MiB of model file; a larger
 * message closes that socket with 1009 and leaves the server running.
 */
export const MAX_WS_MESSAGE_BYTES = 64 * 1024 * 1024;

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

  const handleRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (!hostAllowed(req, port)) {
      res.writeHead(403, { 'Content-Type': 'text/plain' }).end('Forbidden: unexpected Host header\n');
      return;
    }
    if (!originAllowed(req.headers.origin, port, false)) {
      res.writeHead(403, { 'Content-Type': 'text/plain' }).end('Forbidden: foreign Origin\n');
      return;
    }
    const url = requestUrl(req);
    const pathname = url && decodePath(url.pathname);
    if (!url || pathname === null) {
      res.writeHead(400, { 'Content-Type': 'text/plain' }).end('Bad Request: malformed request target\n');
      return;
    }
    const fromQuery = tokenFromQuery(url);
    if (!tokenMatches(token, fromQuery ?? tokenFromCookie(req, port))) {
      res.writeHead(401, { 'Content-Type': 'text/plain' }).end('Unauthorized: open the URL printed by `quantbench serve`, token included\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD' }).end();
      return;
    }
    if (fromQuery) {
      // The token is traded for a cookie and dropped from the address bar, so it does not
      // stay in the history or get copied along with a link; the fragment (the route) is kept.
      url.searchParams.delete('token');
      res
        .writeHead(303, {
          Location: url.pathname + url.search,
          'Set-Cookie': `${tokenCookieName(port)}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/`,
          'Referrer-Policy': 'no-referrer',
          'Cache-Control': 'no-store',
        })
        .end();
      return;
    }
    serveStatic(rendererDir, pathname, res, {
      'Content-Security-Policy': contentSecurityPolicy(port),
      'X-Content-Type-Options': 'nosniff',
      'Referrer-Policy': 'no-referrer',
    });
  };

  const server = http.createServer((req, res) => {
    try {
      handleRequest(req, res);
    } catch (error) {
      // Every expected case is answered above; this is the net under an unexpected one.
      process.stderr.write(`quantbench serve: ${req.method} request failed: ${(error as Error).message}\n`);
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' }).end('Internal error\n');
      else res.destroy();
    }
  });

  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_WS_MESSAGE_BYTES });
  const handleUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const reject = (status: number, text: string) => {
      socket.end(`HTTP/1.1 ${status} ${text}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    };
    if (!hostAllowed(req, port) || !originAllowed(req.headers.origin, port, true)) return reject(403, 'Forbidden');
    const url = requestUrl(req);
    if (!url) return reject(400, 'Bad Request');
    if (!tokenMatches(token, tokenFromQuery(url) ?? tokenFromCookie(req, port))) return reject(401, 'Unauthorized');
    if (url.pathname !== '/api') return reject(404, 'Not Found');
    wss.handleUpgrade(req, socket, head, (ws) => bindSocket(ws, service));
  };
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    // A peer that resets mid-handshake must not become an unhandled 'error'.
    socket.on('error', () => socket.destroy());
    try {
      handleUpgrade(req, socket, head);
    } catch (error) {
      process.stderr.write(`quantbench serve: upgrade failed: ${(error as Error).message}\n`);
      socket.destroy();
    }
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
  // Protocol violations (an unmasked frame, a message over maxPayload) arrive here; ws has
  // already sent the close frame with the matching code (1002, 1009) and ends only this
  // socket; without a listener the 'error' event would end the whole process.
  ws.on('error', () => undefined);
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
