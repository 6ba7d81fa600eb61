import path from 'node:path';
import jpeg from 'jpeg-js';
import { PNG } from 'pngjs';
import { DatasetError, readDatasetFile } from './errors';

export interface DecodedImage {
  width: number;
  height: number;
  /** RGBA, 4 bytes per pixel. */
  rgba: Uint8Array;
  grayscale: boolean;
}

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'];

/** Decodes by magic bytes, not by extension: renamed files are common in scraped sets. */
export async function decodeImage(file: string): Promise<DecodedImage> {
  const bytes = readDatasetFile(file, 'image');
  try {
    if (bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e && bytes[3] === 0x47) {
      const png = PNG.sync.read(bytes);
      // pngjs expands every colour type to RGBA; colorType 0 and 4 are grey (with alpha).
      const colorType = (png as unknown as { colorType?: number }).colorType;
      return {
        width: png.width,
        height: png.height,
        rgba: png.data,
        grayscale: colorType === 0 || colorType === 4,
      };
    }
    if (bytes[0] === 0xff && bytes[1] === 0xd8) {
      const img = jpeg.decode(bytes, {
        useTArray: true,
        formatAsRGBA: true,
        maxMemoryUsageInMB: 256,
      });
      return { width: img.width, height: img.height, rgba: img.data, grayscale: isGrey(img.data) };
    }
  } catch (e) {
    throw new DatasetError(
      `${file}: cannot decode image: ${(e as Error).message}`,
      'the file is damaged; re-save it as PNG or JPEG',
      e,
    );
  }
  throw new DatasetError(
    `${file} is neither PNG nor JPEG (${path.extname(file) || 'no extension'})`,
    'convert it to PNG or JPEG, or remove it from the folder',
  );
}

/** jpeg-js expands single-component JPEGs to RGB, so grey is detected by content. */
function isGrey(rgba: Uint8Array): boolean {
  for (let i = 0; i < rgba.length; i += 4)
    if (rgba[i] !== rgba[i + 1] || rgba[i] !== rgba[i + 2]) return false;
  return true;
}

/**
 * Bilinear resize with half-pixel centres (what tf.image.resize and Keras'
 * image_dataset_from_directory use), into `channels` planes interleaved: 1 = luminance,
 * 3 = RGB. Values stay 0..255 so the user's --input-scale applies as in training.
 */
export function toTensorPixels(
  img: DecodedImage,
  height: number,
  width: number,
  channels: 1 | 3,
  out: Float32Array,
  offset: number,
): void {
  const sy = img.height / height;
  const sx = img.width / width;
  const { rgba } = img;
  const px = (y: number, x: number, c: number) => rgba[(y * img.width + x) * 4 + c]!;
  for (let y = 0; y < height; y++) {
    const fy = Math.max(0, (y + 0.5) * sy - 0.5);
    const y0 = Math.min(Math.floor(fy), img.height - 1);
    const y1 = Math.min(y0 + 1, img.height - 1);
    const wy = fy - y0;
    for (let x = 0; x < width; x++) {
      const fx = Math.max(0, (x + 0.5) * sx - 0.5);
      const x0 = Math.min(Math.floor(fx), img.width - 1);
      const x1 = Math.min(x0 + 1, img.width - 1);
      const wx = fx - x0;
      const rgb = [0, 1, 2].map(
        (c) =>
          (px(y0, x0, c) * (1 - wx) + px(y0, x1, c) * wx) * (1 - wy) +
          (px(y1, x0, c) * (1 - wx) + px(y1, x1, c) * wx) * wy,
      );
      const o = offset + (y * width + x) * channels;
      if (channels === 1) out[o] = 0.299 * rgb[0]! + 0.587 * rgb[1]! + 0.114 * rgb[2]!;
      else out.set(rgb, o);
    }
  }
}
