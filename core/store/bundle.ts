import {
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  readSync,
  closeSync,
  rmSync,
  statSync,
  writeFileSync,
  renameSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { zipSync, type Zippable } from 'fflate';
import { QuantbenchError } from '../errors';
import { readUserFile } from '../files/user-file';
import { readZip, ZipError } from '../files/zip';
import { ArtifactFiles } from './artifacts';
import { openDatabase, type Db } from './db';
import { StoreError } from './errors';
import {
  buildExport,
  mergeExport,
  parseExport,
  type ExportDocument,
  type ImportResult,
} from './exchange';
import { runsToCsv } from './csv';
import { listRuns } from './queries/list';
import type { RunFilter } from './types';
import { randomBytes } from 'node:crypto';

/** The part of a Store that bundles read and write (store.ts imports this module, not the reverse). */
export interface StoreContents {
  readonly db: Db;
  readonly files: ArtifactFiles;
}

/**
 * Files that carry runs between machines:
 * - `.qbx`: a zip of `export.json` and `artifacts/<sha256>`; the full record of each run;
 * - a directory with the same layout;
 * - `.json`: the export document alone (artifact links are dropped on import);
 * - `.csv`: the listing columns, for spreadsheets (export only);
 * - a Quantbench database file (`quantbench.sqlite`, with its `artifacts/` beside it), import only.
 */

export type ExportFormat = 'qbx' | 'dir' | 'json' | 'csv';

const EXPORT_JSON = 'export.json';
const SQLITE_MAGIC = 'SQLite format 3\u0000';

export function formatForPath(file: string): ExportFormat {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.qbx' || ext === '.zip') return 'qbx';
  if (ext === '.json') return 'json';
  if (ext === '.csv') return 'csv';
  return 'dir';
}

export interface ExportSummary {
  file: string;
  format: ExportFormat;
  runs: number;
  artifacts: number;
}

/** Writes the runs matching `filter` to `file` in the format its extension names. */
export function exportToFile(
  store: StoreContents,
  file: string,
  filter?: RunFilter,
  format = formatForPath(file),
): ExportSummary {
  const doc = buildExport(store.db, store.files, filter);
  const shas = [...new Set(doc.runs.flatMap((r) => r.artifacts.map((a) => a.sha256)))];
  const target = path.resolve(file);
  if (format === 'csv') {
    const runs = listRuns(store.db, { filter, limit: 10_000, sort: { by: 'id', direction: 'asc' } });
    let all = runs.runs;
    for (let offset = all.length; offset < runs.total; offset = all.length) {
      all = all.concat(
        listRuns(store.db, { filter, limit: 10_000, offset, sort: { by: 'id', direction: 'asc' } })
          .runs,
      );
    }
    writeAtomically(target, runsToCsv(all));
    return { file: target, format, runs: all.length, artifacts: 0 };
  }
  const jsonText = JSON.stringify(doc, null, 2) + '\n';
  if (format === 'json') {
    writeAtomically(target, jsonText);
    return { file: target, format, runs: doc.runs.length, artifacts: 0 };
  }
  if (format === 'qbx') {
    const entries: Zippable = { [EXPORT_JSON]: new TextEncoder().encode(jsonText) };
    for (const sha of shas) entries[`artifacts/${sha}`] = store.files.read(sha);
    writeAtomically(target, zipSync(entries));
    return { file: target, format, runs: doc.runs.length, artifacts: shas.length };
  }
  mkdirSync(path.join(target, 'artifacts'), { recursive: true });
  for (const sha of shas) writeFileSync(path.join(target, 'artifacts', sha), store.files.read(sha));
  writeAtomically(path.join(target, EXPORT_JSON), jsonText);
  return { file: target, format, runs: doc.runs.length, artifacts: shas.length };
}

/** Merges runs from a bundle, an export JSON or another Quantbench database into the store. */
export function importFromFile(store: StoreContents, file: string): ImportResult & { file: string } {
  const source = path.resolve(file);
  if (!existsSync(source)) {
    throw new StoreError('STORE_IMPORT_NOT_FOUND', `${source} does not exist`, {
      hint: 'Give the path of a .qbx bundle, an export folder, an export .json or a quantbench.sqlite file',
    });
  }
  const { doc, readArtifact } = readSource(source);
  return { file: source, ...mergeExport(store.db, store.files, doc, readArtifact, source) };
}

interface Source {
  doc: ExportDocument;
  readArtifact: (sha256: string) => Uint8Array | undefined;
}

function readSource(source: string): Source {
  if (statSync(source).isDirectory()) {
    const dbFile = path.join(source, 'quantbench.sqlite');
    if (!existsSync(path.join(source, EXPORT_JSON)) && existsSync(dbFile))
      return readDatabase(dbFile);
    const doc = parseExport(readJson(path.join(source, EXPORT_JSON)), source);
    return { doc, readArtifact: (sha) => readIfExists(path.join(source, 'artifacts', sha)) };
  }
  if (startsWith(source, SQLITE_MAGIC)) return readDatabase(source);
  if (startsWith(source, 'PK\u0003\u0004')) {
    let entries: Record<string, Uint8Array>;
    try {
      entries = Object.fromEntries(readZip(readUserFile(source, { what: 'bundle' }), source));
    } catch (cause) {
      if (!(cause instanceof QuantbenchError)) throw cause;
      throw new StoreError(
        'STORE_IMPORT_INVALID',
        cause instanceof ZipError ? `${source} is not a readable zip bundle: ${cause.problem}` : cause.message,
        { hint: 'Export it again with "quantbench runs export FILE.qbx"', cause },
      );
    }
    const json = entries[EXPORT_JSON];
    if (!json)
      throw new StoreError('STORE_IMPORT_INVALID', `${source} has no ${EXPORT_JSON}`, {
        hint: 'Export it again with "quantbench runs export FILE.qbx"',
      });
    const doc = parseExport(parseJsonText(new TextDecoder().decode(json), source), source);
    return { doc, readArtifact: (sha) => entries[`artifacts/${sha}`] };
  }
  return { doc: parseExport(readJson(source), source), readArtifact: () => undefined };
}

/**
 * Reads a colleague's database through a private copy (VACUUM INTO), so an older schema can be
 * migrated without touching their file and a live writer on it is not disturbed.
 */
function readDatabase(dbFile: string): Source {
  const copy = path.join(
    os.tmpdir(),
    `quantbench-import-${process.pid}-${randomBytes(4).toString('hex')}.sqlite`,
  );
  try {
    const src = openDatabase(dbFile, { readonly: true });
    try {
      src.prepare('VACUUM INTO ?').run(copy);
    } finally {
      src.close();
    }
    const db = openDatabase(copy);
    try {
      const files = new ArtifactFiles(path.join(path.dirname(dbFile), 'artifacts'));
      const doc = buildExport(db, files, undefined);
      return { doc, readArtifact: (sha) => readIfExists(files.pathFor(sha)) };
    } finally {
      db.close();
    }
  } finally {
    for (const suffix of ['', '-wal', '-shm']) rmSync(copy + suffix, { force: true });
  }
}

function readIfExists(file: string): Uint8Array | undefined {
  return existsSync(file) ? readFileSync(file) : undefined;
}

function readJson(file: string): unknown {
  return parseJsonText(readFileSync(file, 'utf8'), file);
}

function parseJsonText(text: string, source: string): unknown {
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new StoreError(
      'STORE_IMPORT_INVALID',
      `${source} is not valid JSON: ${(cause as Error).message}`,
      { hint: 'Import a file written by "quantbench runs export"', cause },
    );
  }
}

function startsWith(file: string, magic: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(magic.length);
    const read = readSync(fd, buf, 0, buf.length, 0);
    return read === buf.length && buf.toString('latin1') === magic;
  } finally {
    closeSync(fd);
  }
}

function writeAtomically(file: string, data: string | Uint8Array): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, data);
  renameSync(tmp, file);
}
