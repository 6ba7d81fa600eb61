import type { ApiTransport } from '../../../core/api/client';
import { isEventName, type EventName, type MethodName } from '../../../core/api/methods';
import { RemoteError, type CallResponse, type EventMessage, type WireError } from '../../../core/api/wire';

/** What the Electron preload exposes on window.quantbench. */
export interface PreloadBridge {
  call(method: MethodName, params: unknown): Promise<{ ok: true; result: unknown } | { ok: false; error: WireError }>;
  subscribe(event: EventName, listener: (payload: unknown) => void): () => void;
}

declare global {
  interface Window {
    quantbench?: PreloadBridge;
  }
}

export function electronTransport(bridge: PreloadBridge): ApiTransport {
  return {
    async call(method, params) {
      const response = await bridge.call(method, params);
      if (!response.ok) throw new RemoteError(response.error);
      return response.result;
    },
    subscribe: (event, listener) => bridge.subscribe(event, listener),
  };
}

/** Serve mode: one WebSocket to /api on the page's own origin; the token rides along. */
export function webSocketTransport(url: string): ApiTransport {
  let nextId = 1;
  const pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  const listeners = new Map<EventName, Set<(payload: unknown) => void>>();
  const socket = new WebSocket(url);
  const opened = new Promise<void>((resolve, reject) => {
    socket.addEventListener('open', () => resolve(), { once: true });
    socket.addEventListener('error', () => reject(new Error(`Cannot reach the Quantbench server at ${location.host}`)), { once: true });
  });
  socket.addEventListener('message', (event) => {
    const message = JSON.parse(String(event.data)) as CallResponse | EventMessage;
    if ('event' in message) {
      if (isEventName(message.event)) listeners.get(message.event)?.forEach((l) => l(message.payload));
      return;
    }
    const waiter = pending.get(message.id);
    if (!waiter) return;
    pending.delete(message.id);
    if (message.ok) waiter.resolve(message.result);
    else waiter.reject(new RemoteError(message.error));
  });
  socket.addEventListener('close', (event) => {
    const error = new Error(`Connection to the Quantbench server closed (${event.code}${event.reason ? `: ${event.reason}` : ''})`);
    for (const waiter of pending.values()) waiter.reject(error);
    pending.clear();
  });
  return {
    async call(method, params) {
      await opened;
      const id = nextId++;
      return new Promise((resolve, reject) => {
        pending.set(id, { resolve, reject });
        socket.send(JSON.stringify({ id, method, params }));
      });
    },
    subscribe(event, listener) {
      let set = listeners.get(event);
      if (!set) listeners.set(event, (set = new Set()));
      set.add(listener);
      return () => set.delete(listener);
    },
  };
}
