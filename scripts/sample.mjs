#!/usr/bin/env node
// `npm run sample`: the app on its built-in sample (sample model, sample data, a virtual
// board). The desktop window when Electron can run here, else the same app in a browser.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const run = (cmd, args) => spawnSync(cmd, args, { cwd: root, stdio: 'inherit' }).status ?? 1;

if (run('npm', ['run', '--silent', 'build:firmware']) !== 0) process.exit(1);
const desktop = run(process.execPath, [path.join(root, 'scripts/start.mjs'), '--sample']);
if (desktop === 0) process.exit(0);
console.error('Opening the same app in a browser instead (quantbench serve --sample).\n');
process.exit(run('npm', ['run', '--silent', 'serve', '--', '--sample']));
