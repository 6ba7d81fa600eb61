#!/usr/bin/env node
// The CLI runs the TypeScript core directly through tsx, so `npx quantbench` works right
// after `npm ci` with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../core/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
