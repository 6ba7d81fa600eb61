import { closeSync, createReadStream, readSync } from 'node:fs';
import { parse, CsvError } from 'csv-parse';
import { openUserFile, UserFileError } from '../files/user-file';
import { DatasetError } from './errors';
import type { DatasetSource } from './types';

export interface CsvOptions {
  /** Column name (from a header row) or zero-based index; default `label`, else the last column. */
  label?: string;
}

/** One record longer than this is a wrong file, not a dataset row; csv-parse stops there. */
const MAX_RECORD_BYTES = 16 * 1024 * 1024;
const DELIMITERS = [',', ';', '\t'];

/**
 * The separator is the candidate seen most often (outside quotes) in the first record:
 * spreadsheets write `;` where the decimal mark is a comma, and `\t` for tab-separated exports.
 */
function detectDelimiter(head: string): string {
  const counts = new Map(DELIMITERS.map((d) => [d, 0]));
  let quoted = false;
  for (const c of head) {
    if (c === '"') quoted = !quoted;
    else if (!quoted && (c === '\n' || c === '\r')) break;
    else if (!quoted && counts.has(c)) counts.set(c, counts.get(c)! + 1);
  }
  let best = ',';
  for (const d of DELIMITERS) if (counts.get(d)! > counts.get(best)!) best = d;
  return best;
}

/** A growable Float array, so the file is streamed and only the numbers are kept. */
class Column<T extends Float32Array | Float64Array> {
  length = 0;
  constructor(private data: T) {}
  push(v: number): void {
    if (this.length === this.data.length) {
      const grown = new (this.data.constructor as new (n: number) => T)(Math.max(1024, this.data.length * 2));
      grown.set(this.data);
      this.data = grown;
    }
    this.data[this.length++] = v;
  }
  view(): T {
    return this.data.subarray(0, this.length) as T;
  }
}

/**
 * One sample per row: every column except the label column is a feature. Messages name the
 * file, line and column number but never quote the file's text: a dataset path can come from
 * the API, and its contents must not travel back in an error.
 */
export async function openCsv(file: string, options: CsvOptions = {}): Promise<DatasetSource> {
  let fd: number;
  try {
    ({ fd } = openUserFile(file, { what: 'CSV dataset', maxBytes: Number.MAX_SAFE_INTEGER }));
  } catch (e) {
    if (e instanceof UserFileError) throw new DatasetError(e.message, e.hint, e);
    throw e;
  }
  const head = Buffer.alloc(64 * 1024);
  let headLength: number;
  try {
    headLength = readSync(fd, head, 0, head.length, 0);
  } catch (e) {
    closeSync(fd);
    throw new DatasetError(`cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`, 'check the file', e);
  }
  const delimiter = detectDelimiter(head.subarray(0, headLength).toString('utf8'));

  const parser = createReadStream('', { fd, start: 0, autoClose: true }).pipe(
    parse({
      delimiter,
      bom: true,
      trim: true,
      skip_empty_lines: true,
      relax_column_count: true,
      max_record_size: MAX_RECORD_BYTES,
      info: true,
    }),
  );

  let header: string[] | undefined;
  let width = 0;
  let labelCol = -1;
  const x = new Column(new Float32Array(0));
  const labels = new Column(new Float64Array(0));
  const chooseLabel = (names: string[] | undefined) => {
    if (options.label !== undefined) {
      labelCol = names ? names.indexOf(options.label) : -1;
      if (labelCol === -1 && /^\d+$/.test(options.label)) labelCol = Number(options.label);
      if (labelCol < 0 || labelCol >= width) {
        throw new DatasetError(
          `${file} has no column ${JSON.stringify(options.label)} (it has ${width} columns${names ? ' with a header row' : ' and no header row'})`,
          'pick the label column with csv:FILE#label=NAME or #label=INDEX (zero-based)',
        );
      }
    } else {
      const named = names?.findIndex((h) => h.toLowerCase() === 'label') ?? -1;
      labelCol = named === -1 ? width - 1 : named;
    }
  };

  try {
    for await (const { record, info } of parser as AsyncIterable<{ record: string[]; info: { lines: number } }>) {
      const line = info.lines;
      if (width === 0) {
        width = record.length;
        const isHeader = record.some((f) => f !== '' && !Number.isFinite(Number(f)));
        header = isHeader ? record : undefined;
        chooseLabel(header);
        if (isHeader) continue;
      }
      if (record.length !== width)
        throw new DatasetError(`${file} line ${line}: ${record.length} columns, expected ${width}`, 'every row needs the same number of columns');
      for (let c = 0; c < width; c++) {
        const v = Number(record[c]);
        if (record[c] === '' || !Number.isFinite(v)) {
          throw new DatasetError(`${file} line ${line}, column ${c + 1}: not a number`, 'CSV datasets must be numeric');
        }
        if (c === labelCol) labels.push(v);
        else x.push(v);
      }
    }
  } catch (e) {
    parser.destroy();
    if (e instanceof DatasetError) throw e;
    if (e instanceof CsvError) {
      const where = typeof (e as { lines?: unknown }).lines === 'number' ? ` near line ${(e as unknown as { lines: number }).lines}` : '';
      throw new DatasetError(`${file}${where}: not a readable CSV file (${e.code})`, 'save it as comma-, semicolon- or tab-separated values', e);
    }
    throw new DatasetError(`cannot read ${file} (${(e as NodeJS.ErrnoException).code ?? 'error'})`, 'check the file', e);
  }
  const count = labels.length;
  if (count === 0) throw new DatasetError(`${file} has no data rows`, 'a CSV dataset needs one row per sample');
  const features = width - 1;
  const xs = x.view();
  const ys = labels.view();
  const classLabels = ys.every((v) => Number.isInteger(v) && v >= 0);
  return {
    files: [file],
    sampleShape: [features],
    count,
    labelKind: classLabels ? 'class' : 'target',
    labelShape: classLabels ? [] : [1],
    notices: [],
    async read(start, n) {
      const y = ys.subarray(start, start + n);
      return {
        x: xs.slice(start * features, (start + n) * features),
        y: classLabels ? Int32Array.from(y) : Float32Array.from(y),
      };
    },
  };
}
