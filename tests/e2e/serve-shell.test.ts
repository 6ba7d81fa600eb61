import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser } from 'playwright-core';
import { launchChromium, missingChromium } from '../helpers/browser';
import { repoRoot } from '../helpers/cli';
import { startServeProcess, type ServeProcess } from '../helpers/serve';
import { tempDir } from '../helpers/tmp';

const version = (JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string }).version;

describe('the app shell in Chromium (serve mode)', { skip: missingChromium() }, () => {
  let server: ServeProcess;
  let browser: Browser;
  let dataDir: string;
  before(async () => {
    dataDir = tempDir();
    server = await startServeProcess(dataDir);
    browser = await launchChromium();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('loads the shell with its navigation', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(server.url);
    const nav = page.getByRole('navigation', { name: 'Main' });
    for (const label of ['Models', 'Compress', 'Experiments', 'Boards', 'About']) {
      await nav.getByRole('link', { name: label }).waitFor();
    }
    assert.deepEqual(errors, []);
    await page.close();
  });

  it('shows the version and data directory from the API on About', async () => {
    const page = await browser.newPage();
    await page.goto(server.url);
    await page.getByRole('link', { name: 'About' }).click();
    await assert.doesNotReject(page.getByTestId('version').waitFor());
    assert.equal(await page.getByTestId('version').textContent(), version);
    assert.equal(await page.getByTestId('data-dir').textContent(), dataDir);
    assert.match(page.url(), /#\/about$/);
    await page.close();
  });

  it('is refused without the token', async () => {
    const page = await browser.newPage();
    const response = await page.goto(`http://127.0.0.1:${server.port}/`);
    assert.equal(response?.status(), 401);
    await page.close();
  });

  it('refuses the API from a page on another origin', async () => {
    // A page served from a different origin (a data: URL here) must not reach the API even with the token.
    const page = await browser.newPage();
    await page.goto('data:text/html,<title>elsewhere</title>');
    const outcome = await page.evaluate(
      (url) =>
        new Promise<string>((resolve) => {
          const ws = new WebSocket(url);
          ws.onopen = () => resolve('open');
          ws.onerror = () => resolve('refused');
        }),
      `ws://127.0.0.1:${server.port}/api?token=${server.token}`,
    );
    assert.equal(outcome, 'refused');
    await page.close();
  });
});
