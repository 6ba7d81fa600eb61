import { readFile } from 'node:fs/promises';
import { DatasetError } from './errors';
import type { DatasetSource } from './types';

/** Splits one CSV line, honouring double-quoted fields (RFC 4180, no embedded newlines). */
function splitLine(line: string): string[] {
  const out: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i]!;
    if (quoted) {
      if (c === '"' && line[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      out.push(field);
      field = '';
    } else field += c;
  }
  out.push(field);
  return out.map((f) => f.trim());
}

export interface CsvOptions {
  /** Column name (from a header row) or zero-based index; default `label`, else the last column. */
  label?: string;
}

/** One sample per row: every column except the label column is a feature. */
export async function openCsv(file: string, options: CsvOptions = {}): Promise<DatasetSource> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new DatasetError(`cannot read ${file}: ${(e as Error).message}`, 'check the path', e);
  }
  const lines = text.split(/\r?\n/).filter((l) => l.trim() !== '');
  if (lines.length === 0)
    throw new DatasetError(`${file} is empty`, 'a CSV dataset needs one row per sample');
  let rows = lines.map(splitLine);
  const hasHeader = rows[0]!.some((f) => f !== '' && !Number.isFinite(Number(f)));
  const header = hasHeader ? rows[0]! : rows[0]!.map((_, i) => String(i));
  if (hasHeader) rows = rows.slice(1);
  const width = header.length;

  let labelCol: number;
  if (options.label !== undefined) {
    labelCol = header.indexOf(options.label);
    if (labelCol === -1 && /^\d+$/.test(options.label)) labelCol = Number(options.label);
    if (labelCol < 0 || labelCol >= width) {
      throw new DatasetError(
        `${file} has no column "${options.label}" (columns: ${header.join(', ')})`,
        'pick the label column with csv:FILE#label=NAME or #label=INDEX',
      );
    }
  } else {
    const named = header.findIndex((h) => h.toLowerCase() === 'label');
    labelCol = named === -1 ? width - 1 : named;
  }

  const features = width - 1;
  const x = new Float32Array(rows.length * features);
  const labels = new Float64Array(rows.length);
  rows.forEach((row, r) => {
    const line = r + (hasHeader ? 2 : 1);
    if (row.length !== width)
      throw new DatasetError(
        `${file} line ${line}: ${row.length} columns, expected ${width}`,
        'every row needs the same number of columns',
      );
    let k = 0;
    for (let c = 0; c < width; c++) {
      const v = Number(row[c]);
      if (row[c] === '' || !Number.isFinite(v)) {
        throw new DatasetError(
          `${file} line ${line}, column ${header[c]}: "${row[c]}" is not a number`,
          'CSV datasets must be numeric',
        );
      }
      if (c === labelCol) labels[r] = v;
      else x[r * features + k++] = v;
    }
  });
  const classLabels = labels.every((v) => Number.isInteger(v) && v >= 0);
  return {
    files: [file],
    sampleShape: [features],
    count: rows.length,
    labelKind: classLabels ? 'class' : 'target',
    labelShape: classLabels ? [] : [1],
    notices: [],
    async read(start, count) {
      const y = labels.subarray(start, start + count);
      return {
        x: x.slice(start * features, (start + count) * features),
        y: classLabels ? Int32Array.from(y) : Float32Array.from(y),
      };
    },
  };
}
