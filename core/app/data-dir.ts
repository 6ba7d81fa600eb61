import os from 'node:os';
import path from 'node:path';

export interface DataDirSources {
  /** `--data-dir` on the command line. */
  flag?: string;
  env?: NodeJS.ProcessEnv;
  platform?: NodeJS.Platform;
  home?: string;
}

/**
 * Where experiments, artifacts and settings live for the CLI and serve mode. The Electron
 * face passes its own userData directory instead. Order: flag, QUANTBENCH_DATA_DIR, the
 * platform's per-user data directory.
 */
export function resolveDataDir(sources: DataDirSources = {}): string {
  const env = sources.env ?? process.env;
  if (sources.flag) return path.resolve(sources.flag);
  if (env.QUANTBENCH_DATA_DIR) return path.resolve(env.QUANTBENCH_DATA_DIR);
  const platform = sources.platform ?? process.platform;
  const home = sources.home ?? os.homedir();
  if (platform === 'win32') {
    return path.join(env.APPDATA ?? path.join(home, 'AppData', 'Roaming'), 'Quantbench');
  }
  if (platform === 'darwin') {
    return path.join(home, 'Library', 'Application Support', 'Quantbench');
  }
  const xdg = env.XDG_DATA_HOME && path.isAbsolute(env.XDG_DATA_HOME) ? env.XDG_DATA_HOME : null;
  return path.join(xdg ?? path.join(home, '.local', 'share'), 'quantbench');
}
