import { createHash, randomBytes } from 'node:crypto';
import {
  closeSync,
  existsSync,
  fsyncSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import path from 'node:path';
import { StoreError } from './errors';

const SHA256 = /^[0-9a-f]{64}$/;

export function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

/**
 * Content-addressed files under `<dataDir>/artifacts/ab/cdef…`. A file appears under its
 * final name only complete and synced (temp file, fsync, rename, fsync of the directory),
 * so a database row written after `write` returns can never point at a partial file.
 *
 * Files leave through `.trash/` so a delete can be undone if its transaction does not commit.
 */
export class ArtifactFiles {
  readonly root: string;
  private readonly tmpDir: string;
  private readonly trashDir: string;

  constructor(root: string) {
    this.root = root;
    this.tmpDir = path.join(root, '.tmp');
    this.trashDir = path.join(root, '.trash');
    // Folders are made on first write, so reading a colleague's store leaves it untouched.
  }

  pathFor(sha256: string): string {
    if (!SHA256.test(sha256)) {
      throw new StoreError('STORE_BAD_ARTIFACT_ID', `"${sha256}" is not a sha256 artifact id`, {
        hint: 'Artifact ids are 64 lowercase hex digits',
      });
    }
    return path.join(this.root, sha256.slice(0, 2), sha256.slice(2));
  }

  has(sha256: string): boolean {
    return existsSync(this.pathFor(sha256));
  }

  /** Milliseconds since the file was written, or undefined when it is not there. */
  ageMs(sha256: string, now = Date.now()): number | undefined {
    try {
      // File times have sub-millisecond precision and Date.now() does not: a file written
      // this very millisecond can look younger than zero.
      return Math.max(0, now - statSync(this.pathFor(sha256)).mtimeMs);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  size(sha256: string): number | undefined {
    try {
      return statSync(this.pathFor(sha256)).size;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  read(sha256: string): Buffer {
    return readFileSync(this.pathFor(sha256));
  }

  /** Writes the bytes unless a file with the same content is already stored; returns the sha256. */
  write(bytes: Uint8Array): string {
    const sha256 = sha256Hex(bytes);
    const final = this.pathFor(sha256);
    if (existsSync(final) && statSync(final).size === bytes.byteLength) return sha256;
    const dir = path.dirname(final);
    mkdirSync(dir, { recursive: true });
    mkdirSync(this.tmpDir, { recursive: true });
    const tmp = path.join(
      this.tmpDir,
      `${sha256}.${process.pid}.${randomBytes(4).toString('hex')}`,
    );
    try {
      const fd = openSync(tmp, 'w');
      try {
        let offset = 0;
        while (offset < bytes.byteLength)
          offset += writeSync(fd, bytes, offset, bytes.byteLength - offset);
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, final);
    } catch (error) {
      rmSync(tmp, { force: true });
      throw error;
    }
    fsyncDir(dir);
    return sha256;
  }

  /** Moves a file out of the way; `restore` or `recover` decides its fate later. */
  trash(sha256: string): string | undefined {
    const from = this.pathFor(sha256);
    mkdirSync(this.trashDir, { recursive: true });
    const to = path.join(
      this.trashDir,
      `${sha256}.${process.pid}.${randomBytes(4).toString('hex')}`,
    );
    try {
      renameSync(from, to);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
    return to;
  }

  restore(trashed: string, sha256: string): void {
    // Another process's recovery may have put it back already.
    if (!existsSync(trashed)) return;
    const final = this.pathFor(sha256);
    mkdirSync(path.dirname(final), { recursive: true });
    if (existsSync(final)) unlinkIfPresent(trashed);
    else renameSync(trashed, final);
  }

  /**
   * Settles what an interrupted delete left in `.trash/`: files still listed in the database
   * go back, the rest are removed. Also drops temp files of writes that never finished and are
   * older than `staleMs` (younger ones may belong to a writer still running).
   */
  recover(isReferenced: (sha256: string) => boolean, staleMs = 60 * 60 * 1000): void {
    for (const name of safeReaddir(this.trashDir)) {
      const sha256 = name.slice(0, 64);
      const file = path.join(this.trashDir, name);
      if (SHA256.test(sha256) && isReferenced(sha256)) this.restore(file, sha256);
      else unlinkIfPresent(file);
    }
    const now = Date.now();
    for (const name of safeReaddir(this.tmpDir)) {
      const file = path.join(this.tmpDir, name);
      try {
        if (now - statSync(file).mtimeMs > staleMs) unlinkIfPresent(file);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      }
    }
  }

  /** Every sha256 with a file in the store, for garbage collection and checks. */
  listStored(): string[] {
    const out: string[] = [];
    for (const prefix of safeReaddir(this.root)) {
      if (prefix.length !== 2) continue;
      for (const rest of safeReaddir(path.join(this.root, prefix))) {
        const sha256 = prefix + rest;
        if (SHA256.test(sha256)) out.push(sha256);
      }
    }
    return out;
  }
}

export function unlinkIfPresent(file: string): void {
  try {
    unlinkSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
}

/** A rename is durable only once the directory holding the new name is synced. */
function fsyncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}
