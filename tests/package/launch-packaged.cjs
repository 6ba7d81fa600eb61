// Starts a packaged Quantbench the way Electron does, under plain Node: `resources/` is
// process.resourcesPath, the app is resources/app.asar (here extracted into a folder of that
// name, since Node cannot read asar archives), and its package.json `main` is loaded.
'use strict';
/* eslint-disable @typescript-eslint/no-require-imports -- CommonJS, loaded the way Electron loads a CommonJS main */
const path = require('node:path');
const { readFileSync } = require('node:fs');

const resources = path.resolve(process.argv[2]);
process.resourcesPath = resources;
const appDir = path.join(resources, 'app.asar');
const { main } = JSON.parse(readFileSync(path.join(appDir, 'package.json'), 'utf8'));
require(path.join(appDir, main));
