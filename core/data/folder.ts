import { readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { DatasetError } from './errors';
import { decodeImage, IMAGE_EXTENSIONS, toTensorPixels } from './image-decode';
import type { DatasetSource } from './types';

export interface FolderOptions {
  /** [height, width]; default: the first image's size, which every image must then share. */
  resize?: [number, number];
  /** Default: 1 when the first image is grey, else 3. */
  channels?: 1 | 3;
}

/** One sub-folder per class, classes in sorted name order (as Keras' image_dataset_from_directory). */
export async function openFolder(dir: string, options: FolderOptions = {}): Promise<DatasetSource> {
  let entries: string[];
  try {
    if (!(await stat(dir)).isDirectory()) throw new Error('not a directory');
    entries = (await readdir(dir)).sort();
  } catch (e) {
    throw new DatasetError(
      `cannot read image folder ${dir}: ${(e as Error).message}`,
      'pass a folder with one sub-folder of images per class',
      e,
    );
  }
  const classNames: string[] = [];
  const files: { file: string; label: number }[] = [];
  for (const name of entries) {
    const sub = path.join(dir, name);
    if (!(await stat(sub)).isDirectory()) continue;
    const images = (await readdir(sub))
      .filter((f) => IMAGE_EXTENSIONS.includes(path.extname(f).toLowerCase()))
      .sort();
    classNames.push(name);
    for (const f of images) files.push({ file: path.join(sub, f), label: classNames.length - 1 });
  }
  if (files.length === 0) {
    throw new DatasetError(
      `${dir} has no PNG or JPEG images in class sub-folders`,
      'lay it out as DIR/<class>/<image>.png',
    );
  }
  const first = await decodeImage(files[0]!.file);
  const [height, width] = options.resize ?? [first.height, first.width];
  const channels = options.channels ?? (first.grayscale ? 1 : 3);
  const per = height * width * channels;
  return {
    files: [dir],
    sampleShape: [height, width, channels],
    count: files.length,
    labelKind: 'class',
    labelShape: [],
    classNames,
    notices: [],
    async read(start, count) {
      const x = new Float32Array(count * per);
      const y = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const { file, label } = files[start + i]!;
        const img = await decodeImage(file);
        if (!options.resize && (img.height !== height || img.width !== width)) {
          throw new DatasetError(
            `${file} is ${img.width}x${img.height} but ${files[0]!.file} is ${width}x${height}`,
            'images in a folder dataset must share one size, or give a resize (the model input size is used when evaluating)',
          );
        }
        toTensorPixels(img, height, width, channels, x, i * per);
        y[i] = label;
      }
      return { x, y };
    },
  };
}
