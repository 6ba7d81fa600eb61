/**
 * Time from opening serve mode to an interactive Experiments page with 10,000 runs stored,
 * against opening the About page of the same server in the same run (the app shell alone).
 * Prints one JSON document.
 *
 *   node --import tsx bench/ui-experiments.ts [RUNS]
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { launchChromium } from '../tests/helpers/browser';
import { seedRuns } from '../tests/helpers/seed-runs';
import { startServeProcess } from '../tests/helpers/serve';

const RUNS = Number(process.argv[2] ?? 10_000);
const REPEATS = 5;

const dataDir = mkdtempSync(path.join(os.tmpdir(), 'quantbench-bench-ui-'));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
try {
  const t0 = performance.now();
  seedRuns(dataDir, RUNS, 20);
  const seedSeconds = (performance.now() - t0) / 1000;

  const serveStart = performance.now();
  const server = await startServeProcess(dataDir);
  const serveReadyMs = performance.now() - serveStart;
  const browser = await launchChromium();
  try {
    const experiments: number[] = [];
    const about: number[] = [];
    const scroll: number[] = [];
    for (let i = 0; i < REPEATS; i++) {
      const page = await browser.newPage({ viewport: { width: 1280, height: 800 } });
      let start = performance.now();
      await page.goto(`${server.url}#/about`);
      await page.getByTestId('version').waitFor();
      about.push(performance.now() - start);

      start = performance.now();
      await page.goto(`${server.url}#/experiments`);
      await page.getByText(`${RUNS} runs`).waitFor({ timeout: 120_000 });
      await page.getByRole('grid', { name: 'Runs' }).getByRole('row').nth(1).waitFor();
      experiments.push(performance.now() - start);

      // Interactive means it scrolls: jump to the end of the table and see the last run drawn.
      start = performance.now();
      const body = page.getByRole('rowgroup', { name: 'Runs rows' });
      await body.focus();
      await page.keyboard.press('End');
      await page.getByRole('gridcell', { name: '#1', exact: true }).waitFor();
      scroll.push(performance.now() - start);
      await page.close();
    }
    const experimentsMs = median(experiments);
    const aboutMs = median(about);
    console.log(
      JSON.stringify(
        {
          runs: RUNS,
          layersPerRun: 20,
          seedSeconds: Math.round(seedSeconds * 10) / 10,
          serveReadyMs: Math.round(serveReadyMs),
          experimentsInteractiveMs: { median: Math.round(experimentsMs), samples: experiments.map(Math.round) },
          aboutPageMs: { median: Math.round(aboutMs), samples: about.map(Math.round) },
          ratioExperimentsToAbout: Math.round((experimentsMs / aboutMs) * 100) / 100,
          scrollToLastRunMs: { median: Math.round(median(scroll)), samples: scroll.map(Math.round) },
          machine: { cpus: os.cpus().length, loadavg: os.loadavg().map((l) => Math.round(l * 10) / 10) },
        },
        null,
        2,
      ),
    );
  } finally {
    await browser.close();
    await server.stop();
  }
} finally {
  rmSync(dataDir, { recursive: true, force: true });
}
