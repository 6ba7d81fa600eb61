import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { boardProfiles, type BoardProfile } from '../device/known-boards';
import { FitError } from './errors';

/** The settings file in the data directory that adds or overrides board profiles. */
export const BOARD_SETTINGS_FILE = 'boards.json';

const customBoard = z.object({
  id: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'lower-case letters, digits, ".", "_" and "-"'),
  name: z.string().min(1).optional(),
  mcu: z.string().optional(),
  core: z.enum(['cortex-m0+', 'cortex-m4f', 'cortex-m7', 'xtensa-lx6', 'host']).optional(),
  ramBytes: z.number().int().positive(),
  flashBytes: z.number().int().positive(),
});
const settingsSchema = z.object({ boards: z.array(customBoard) });

/** Custom profiles from DATA_DIR/boards.json ({"boards": [{"id", "ramBytes", "flashBytes", ...}]}). */
export function customBoardProfiles(dataDir: string): BoardProfile[] {
  const file = path.join(dataDir, BOARD_SETTINGS_FILE);
  if (!existsSync(file)) return [];
  let parsed: z.infer<typeof settingsSchema>;
  try {
    parsed = settingsSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
  } catch (e) {
    const why = e instanceof z.ZodError ? e.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') : (e as Error).message;
    throw new FitError('BOARD_SETTINGS_INVALID', `${file} is not a valid board list: ${why}`, {
      hint: 'write {"boards": [{"id": "my-board", "ramBytes": 262144, "flashBytes": 1048576}]}',
    });
  }
  return parsed.boards.map((b) => ({
    id: b.id,
    name: b.name ?? b.id,
    mcu: b.mcu ?? 'custom',
    core: b.core ?? 'cortex-m4f',
    ramBytes: b.ramBytes,
    flashBytes: b.flashBytes,
    source: 'settings' as const,
  }));
}

/** Every profile `--board` accepts: custom ones first, so settings can override a built-in size. */
export function allBoardProfiles(dataDir?: string): BoardProfile[] {
  const custom = dataDir ? customBoardProfiles(dataDir) : [];
  return [...custom, ...boardProfiles.filter((b) => !custom.some((c) => c.id === b.id))];
}

export function resolveBoardProfile(id: string, dataDir?: string): BoardProfile {
  const all = allBoardProfiles(dataDir);
  const found = all.find((b) => b.id === id.toLowerCase());
  if (!found)
    throw new FitError('BOARD_UNKNOWN', `no board profile "${id}"`, {
      hint: `use one of ${all.map((b) => b.id).join(', ')}, or add it to ${dataDir ? path.join(dataDir, BOARD_SETTINGS_FILE) : BOARD_SETTINGS_FILE} in the data directory`,
    });
  return found;
}
