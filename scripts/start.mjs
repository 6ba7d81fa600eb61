#!/usr/bin/env node
// `npm start`: build the renderer and the Electron bundles, then launch the desktop app.
// Electron downloads its binary on first launch; where that is impossible (offline build
// machines) this stops with one clear message instead of a stack trace.
import { spawn, spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

for (const script of ['build:renderer', 'build:electron']) {
  const r = spawnSync('npm', ['run', '--silent', script], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}

function electronMissing(reason) {
  console.error(
    `\nQuantbench cannot open its desktop window: the Electron binary is not installed and could not be downloaded (${reason}).\n` +
      'Use the same app in a browser instead:  npm run serve\n',
  );
  process.exit(1);
}

// Electron's own first-launch download prints a stack trace when offline; run it quietly here.
const install = spawnSync(process.execPath, [require.resolve('electron/install.js')], { cwd: root, encoding: 'utf8', timeout: 300_000 });
if (install.status !== 0) {
  const lines = `${install.stderr ?? ''}${install.stdout ?? ''}`.trim().split('\n');
  electronMissing(lines.find((l) => /Error/.test(l))?.trim() ?? `exit ${install.status}`);
}

let electronBinary;
try {
  electronBinary = require('electron');
} catch (error) {
  electronMissing(error instanceof Error ? error.message.split('\n')[0] : String(error));
}

const child = spawn(electronBinary, [root, ...process.argv.slice(2)], { cwd: root, stdio: 'inherit' });
child.on('exit', (code, signal) => process.exit(signal ? 1 : (code ?? 0)));
