/**
 * A child process that lists runs in a loop while another process writes, checking that each
 * snapshot is consistent. Prints one JSON line with what it saw and exits.
 *
 *   node --import tsx reader-process.ts DATA_DIR SECONDS LAYERS_PER_RUN
 */
import { openStore } from '../../../core/store/index';

const [dataDir, secondsArg, layersArg] = process.argv.slice(2);
const deadline = Date.now() + Number(secondsArg) * 1000;
const layersPerRun = Number(layersArg);

const report = { reads: 0, maxTotal: 0, errors: [] as string[], inconsistencies: [] as string[] };
const store = openStore(dataDir!);
let lastTotal = 0;
while (Date.now() < deadline) {
  try {
    const page = store.listRuns({ limit: 50, sort: { by: 'id', direction: 'desc' } });
    store.listRuns({
      limit: 50,
      filter: { status: 'succeeded', ranges: { int8Accuracy: { min: 0.85 } } },
    });
    if (page.total < lastTotal)
      report.inconsistencies.push(`total went down from ${lastTotal} to ${page.total}`);
    lastTotal = page.total;
    if (page.runs.length !== Math.min(50, page.total))
      report.inconsistencies.push(`page has ${page.runs.length} rows for total ${page.total}`);
    const newest = page.runs.find((r) => r.status === 'succeeded');
    if (newest) {
      const detail = store.getRun(newest.id);
      if (detail.layers.length !== layersPerRun)
        report.inconsistencies.push(`run ${newest.id} shows ${detail.layers.length} layers`);
      if (detail.artifacts.length === 0)
        report.inconsistencies.push(`run ${newest.id} shows no artifacts`);
      for (const a of detail.artifacts)
        if (!store.files.has(a.sha256))
          report.inconsistencies.push(`run ${newest.id} names missing file ${a.sha256}`);
      if (detail.int8Accuracy === null)
        report.inconsistencies.push(`succeeded run ${newest.id} has no int8 accuracy`);
    }
    report.reads++;
    report.maxTotal = Math.max(report.maxTotal, page.total);
  } catch (error) {
    report.errors.push(`${(error as { code?: string }).code ?? ''} ${(error as Error).message}`);
  }
}
store.close();
process.stdout.write(JSON.stringify(report) + '\n');
