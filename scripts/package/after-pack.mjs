// electron-builder afterPack hook: refuses a package whose native addons were built for a
// different ABI than the runtime that will load them. The target is Electron's ABI, unless
// the Electron distribution is the stand-in of tests/package (marked by stand-in.json),
// whose main process runs under the Node that packaged it.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { abiMismatches, electronAbi, findAddons } from './native-abi.mjs';

export const STAND_IN_MARKER = 'quantbench-stand-in.json';

export default async function afterPack(context) {
  const { appOutDir, electronPlatformName, packager } = context;
  const resources = electronPlatformName === 'darwin'
    ? path.join(appOutDir, `${packager.appInfo.productFilename}.app`, 'Contents', 'Resources')
    : path.join(appOutDir, 'resources');
  const unpacked = path.join(resources, 'app.asar.unpacked');
  const marker = path.join(appOutDir, STAND_IN_MARKER);
  const standIn = existsSync(marker) ? JSON.parse(readFileSync(marker, 'utf8')) : null;
  const electronVersion = packager.config.electronVersion ?? packager.info.framework.version;
  const expected = standIn ? String(standIn.modules) : electronAbi(electronVersion);
  const runtime = standIn ? `the stand-in Electron (Node ${standIn.node}, NODE_MODULE_VERSION ${expected})` : `Electron ${electronVersion} (NODE_MODULE_VERSION ${expected})`;
  if (!existsSync(unpacked) || findAddons(unpacked).length === 0) {
    throw new Error(`no native addons in ${unpacked}: better-sqlite3 and serialport must be unpacked from app.asar (asarUnpack)`);
  }
  const problems = abiMismatches(unpacked, expected);
  if (problems.length) {
    throw new Error(
      `native addons in the package do not match ${runtime}:\n  ${problems.join('\n  ')}\n` +
        'electron-builder could not rebuild them for Electron (npmRebuild needs Electron\'s headers, downloaded from the internet); ' +
        'rebuild on a machine that can fetch them (npx @electron/rebuild) and package again.',
    );
  }
  console.log(`  • native addons match ${runtime}: ${findAddons(unpacked).length} checked`);
}
