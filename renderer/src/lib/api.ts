import { createApiClient, type ApiClient } from '../../../core/api/client';
import { electronTransport, webSocketTransport } from './transport';

/** The transport is chosen once at start: Electron's preload when present, else serve mode. */
function chooseClient(): ApiClient {
  if (window.quantbench) return createApiClient(electronTransport(window.quantbench));
  const token = new URLSearchParams(location.search).get('token') ?? sessionStorage.getItem('qb-token') ?? '';
  sessionStorage.setItem('qb-token', token);
  const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
  return createApiClient(webSocketTransport(`${scheme}://${location.host}/api?token=${encodeURIComponent(token)}`));
}

export const api = chooseClient();
