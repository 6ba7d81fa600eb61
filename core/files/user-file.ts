import { closeSync, constants, fstatSync, openSync, readFileSync, realpathSync } from 'node:fs';
import path from 'node:path';
import { QuantbenchError } from '../errors';

/**
 * The one way Quantbench opens a file a user (or a file the user gave) names: only regular
 * files, never a FIFO, device or directory (a FIFO would block the process forever, a device
 * would stream without end), optionally confined to a folder, and size-capped before reading.
 */
export class UserFileError extends QuantbenchError {
  constructor(code: string, file: string, problem: string, hint: string, cause?: unknown) {
    super(code, `${file}: ${problem}`, { hint, cause });
  }
}

/** Node cannot hold a single Buffer larger than this; a larger file needs a streamed reader. */
export const MAX_WHOLE_FILE_BYTES = 2 ** 31 - 1;

export interface OpenOptions {
  /** The file must resolve (symbolic links followed) to a path inside this folder. */
  within?: string;
  /** Refuse files larger than this many bytes. */
  maxBytes?: number;
  /** What the file is, for messages: "weight shard", "dataset". */
  what?: string;
}

function kindOf(stat: ReturnType<typeof fstatSync>): string {
  if (stat.isDirectory()) return 'a directory';
  if (stat.isFIFO()) return 'a named pipe (FIFO)';
  if (stat.isCharacterDevice() || stat.isBlockDevice()) return 'a device';
  if (stat.isSocket()) return 'a socket';
  return 'not a regular file';
}

/** Checks that `file` resolves inside `folder`; returns the resolved path. */
export function confine(file: string, folder: string, what = 'file'): string {
  let real: string;
  let realFolder: string;
  try {
    realFolder = realpathSync(folder);
    real = realpathSync(file);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UserFileError(
      code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'FILE_UNREADABLE',
      file,
      code === 'ENOENT' ? `no such ${what}` : `cannot be read (${code ?? 'error'})`,
      'Check the path and that the file is readable',
      error,
    );
  }
  if (real !== realFolder && !real.startsWith(realFolder + path.sep)) {
    throw new UserFileError(
      'FILE_OUTSIDE_FOLDER',
      file,
      `the ${what} lies outside ${folder}`,
      `Keep the ${what} inside ${folder}; references that leave it are refused`,
    );
  }
  return real;
}

/**
 * Opens a regular file for reading and returns its descriptor and size. O_NONBLOCK makes the
 * open itself return at once on a FIFO, so the check below can refuse it.
 */
export function openUserFile(file: string, options: OpenOptions = {}): { fd: number; size: number } {
  const what = options.what ?? 'file';
  const target = options.within ? confine(file, options.within, what) : file;
  let fd: number;
  try {
    fd = openSync(target, constants.O_RDONLY | (constants.O_NONBLOCK ?? 0));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UserFileError(
      code === 'ENOENT' ? 'FILE_NOT_FOUND' : 'FILE_UNREADABLE',
      file,
      code === 'ENOENT' ? `no such ${what}` : `cannot be opened (${code ?? 'error'})`,
      'Check the path and that the file is readable',
      error,
    );
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) {
      throw new UserFileError('FILE_NOT_REGULAR', file, `is ${kindOf(stat)}, not a ${what} file`, `Give the path of a regular ${what} file`);
    }
    const max = Math.min(options.maxBytes ?? MAX_WHOLE_FILE_BYTES, MAX_WHOLE_FILE_BYTES);
    if (stat.size > max) {
      throw new UserFileError('FILE_TOO_LARGE', file, `is ${stat.size} bytes, more than the ${max} bytes a ${what} may have`, 'Check that this is the intended file');
    }
    return { fd, size: stat.size };
  } catch (error) {
    closeSync(fd);
    throw error;
  }
}

/** Reads a whole regular file after the checks of openUserFile. */
export function readUserFile(file: string, options: OpenOptions = {}): Buffer {
  const { fd } = openUserFile(file, options);
  try {
    return readFileSync(fd);
  } catch (error) {
    throw new UserFileError('FILE_UNREADABLE', file, `cannot be read (${(error as NodeJS.ErrnoException).code ?? 'error'})`, 'Check that the file is readable', error);
  } finally {
    closeSync(fd);
  }
}

/** Only checks: for readers that hand the path to a library that opens it itself. */
export function assertUserFile(file: string, options: OpenOptions = {}): number {
  const { fd, size } = openUserFile(file, options);
  closeSync(fd);
  return size;
}
