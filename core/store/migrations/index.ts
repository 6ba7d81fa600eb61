import type Database from 'better-sqlite3';
import * as m0001 from './0001-initial';
import * as m0002 from './0002-tags-notes-boards';
import * as m0003 from './0003-run-owner';
import * as m0004 from './0004-device-profile';

export interface Migration {
  version: number;
  name: string;
  up(db: Database.Database): void;
}

/** In order; a migration's number is the `PRAGMA user_version` after it ran. Never edit a shipped one. */
export const migrations: readonly Migration[] = [
  { version: 1, name: '0001-initial', up: m0001.up },
  { version: 2, name: '0002-tags-notes-boards', up: m0002.up },
  { version: 3, name: '0003-run-owner', up: m0003.up },
  { version: 4, name: '0004-device-profile', up: m0004.up },
];

export const latestSchemaVersion = migrations[migrations.length - 1]!.version;
