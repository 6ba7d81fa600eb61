import { numberOption } from '../args';
import { createService } from '../../service';
import { startServer } from '../../serve/server';
import type { CliCommand } from '../command';

export const serveCommand: CliCommand = {
  name: 'serve',
  summary: 'the app in a browser: UI and API on 127.0.0.1 behind a token',
  usage: `Usage: quantbench serve [--port N] [--data-dir DIR] [--json]

Serves the Quantbench UI and its API on 127.0.0.1 only, for machines without a display.
Open the printed URL (it carries a per-start token; requests without it are refused).
With --json, prints {"url", "port"} once listening. Stops on Ctrl-C.`,
  valueOptions: ['port'],
  async run(ctx) {
    const service = createService({ dataDir: ctx.dataDir, face: 'serve' });
    const server = await startServer({ service, port: numberOption(ctx.options, 'port') ?? 0 });
    ctx.stdout.write(ctx.json ? JSON.stringify({ url: server.url, port: server.port }) + '\n' : `Quantbench is serving at ${server.url}\n`);
    await new Promise<void>((resolve) => {
      if (ctx.signal.aborted) return resolve();
      ctx.signal.addEventListener('abort', () => resolve(), { once: true });
      process.once('SIGTERM', () => resolve());
    });
    await server.close();
    return 0;
  },
};
