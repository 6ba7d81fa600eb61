import { spawn, type ChildProcess } from 'node:child_process';
import { cliPath, repoRoot } from './cli';

export interface ServeProcess {
  url: string;
  port: number;
  token: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `quantbench serve --json` as its own process and waits for its URL; call stop() in `after`. */
export async function startServeProcess(dataDir: string, extraEnv: NodeJS.ProcessEnv = {}): Promise<ServeProcess> {
  const child = spawn(process.execPath, [cliPath, 'serve', '--json', '--data-dir', dataDir], {
    cwd: repoRoot,
    env: { ...process.env, ...extraEnv },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const line = await new Promise<string>((resolve, reject) => {
    let buffer = '';
    const timer = setTimeout(() => reject(new Error(`serve did not print its URL within 60 s\n${stderr}`)), 60_000);
    child.stdout!.on('data', (d) => {
      buffer += d;
      const nl = buffer.indexOf('\n');
      if (nl !== -1) {
        clearTimeout(timer);
        resolve(buffer.slice(0, nl));
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited with ${code} before listening\n${stderr}`));
    });
  });
  const { url, port } = JSON.parse(line) as { url: string; port: number };
  const token = new URL(url).searchParams.get('token')!;
  const stop = async () => {
    if (child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    await exited;
  };
  // A child left running would keep the test process alive; kill it on exit whatever happened.
  process.once('exit', () => child.kill('SIGKILL'));
  return { url, port, token, child, stop };
}
