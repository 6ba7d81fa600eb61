import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import h5wasm from 'h5wasm/node';

/**
 * In-process h5wasm, for writing files Quantbench creates itself. Reading files from users goes
 * through h5-snapshot.ts, which isolates libhdf5 in a worker. h5wasm's Node build opens paths
 * on the real file system, so bytes held in memory go through a private temporary file.
 */
export type H5File = InstanceType<typeof h5wasm.File>;
export type H5Group = InstanceType<typeof h5wasm.Group>;
export type H5Dataset = InstanceType<typeof h5wasm.Dataset>;

let throwing = false;

export async function h5Ready(): Promise<typeof h5wasm> {
  const module = await h5wasm.ready;
  if (!throwing) {
    // By default the HDF5 library prints its error stack to stderr and h5wasm carries on with an
    // invalid handle; make failures throw, carrying that stack, instead.
    module.activate_throwing_error_handler();
    throwing = true;
  }
  return h5wasm;
}

export function isGroup(entity: unknown): entity is H5Group {
  return entity instanceof h5wasm.Group;
}

export function isDataset(entity: unknown): entity is H5Dataset {
  return entity instanceof h5wasm.Dataset;
}

/** Opens `file` read-only, runs `use`, and always closes it. */
export async function withH5File<T>(file: string, use: (f: H5File) => T): Promise<T> {
  const h5 = await h5Ready();
  const f = new h5.File(file, 'r');
  try {
    return use(f);
  } finally {
    f.close();
  }
}

/** Same for bytes already in memory. */
export async function withH5Bytes<T>(bytes: Uint8Array, use: (f: H5File) => T): Promise<T> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'quantbench-h5-'));
  const file = path.join(dir, 'weights.h5');
  try {
    writeFileSync(file, bytes);
    return await withH5File(file, use);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
