import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';

/**
 * Cookies are scoped to a host, not a port: every server on 127.0.0.1 receives a cookie set by
 * any other. The port in the name keeps two `serve` instances (and other local servers that
 * happen to read a `qb_token`) from seeing or overwriting each other's session.
 */
export function tokenCookieName(port: number): string {
  return `qb_token_${port}`;
}

/** Constant-time comparison, so the token cannot be guessed byte by byte from timings. */
export function tokenMatches(expected: string, given: string | null | undefined): boolean {
  if (!given) return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** The request target as a URL, or null when it does not parse (the caller answers 400). */
export function requestUrl(req: IncomingMessage): URL | null {
  const target = req.url ?? '/';
  // Only origin-form targets ("/path?query") are ours; absolute-form is for proxies.
  if (!target.startsWith('/')) return null;
  try {
    return new URL(target, 'http://placeholder');
  } catch {
    return null;
  }
}

export function tokenFromQuery(url: URL): string | null {
  return url.searchParams.get('token') || null;
}

/** The session cookie's value; a malformed cookie header counts as no cookie. */
export function tokenFromCookie(req: IncomingMessage, port: number): string | null {
  const name = tokenCookieName(port);
  for (const part of (req.headers.cookie ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1 || part.slice(0, eq).trim() !== name) continue;
    try {
      return decodeURIComponent(part.slice(eq + 1).trim());
    } catch {
      return null;
    }
  }
  return null;
}

/**
 * A page on another site can reach 127.0.0.1 through DNS rebinding (its own host name
 * resolving to loopback) or a cross-origin WebSocket. Only our own host names pass.
 */
export function allowedHosts(port: number): Set<string> {
  return new Set([`127.0.0.1:${port}`, `localhost:${port}`]);
}

export function hostAllowed(req: IncomingMessage, port: number): boolean {
  return allowedHosts(port).has((req.headers.host ?? '').toLowerCase());
}

/** Browsers always send Origin on WebSocket upgrades; a missing one is not a browser page of ours. */
export function originAllowed(origin: string | undefined, port: number, required: boolean): boolean {
  if (origin === undefined) return !required;
  try {
    const url = new URL(origin);
    return url.protocol === 'http:' && allowedHosts(port).has(url.host.toLowerCase());
  } catch {
    return false;
  }
}
