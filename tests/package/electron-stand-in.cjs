// A stand-in for the `electron` module, for running a packaged main process under plain Node
// (the Electron binary cannot be downloaded on CI machines). It implements the part of the
// API electron/main.ts uses, records what the app asked for, and lets the test drive the app
// through process messages the way the window would: calls go to the same ipcMain handler
// the preload reaches, events come back from webContents.send.
'use strict';
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS, loaded the way Electron loads a CommonJS main */
const { EventEmitter } = require('node:events');
const { readFile } = require('node:fs/promises');
const { fileURLToPath } = require('node:url');

const seen = { windows: [], openedExternally: [], schemes: [], menu: null, permissionChecks: [] };
const ipcHandlers = new Map();
const protocolHandlers = new Map();
const windowOpenHandlers = [];

class WebContents extends EventEmitter {
  constructor() {
    super();
    this.destroyed = false;
  }
  send(channel, ...args) {
    process.send?.({ type: 'event', channel, args });
  }
  isDestroyed() {
    return this.destroyed;
  }
  setWindowOpenHandler(handler) {
    windowOpenHandlers.push(handler);
  }
}

const app = new EventEmitter();
let readyResolve;
const ready = new Promise((resolve) => (readyResolve = resolve));
Object.assign(app, {
  isPackaged: true,
  whenReady: () => ready,
  isReady: () => seen.ready === true,
  getPath: (name) => {
    if (name !== 'userData') throw new Error(`stand-in app.getPath: ${name} not supported`);
    return process.env.QUANTBENCH_STAND_IN_USER_DATA;
  },
  quit: () => app.emit('before-quit'),
});

class BrowserWindow extends EventEmitter {
  constructor(options) {
    super();
    this.options = options;
    this.webContents = new WebContents();
    seen.windows.push(this);
    app.emit('web-contents-created', {}, this.webContents);
  }
  loadURL(url) {
    this.url = url;
    return Promise.resolve();
  }
  static getAllWindows() {
    return seen.windows;
  }
}

const session = {
  defaultSession: {
    setPermissionRequestHandler: (handler) => (seen.permissionRequest = handler),
    setPermissionCheckHandler: (handler) => (seen.permissionCheck = handler),
  },
};

const protocol = {
  registerSchemesAsPrivileged: (schemes) => {
    if (seen.ready) throw new Error('registerSchemesAsPrivileged after ready');
    seen.schemes.push(...schemes);
  },
  handle: (scheme, handler) => protocolHandlers.set(scheme, handler),
};

const net = {
  fetch: async (url) => {
    if (!url.startsWith('file:')) throw new Error(`stand-in net.fetch only reads files, got ${url}`);
    try {
      return new Response(await readFile(fileURLToPath(url)), { status: 200 });
    } catch {
      return new Response('not found', { status: 404 });
    }
  },
};

const Menu = {
  buildFromTemplate: (template) => ({ template }),
  setApplicationMenu: (menu) => (seen.menu = menu),
};

const shell = { openExternal: async (url) => void seen.openedExternally.push(url) };
const ipcMain = { handle: (channel, handler) => ipcHandlers.set(channel, handler) };

// The test's side of the conversation.
process.on('message', async (message) => {
  const reply = (body) => process.send({ type: 'reply', id: message.id, ...body });
  try {
    if (message.type === 'invoke') {
      const handler = ipcHandlers.get(message.channel);
      if (!handler) throw new Error(`no ipcMain handler for ${message.channel}`);
      const event = { senderFrame: { url: message.senderUrl } };
      reply({ result: await handler(event, ...message.args) });
    } else if (message.type === 'fetch') {
      const handler = protocolHandlers.get(new URL(message.url).protocol.slice(0, -1));
      const response = await handler(new Request(message.url));
      reply({ result: { status: response.status, csp: response.headers.get('content-security-policy'), body: (await response.text()).slice(0, 200) } });
    } else if (message.type === 'open-window') {
      const actions = windowOpenHandlers.map((h) => h({ url: message.url }).action);
      await new Promise((r) => setImmediate(r));
      reply({ result: { actions, openedExternally: seen.openedExternally.includes(message.url) } });
    } else if (message.type === 'state') {
      const w = seen.windows[0];
      reply({
        result: {
          ready: seen.ready === true,
          windows: seen.windows.length,
          url: w?.url,
          webPreferences: w?.options.webPreferences,
          schemes: seen.schemes,
          ipcChannels: [...ipcHandlers.keys()],
          permissionGranted: seen.permissionCheck ? seen.permissionCheck() : null,
        },
      });
    } else if (message.type === 'quit') {
      app.quit();
      reply({ result: true });
    }
  } catch (error) {
    reply({ error: error instanceof Error ? `${error.message}\n${error.stack}` : String(error) });
  }
});

// Like Electron: the app's main module runs first, 'ready' comes after.
setImmediate(() => {
  seen.ready = true;
  app.emit('ready');
  readyResolve();
  process.send?.({ type: 'ready' });
});

module.exports = { app, BrowserWindow, Menu, ipcMain, net, protocol, session, shell };
