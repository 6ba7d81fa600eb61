import { createReadStream, statSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import path from 'node:path';

const contentTypes: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.wasm': 'application/wasm',
  '.ico': 'image/x-icon',
};

/**
 * The request path, percent-decoded, or null when the encoding is malformed (the caller
 * answers 400 rather than guessing what was meant).
 */
export function decodePath(pathname: string): string | null {
  try {
    const decoded = decodeURIComponent(pathname);
    return decoded.includes('\0') ? null : decoded;
  } catch {
    return null;
  }
}

function isRegularFile(file: string): boolean {
  try {
    return statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Serves a regular file under `root`; anything resolving outside it, or missing, falls back to index.html. */
export function serveStatic(root: string, decodedPath: string, res: ServerResponse, headers: Record<string, string>): void {
  let file = path.resolve(root, '.' + path.posix.normalize(decodedPath));
  if (!file.startsWith(root + path.sep) || !isRegularFile(file)) file = path.join(root, 'index.html');
  const type = contentTypes[path.extname(file)] ?? 'application/octet-stream';
  res.writeHead(200, { ...headers, 'Content-Type': type, 'Cache-Control': 'no-cache' });
  // A file removed between the check and the read ends this response, not the server.
  createReadStream(file)
    .on('error', () => res.destroy())
    .pipe(res);
}
