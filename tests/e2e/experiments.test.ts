import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Browser, Page } from 'playwright-core';
import { launchChromium, missingChromium } from '../helpers/browser';
import { seedRuns, type SeededRun } from '../helpers/seed-runs';
import { startServeProcess, type ServeProcess } from '../helpers/serve';
import { tempDir } from '../helpers/tmp';

describe('the Experiments screen', { skip: missingChromium() }, () => {
  let server: ServeProcess;
  let browser: Browser;
  let page: Page;
  let runs: SeededRun[];
  before(async () => {
    const dataDir = tempDir();
    runs = seedRuns(dataDir, 40);
    server = await startServeProcess(dataDir);
    browser = await launchChromium();
    page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
    await page.goto(`${server.url}#/experiments`);
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  it('lists every run, newest first', async () => {
    await page.getByText('40 runs').waitFor();
    const firstRow = page.getByRole('grid', { name: 'Runs' }).getByRole('row').nth(1);
    assert.match((await firstRow.textContent()) ?? '', /#40/);
  });

  it('sorts by a column when its header is clicked', async () => {
    await page.getByRole('button', { name: /^\.tflite/ }).click();
    const runCell = page.getByRole('grid', { name: 'Runs' }).getByRole('row').nth(1).getByRole('gridcell').nth(1);
    const smallest = [...runs].sort((a, b) => a.tfliteBytes - b.tfliteBytes)[0]!;
    assert.equal((await runCell.textContent())?.trim(), `#${smallest.id}`);
  });

  it('filters by tag and by minimum int8 accuracy', async () => {
    await page.getByLabel('Tag').fill('baseline');
    const tagged = runs.filter((r) => (r.id - 1) % 3 === 0).length;
    await page.getByText(`${tagged} runs`).waitFor();
    await page.getByLabel('Tag').fill('');
    await page.getByLabel('Int8 accuracy ≥ (%)').fill('89');
    const above = runs.filter((r) => r.int8Accuracy >= 0.89).length;
    await page.getByText(`${above} run${above === 1 ? '' : 's'}`, { exact: true }).waitFor();
    await page.getByLabel('Int8 accuracy ≥ (%)').fill('');
    await page.getByText('40 runs').waitFor();
  });

  it('draws the Pareto front of accuracy against size, each point a run', async () => {
    await page.getByTestId('pareto-chart').waitFor();
    const front = page.getByRole('list', { name: 'Runs on the Pareto front' }).getByRole('listitem');
    assert.ok((await front.count()) >= 2);
  });

  it('compares two selected runs side by side with the differences', async () => {
    await page.getByRole('button', { name: /^\.tflite/ }).click();
    await page.getByLabel('Select 1', { exact: true }).check();
    await page.getByLabel('Select 3', { exact: true }).check();
    await page.getByRole('button', { name: 'Compare selected (2)' }).click();
    await page.getByTestId('compare-metrics').waitFor();
    const recipe = await page.getByTestId('compare-recipe').textContent();
    assert.match(recipe ?? '', /\$\.name/);
    assert.match(recipe ?? '', /prune50-cluster16-int8/);
  });

  it('opens a run with its per-layer report, and keeps a tag added there', async () => {
    await page.goto(`${server.url}#/experiments/run/2`);
    await page.getByTestId('layer-report').waitFor();
    assert.equal(await page.getByTestId('layer-report').getByRole('row').count(), 7);
    await page.getByLabel('New tag').fill('keep-me');
    await page.getByRole('button', { name: 'Add', exact: true }).click();
    await page.getByRole('button', { name: 'Remove tag keep-me' }).waitFor();
    await page.reload();
    await page.getByRole('button', { name: 'Remove tag keep-me' }).waitFor();
  });
});
