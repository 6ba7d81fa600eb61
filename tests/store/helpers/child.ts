import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** Starts a helper script of this folder under tsx, with stdout split into lines. */
export function startHelper(
  script: string,
  args: string[],
): {
  child: ChildProcess;
  lines: string[];
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
} {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(here, script), ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: string[] = [];
  let partial = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    partial += chunk;
    const parts = partial.split('\n');
    partial = parts.pop()!;
    lines.push(...parts);
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    stderr: string;
  }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal, stderr })));
  return { child, lines, exited };
}

export async function waitForLine(
  lines: string[],
  predicate: (line: string) => boolean,
  timeoutMs = 20_000,
): Promise<void> {
  const start = Date.now();
  while (!lines.some(predicate)) {
    if (Date.now() - start > timeoutMs)
      throw new Error(
        `no matching line within ${timeoutMs} ms; got ${lines.slice(-5).join(' | ')}`,
      );
    await new Promise((r) => setTimeout(r, 5));
  }
}
