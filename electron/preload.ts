import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import { isEventName, isMethodName, type EventName } from '../core/api/methods';

const CALL_CHANNEL = 'quantbench:call';
const EVENT_CHANNEL = 'quantbench:event';

/**
 * The one object the page sees. It forwards only contract methods and events, so a
 * compromised page cannot reach arbitrary IPC channels.
 */
contextBridge.exposeInMainWorld('quantbench', {
  call(method: unknown, params: unknown) {
    if (!isMethodName(method)) return Promise.reject(new Error(`unknown method ${String(method)}`));
    return ipcRenderer.invoke(CALL_CHANNEL, method, params);
  },
  subscribe(event: unknown, listener: (payload: unknown) => void) {
    if (!isEventName(event)) throw new Error(`unknown event ${String(event)}`);
    const wanted: EventName = event;
    const handler = (_e: IpcRendererEvent, name: unknown, payload: unknown) => {
      if (name === wanted) listener(payload);
    };
    ipcRenderer.on(EVENT_CHANNEL, handler);
    return () => {
      ipcRenderer.off(EVENT_CHANNEL, handler);
    };
  },
});
