import { readZip, ZipError } from '../files/zip';
import { DatasetError, readDatasetFile } from './errors';
import { pairArrays, parseNpy } from './npy';
import type { DatasetSource } from './types';

/** Names numpy.savez users give the two arrays, in order of preference. */
const X_NAMES = ['x', 'X', 'x_test', 'x_train', 'images', 'inputs', 'data', 'arr_0'];
const Y_NAMES = ['y', 'Y', 'y_test', 'y_train', 'labels', 'targets', 'arr_1'];

/** An .npz is a zip of .npy members (numpy.savez / savez_compressed). */
export async function openNpz(file: string): Promise<DatasetSource> {
  let members: Record<string, Uint8Array>;
  try {
    members = Object.fromEntries(readZip(readDatasetFile(file, '.npz archive'), file));
  } catch (e) {
    if (!(e instanceof ZipError)) throw e;
    const unreadable = e.problem.replace(/^is not a readable zip archive: /, '');
    const message = unreadable === e.problem ? `${file}: ${e.problem}` : `${file} is not a readable .npz (zip) file: ${unreadable}`;
    throw new DatasetError(message, 'save it with numpy.savez or numpy.savez_compressed', e);
  }
  const names = Object.keys(members)
    .filter((n) => n.endsWith('.npy'))
    .map((n) => n.slice(0, -4));
  const pick = (candidates: string[]) => candidates.find((c) => names.includes(c));
  const xName = pick(X_NAMES);
  const yName = pick(Y_NAMES);
  if (!xName || !yName) {
    throw new DatasetError(
      `${file} holds arrays [${names.join(', ')}]; cannot tell which are x and y`,
      'save them as numpy.savez(FILE, x=inputs, y=labels)',
    );
  }
  const x = parseNpy(members[`${xName}.npy`]!, `${file}:${xName}`);
  const y = parseNpy(members[`${yName}.npy`]!, `${file}:${yName}`);
  return pairArrays(x, y, [file]);
}
