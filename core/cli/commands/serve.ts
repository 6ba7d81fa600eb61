import { numberOption } from '../args';
import { createService } from '../../service';
import { startServer } from '../../serve/server';
import type { CliCommand } from '../command';

export const serveCommand: CliCommand = {
  name: 'serve',
  usage: `Usage: quantbench serve [--port N] [--sample] [--data-dir DIR] [--json]

Serves the Quantbench UI and its API on 127.0.0.1 only, for machines without a display.
Open the printed URL (it carries a per-start token; requests without it are refused).
With --sample, imports the built-in sample model and starts a virtual board first.
With --json, prints {"url", "port"} once listening. Stops on Ctrl-C.`,
  valueOptions: ['port'],
  flags: ['sample'],
  async run(ctx) {
    const service = createService({ dataDir: ctx.dataDir, face: 'serve' });
    if (ctx.options.sample) {
      const sample = await service.prepareSample();
      ctx.stderr.write(`Sample model imported (model #${sample.modelId}); virtual board on ${sample.port}\n`);
    }
    const server = await startServer({ service, port: numberOption(ctx.options, 'port') ?? 0 });
    ctx.stdout.write(ctx.json ? JSON.stringify({ url: server.url, port: server.port }) + '\n' : `Quantbench is serving at ${server.url}\n`);
    await new Promise<void>((resolve) => {
      if (ctx.signal.aborted) return resolve();
      ctx.signal.addEventListener('abort', () => resolve(), { once: true });
      process.once('SIGTERM', () => resolve());
    });
    await server.close();
    await service.close();
    return 0;
  },
};
