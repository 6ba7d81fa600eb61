import { ipcMain, type IpcMainInvokeEvent, type WebContents } from 'electron';
import { eventNames } from '../core/api/methods';
import { serializeError } from '../core/errors';
import type { Service } from '../core/service';
import { APP_ORIGIN } from './protocol';

export const CALL_CHANNEL = 'quantbench:call';
export const EVENT_CHANNEL = 'quantbench:event';

/** Only our own page may call the core; a frame from anywhere else is refused. */
function trustedSender(event: IpcMainInvokeEvent): boolean {
  const url = event.senderFrame?.url ?? '';
  return url.startsWith(`${APP_ORIGIN}/`);
}

/** Binds the API contract to one IPC channel; the service validates names and parameters. */
export function bindIpc(service: Service): void {
  ipcMain.handle(CALL_CHANNEL, async (event, method: unknown, params: unknown) => {
    if (!trustedSender(event)) {
      return { ok: false, error: { name: 'Error', code: 'FORBIDDEN', message: 'IPC call from an untrusted frame' } };
    }
    try {
      return { ok: true, result: await service.invoke(method, params) };
    } catch (error) {
      return { ok: false, error: serializeError(error) };
    }
  });
}

/** Forwards core events to one window for as long as it lives. */
export function forwardEvents(service: Service, contents: WebContents): void {
  const offs = eventNames.map((name) =>
    service.events.on(name, (payload) => {
      if (!contents.isDestroyed()) contents.send(EVENT_CHANNEL, name, payload);
    }),
  );
  contents.once('destroyed', () => offs.forEach((off) => off()));
}
