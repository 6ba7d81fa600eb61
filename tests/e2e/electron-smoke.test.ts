import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, it } from 'node:test';
import { _electron as electron } from 'playwright-core';
import { repoRoot } from '../helpers/cli';

const require = createRequire(import.meta.url);

/** The Electron binary is downloaded on first launch; offline machines cannot, so say why we skip. */
function electronBinary(): string | null {
  const pathFile = path.join(path.dirname(require.resolve('electron/package.json')), 'path.txt');
  if (!existsSync(pathFile)) return null;
  const binary = path.join(path.dirname(pathFile), 'dist', readFileSync(pathFile, 'utf8'));
  return existsSync(binary) ? binary : null;
}

const binary = electronBinary();
const skip = binary ? false : 'Electron binary not installed (it is downloaded on first launch, and this machine is offline)';

describe('the Electron window', () => {
  it('opens the shell and shows the version from the core over IPC', { skip }, async () => {
    const build = spawnSync('npm', ['run', '--silent', 'build:electron'], { cwd: repoRoot, stdio: 'inherit' });
    assert.equal(build.status, 0);
    const app = await electron.launch({ executablePath: binary!, args: [repoRoot, '--no-sandbox'] });
    try {
      const page = await app.firstWindow();
      await page.getByRole('link', { name: 'About' }).click();
      const version = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;
      await page.getByTestId('version').waitFor();
      assert.equal(await page.getByTestId('version').textContent(), version);
      assert.equal(await page.evaluate(() => typeof (globalThis as { require?: unknown }).require), 'undefined');
    } finally {
      await app.close();
    }
  });
});
