import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const chromiumPath = process.env.QUANTBENCH_CHROMIUM ?? '/usr/bin/chromium';

/** A skip reason when Debian's chromium is not installed (.ci/run installs it). */
export function missingChromium(): string | false {
  return existsSync(chromiumPath) ? false : `chromium not found at ${chromiumPath} (apt-get install chromium)`;
}

/** Headless Debian chromium (close it in `after`); these flags keep it from calling home on a closed network. */
export async function launchChromium(): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--disable-dev-shm-usage',
    ],
  });
  return browser;
}
