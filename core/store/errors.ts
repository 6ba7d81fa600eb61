import { QuantbenchError } from '../errors';

/** Every error the store shows a user. Codes start with `STORE_`. */
export class StoreError extends QuantbenchError {}

export function diskFull(dataDir: string, cause: unknown): StoreError {
  return new StoreError(
    'STORE_DISK_FULL',
    `No space left on the device holding the data directory ${dataDir}; nothing was recorded by this write`,
    {
      hint: `Free space on that disk (or delete old runs with "quantbench runs rm") and retry; earlier runs are intact`,
      cause,
    },
  );
}

export function runNotFound(ref: string | number): StoreError {
  return new StoreError(
    'STORE_RUN_NOT_FOUND',
    `No run ${JSON.stringify(String(ref))} in the experiment store`,
    {
      hint: 'List runs with "quantbench runs list" and use the number in the ID column or a uuid prefix',
    },
  );
}

export function invalidInput(what: string, hint: string): StoreError {
  return new StoreError('STORE_INVALID_INPUT', what, { hint });
}

/**
 * SQLite and the filesystem report a full disk in their own words; users should see one
 * error naming the data directory. Anything else passes through untouched.
 */
export function translateWriteError(error: unknown, dataDir: string): unknown {
  if (error instanceof QuantbenchError) return error;
  const code = (error as { code?: unknown } | null)?.code;
  if (code === 'SQLITE_FULL' || code === 'ENOSPC' || code === 'EDQUOT') {
    return diskFull(dataDir, error);
  }
  return error;
}
