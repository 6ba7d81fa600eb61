import { app, BrowserWindow, Menu, session, shell } from 'electron';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../core/app/version';
import { createService } from '../core/service';
import { bindIpc, forwardEvents } from './ipc';
import { isDocumentationLink } from './links';
import { buildMenu } from './menu';
import { APP_ORIGIN, registerAppScheme, serveRenderer } from './protocol';

// Bundled to dist/app/main.cjs; the renderer build is in dist/renderer.
const distDir = path.resolve(__dirname, '..');
const rendererDir = path.join(distDir, 'renderer');
const homepage = (JSON.parse(readFileSync(path.join(projectRoot, 'package.json'), 'utf8')) as { homepage?: string }).homepage;

registerAppScheme();

function createWindow(): BrowserWindow {
  const win = new BrowserWindow({
    width: 1280,
    height: 800,
    title: 'Quantbench',
    webPreferences: {
      preload: path.join(__dirname, 'preload.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webSecurity: true,
      spellcheck: false,
      // A packaged build has no developer tools: nothing to inspect or script the core through.
      devTools: !app.isPackaged,
    },
  });
  win.loadURL(`${APP_ORIGIN}/index.html`);
  return win;
}

app.on('web-contents-created', (_event, contents) => {
  // The UI is one page; any navigation or new window is either a bug or an attack.
  contents.on('will-navigate', (event, url) => {
    if (!url.startsWith(`${APP_ORIGIN}/`)) event.preventDefault();
  });
  contents.setWindowOpenHandler(({ url }) => {
    if (isDocumentationLink(url, homepage)) void shell.openExternal(url);
    return { action: 'deny' };
  });
  contents.on('will-attach-webview', (event) => event.preventDefault());
});

app.whenReady().then(() => {
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);
  serveRenderer(rendererDir);
  const service = createService({ dataDir: app.getPath('userData'), face: 'electron' });
  bindIpc(service);
  Menu.setApplicationMenu(buildMenu());
  const win = createWindow();
  forwardEvents(service, win.webContents);
  if (process.argv.includes('--sample')) {
    service.prepareSample().catch((error: unknown) => console.error(`Could not prepare the sample: ${String(error)}`));
  }
  app.on('before-quit', () => void service.close());
  app.on('activate', () => {
    if (BrowserWindow.getAllWindows().length === 0) forwardEvents(service, createWindow().webContents);
  });
});

app.on('window-all-closed', () => {
  if (process.platform !== 'darwin') app.quit();
});
