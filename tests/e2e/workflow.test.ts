import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { sampleModelPath } from '../../core/app/sample';
import { openStore } from '../../core/store/index';
import { seriousViolations } from '../helpers/axe';
import { launchChromium, missingChromium } from '../helpers/browser';
import { repoRoot } from '../helpers/cli';
import { startServeProcess, type ServeProcess } from '../helpers/serve';
import { tempDir } from '../helpers/tmp';

// QUANTBENCH_SCREENSHOTS=1 refreshes the pictures in docs/; otherwise they go to a temp dir.
const screenshots = process.env.QUANTBENCH_SCREENSHOTS ? path.join(repoRoot, 'docs', 'screenshots') : tempDir('quantbench-shots-');
const skip = missingChromium() || (existsSync(sampleModelPath()) ? false : `sample model missing at ${sampleModelPath()} (npm run train:sample)`);
// Evaluating 1,000 test images keeps the whole walk within a few minutes on two cores.
const EVAL_LIMIT = '1000';

async function shoot(page: Page, name: string): Promise<void> {
  mkdirSync(screenshots, { recursive: true });
  await page.screenshot({ path: path.join(screenshots, `${name}.png`) });
}

/**
 * The figures README.md states for the run in run-results.png. The picture is retaken from
 * this run, so when the sample or the pipeline changes the figures, this fails until the
 * README says what the new picture shows.
 */
function readmeRunFigures(): { float: string; int8: string; arena: string } {
  const readme = readFileSync(path.join(repoRoot, 'README.md'), 'utf8');
  const m = /run-results\.png[^]*?float (\d+\.\d+%), int8 (\d+\.\d+%), arena ([\d,]+ B)/.exec(readme);
  assert.ok(m, 'README.md must state the float and int8 accuracy and the arena of the run in run-results.png');
  return { float: m[1], int8: m[2], arena: m[3] };
}

/** At 1280x800 nothing on the Run screen may be wider than its box (cut text, hidden columns). */
async function assertNoOverflow(page: Page): Promise<void> {
  const overflowing = await page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('main .card, main .scroll')]
      .filter((el) => el.scrollWidth > el.clientWidth)
      .map((el) => `${el.getAttribute('aria-labelledby') ?? el.getAttribute('aria-label') ?? el.className}: ${el.scrollWidth} > ${el.clientWidth}`),
  );
  assert.deepEqual(overflowing, []);
}

/**
 * Each float island on the Run screen shows the RAM it costs and the accuracy it buys, the
 * figures recorded for the run (measured by quantizing that island int8 and evaluating).
 */
async function assertIslandsShown(page: Page, dataDir: string, runId: number): Promise<void> {
  const store = openStore(dataDir, { readonly: true });
  let islands: { layers: string[]; extraBytes: number; accuracyBought: number | null; accuracySamples: number | null; accuracyNote: string }[];
  try {
    islands = (store.getRun(runId).details as { fit: { floatIslands: typeof islands } }).fit.floatIslands;
  } finally {
    store.close();
  }
  assert.ok(islands.length > 0, 'the keep-float preset leaves float islands');
  const shown = await page.getByTestId('float-islands').getByRole('listitem').allTextContents();
  assert.equal(shown.length, islands.length);
  for (const [i, island] of islands.entries()) {
    assert.ok(island.accuracyBought !== null && Number.isFinite(island.accuracyBought), island.accuracyNote);
    const pt = (island.accuracyBought * 100).toFixed(2);
    const text = shown[i]!.replace(/\s+/g, ' ');
    assert.ok(text.includes(island.layers.join(', ')), text);
    assert.ok(text.includes(`+${(island.extraBytes / 1024).toFixed(1)} KiB`), text);
    assert.ok(text.includes(`buys ${island.accuracyBought >= 0 ? '+' : ''}${pt} pt`), text);
    assert.ok(text.includes(`on ${island.accuracySamples!.toLocaleString('en-US')} samples`), text);
  }
}

async function assertAccessible(page: Page, screen: string): Promise<void> {
  const violations = await seriousViolations(page);
  assert.deepEqual(violations, [], `${screen}: ${JSON.stringify(violations, null, 2)}`);
}

async function compress(page: Page, preset: string, keepRescaling: boolean): Promise<number> {
  await page.getByRole('link', { name: 'Compress' }).click();
  await page.getByLabel('Start from preset').selectOption(preset);
  const toggle = page.getByRole('switch', { name: /Keep rescaling layers in float/ });
  if ((await toggle.isChecked()) !== keepRescaling) await toggle.click();
  await page.getByLabel('Evaluate on at most (samples)').fill(EVAL_LIMIT);
  await page.getByRole('button', { name: 'Run', exact: true }).click();
  await page.getByRole('progressbar', { name: 'Compression progress' }).waitFor();
  await page.waitForURL(/#\/experiments\/run\/\d+$/, { timeout: 600_000 });
  return Number(/run\/(\d+)$/.exec(page.url())![1]);
}

describe('the whole workflow in the browser, on the sample', { skip }, () => {
  let server: ServeProcess;
  let browser: Browser;
  let page: Page;
  let dataDir: string;
  let firstRun = 0;
  let secondRun = 0;

  before(async () => {
    dataDir = tempDir();
    server = await startServeProcess(dataDir);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(server.url);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('opens the sample model and shows its layers and weight histograms', async () => {
    await page.getByRole('button', { name: 'Use the sample model' }).click();
    // Importing the sample takes a while on a loaded machine.
    await page.getByTestId('model-layers').waitFor({ timeout: 180_000 });
    const table = await page.getByTestId('model-layers').textContent();
    for (const cls of ['Rescaling', 'Conv2D', 'DepthwiseConv2D', 'BatchNormalization', 'GlobalAveragePooling2D', 'Dense']) {
      assert.match(table ?? '', new RegExp(cls), `layer table lacks ${cls}`);
    }
    await page.getByTestId('model-histogram').waitFor();
    await assertAccessible(page, 'Models');
    await shoot(page, 'models');
  });

  it('compresses with rescaling kept in float at 50% sparsity and 16 clusters, and the guarantees pass', async () => {
    firstRun = await compress(page, 'prune50-cluster16-int8-keep-rescaling-float', true);
    const guarantees = page.getByTestId('guarantees');
    await guarantees.waitFor();
    const text = (await guarantees.textContent()) ?? '';
    assert.doesNotMatch(text, /FAIL/);
    assert.match(text, /Every pruned weight is exactly zero/);
    assert.match(text, /at most 16 distinct values/);
    assert.match(text, /float ops/);
    const layers = (await page.getByTestId('layer-report').textContent()) ?? '';
    assert.match(layers, /float/);
    assert.match(layers, /int8/);
    await page.getByTestId('fit').waitFor();
    assert.match((await page.getByTestId('fit-boards').textContent()) ?? '', /Fits .*nano33ble/);
    await assertIslandsShown(page, dataDir, firstRun);
    await assertNoOverflow(page);
    await assertAccessible(page, 'Run results');
    await shoot(page, 'run-results');
    const shown = {
      float: (await page.getByTestId('float-accuracy').textContent())?.trim(),
      int8: (await page.getByTestId('int8-accuracy').textContent())?.trim(),
      arena: (await page.getByTestId('arena-bytes').textContent())?.trim(),
    };
    assert.deepEqual(shown, readmeRunFigures(), 'README.md states other figures than run-results.png shows: update its text');
  });

  it('pushes the run to a virtual board and shows on-device accuracy and latency', async () => {
    await page.getByRole('link', { name: 'Boards' }).click();
    await page.getByRole('button', { name: 'Start a virtual board' }).click();
    await page.getByText('(started here)').waitFor();
    await page.getByRole('button', { name: 'Connect' }).click();
    // Either the board introduces itself or the page says, in words, why not. The wait is the
    // profile test's: one CI-like run saw nothing within Playwright's default 30 s here.
    await page.getByTestId('board-info').or(page.getByRole('alert')).waitFor({ timeout: 120_000 });
    if (await page.getByRole('alert').isVisible()) assert.fail(`connect failed: ${await page.getByRole('alert').textContent()}`);
    await page.getByLabel('Run to push').selectOption(String(firstRun));
    await page.getByLabel('Benchmark runs').fill('20');
    await page.getByLabel('Evaluate on (samples)').fill('200');
    await assertAccessible(page, 'Boards');
    await page.getByRole('button', { name: 'Push and measure' }).click();
    await page.getByRole('progressbar', { name: 'Push progress' }).waitFor();
    await shoot(page, 'boards');
    await page.waitForURL(new RegExp(`#/experiments/run/${firstRun}$`), { timeout: 300_000 });
    const device = page.getByRole('region', { name: 'On the board', exact: true });
    await device.waitFor();
    const text = (await device.textContent()) ?? '';
    assert.match(text, /succeeded/);
    assert.match(text, /100\.00%/, 'board and desktop int8 outputs must agree on every sample');
    assert.match(text, /µs|ms/);
  });

  it('runs a second recipe, compares the two and shows both on the Pareto chart', async () => {
    secondRun = await compress(page, 'int8', false);
    await page.getByRole('link', { name: 'Experiments' }).click();
    await page.getByText('2 runs').waitFor();
    await page.getByTestId('pareto-chart').waitFor();
    await assertAccessible(page, 'Experiments');
    await shoot(page, 'experiments');
    await page.getByLabel(`Select ${firstRun}`, { exact: true }).check();
    await page.getByLabel(`Select ${secondRun}`, { exact: true }).check();
    await page.getByRole('button', { name: 'Compare selected (2)' }).click();
    const recipe = (await page.getByTestId('compare-recipe').textContent()) ?? '';
    assert.match(recipe, /prune/);
    await assertAccessible(page, 'Compare');
    await shoot(page, 'compare');
    // Both runs are points on the chart: on the front, or counted among the runs it dominates.
    await page.getByRole('link', { name: 'Experiments' }).click();
    const front = page.getByRole('list', { name: 'Runs on the Pareto front' }).getByRole('listitem');
    await front.first().waitFor();
    const onFront = await front.count();
    const dominated = Number(/(\d+) other runs? (?:is|are) dominated/.exec((await page.getByText(/dominated by these/).textContent()) ?? '')?.[1]);
    assert.equal(onFront + dominated, 2, `front ${onFront}, dominated ${dominated}`);
  });

  it('cancels a running compression, stays usable, and records the run as cancelled', async () => {
    await page.getByRole('link', { name: 'Compress' }).click();
    await page.getByLabel('Start from preset').selectOption('prune50-cluster16-int8');
    await page.getByLabel('Evaluate on at most (samples)').fill('10000');
    await page.getByRole('button', { name: 'Run', exact: true }).click();
    await page.getByRole('progressbar', { name: 'Compression progress' }).waitFor();
    // Cancel once the work proper has started (the run row exists from then on).
    await page.waitForFunction(
      () => /prune|cluster|calibrate|quantize|analyse|export|evaluate/.test(document.querySelector('[role=progressbar]')?.getAttribute('aria-valuetext') ?? ''),
      undefined,
      { timeout: 120_000 },
    );
    await page.getByRole('button', { name: 'Cancel' }).click();
    await page.getByText('Cancelled. The run is recorded as cancelled').waitFor({ timeout: 30_000 });
    await page.getByRole('link', { name: 'About' }).click();
    await page.getByTestId('version').waitFor();
    const store = openStore(dataDir, { readonly: true });
    try {
      const statuses = store.listRuns({ limit: 50 }).runs.map((r) => r.status);
      assert.ok(statuses.includes('cancelled'), `statuses: ${statuses.join(', ')}`);
    } finally {
      store.close();
    }
  });
});
