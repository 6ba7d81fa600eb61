/** Class indices (one int per sample) or regression/reconstruction targets (floats). */
export type Labels = Int32Array | Float32Array;

export type LabelKind = 'class' | 'target';

/**
 * What a reader opens: a random-access view of samples in file order. Readers decode only
 * the range asked for where the format allows it, so large sets stream batch by batch.
 */
export interface DatasetSource {
  /** The files the samples come from, for error messages and run records. */
  files: string[];
  sampleShape: number[];
  count: number;
  labelKind: LabelKind;
  /** Per-sample label shape: [] for class indices. */
  labelShape: number[];
  classNames?: string[];
  /** Things the user should be told, such as falling back to a bundled subset. */
  notices: string[];
  read(start: number, count: number): Promise<{ x: Float32Array; y: Labels }>;
}

export interface Batch {
  /** Row-major samples, `size` of them. */
  x: Float32Array;
  y: Labels;
  size: number;
  /** Full batch shape: [size, ...sample shape after reshape]. */
  shape: number[];
  /** Index of the first sample of this batch within the (sliced) dataset. */
  offset: number;
}
