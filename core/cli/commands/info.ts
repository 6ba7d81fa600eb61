import { createService } from '../../service';
import type { CliCommand } from '../command';
import { emit } from '../output';

export const infoCommand: CliCommand = {
  name: 'info',
  usage: `Usage: quantbench info [--json] [--data-dir DIR]

Prints the version, the data directory in use, the tfjs backends this installation can
use and the platform.`,
  async run(ctx) {
    const info = await createService({ dataDir: ctx.dataDir, face: 'cli' }).call('app.info', {});
    emit(ctx, info, () =>
      [
        `Quantbench ${info.version}`,
        `data directory  ${info.dataDir} (experiment schema v${info.schemaVersion})`,
        `platform        ${info.platform} ${info.arch}, Node ${info.node}`,
        `backends        ${info.backends.map((b) => `${b.name}${b.available ? '' : ' (unavailable)'}`).join(', ')}`,
      ].join('\n'),
    );
    return 0;
  },
};
