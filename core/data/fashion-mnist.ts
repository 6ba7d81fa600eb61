import { existsSync } from 'node:fs';
import path from 'node:path';
import { locateResources } from '../app/resources';
import { DatasetError } from './errors';
import { openIdx } from './idx';
import type { DatasetSource } from './types';

export type FashionMnistSplit = 'train' | 'test';

/** Where Debian's dataset-fashion-mnist package puts the IDX files. */
export const DEBIAN_FASHION_MNIST_DIR = '/usr/share/datasets/fashion-mnist';

/** 1,000 test and 2,000 train images shipped with Quantbench for machines without the package. */
export const BUNDLED_FASHION_MNIST_DIR = path.join(locateResources().samplesDir, 'fashion-mnist');

export const FASHION_MNIST_CLASSES = [
  'T-shirt/top',
  'Trouser',
  'Pullover',
  'Dress',
  'Coat',
  'Sandal',
  'Shirt',
  'Sneaker',
  'Bag',
  'Ankle boot',
];

export interface FashionMnistOptions {
  /** `--fashion-mnist-dir`; wins over everything else. */
  dir?: string;
  /** Defaults to process.env; tests pass their own. */
  env?: NodeJS.ProcessEnv;
  /** Overridable so tests can exercise the fallback order on a machine that has the package. */
  debianDir?: string;
  bundledDir?: string;
}

export type FashionMnistOrigin = 'option' | 'environment' | 'debian' | 'bundled';

export interface FashionMnistFiles {
  images: string;
  labels: string;
  origin: FashionMnistOrigin;
  dir: string;
}

function filesIn(dir: string, split: FashionMnistSplit): { images: string; labels: string } | null {
  const prefix = split === 'test' ? 't10k' : 'train';
  for (const ext of ['.gz', '']) {
    const images = path.join(dir, `${prefix}-images-idx3-ubyte${ext}`);
    const labels = path.join(dir, `${prefix}-labels-idx1-ubyte${ext}`);
    if (existsSync(images) && existsSync(labels)) return { images, labels };
  }
  return null;
}

/**
 * Finds the Fashion-MNIST split: the explicit dir, then QUANTBENCH_FASHION_MNIST_DIR, then
 * Debian's package, then the bundled subset. A dir the user named that lacks the files is an
 * error rather than a silent fall-through, so a typo never evaluates on the wrong data.
 */
export function resolveFashionMnist(
  split: FashionMnistSplit,
  options: FashionMnistOptions = {},
): FashionMnistFiles {
  const env = options.env ?? process.env;
  const explicit: [string | undefined, FashionMnistOrigin, string][] = [
    [options.dir, 'option', '--fashion-mnist-dir'],
    [env.QUANTBENCH_FASHION_MNIST_DIR || undefined, 'environment', 'QUANTBENCH_FASHION_MNIST_DIR'],
  ];
  for (const [dir, origin, name] of explicit) {
    if (dir === undefined) continue;
    const found = filesIn(dir, split);
    if (!found) {
      throw new DatasetError(
        `${name} points at ${dir}, which has no Fashion-MNIST ${split} files (${split === 'test' ? 't10k' : 'train'}-images-idx3-ubyte[.gz] and -labels-idx1-ubyte[.gz])`,
        `fix ${name}, or unset it to use ${DEBIAN_FASHION_MNIST_DIR} (Debian package dataset-fashion-mnist)`,
      );
    }
    return { ...found, origin, dir };
  }
  const defaults: [string, FashionMnistOrigin][] = [
    [options.debianDir ?? DEBIAN_FASHION_MNIST_DIR, 'debian'],
    [options.bundledDir ?? BUNDLED_FASHION_MNIST_DIR, 'bundled'],
  ];
  for (const [dir, origin] of defaults) {
    const found = filesIn(dir, split);
    if (found) return { ...found, origin, dir };
  }
  throw new DatasetError(
    `Fashion-MNIST ${split} files not found in ${defaults.map(([d]) => d).join(' or ')}`,
    'install the Debian package dataset-fashion-mnist or pass --fashion-mnist-dir DIR',
  );
}

export async function openFashionMnist(
  split: FashionMnistSplit,
  options: FashionMnistOptions = {},
): Promise<DatasetSource> {
  const files = resolveFashionMnist(split, options);
  const source = await openIdx(files.images, files.labels);
  source.classNames = FASHION_MNIST_CLASSES;
  if (files.origin === 'bundled') {
    source.notices.push(
      `using the ${source.count}-image Fashion-MNIST ${split} subset bundled with Quantbench; install dataset-fashion-mnist or pass --fashion-mnist-dir for the full set`,
    );
  }
  return source;
}
