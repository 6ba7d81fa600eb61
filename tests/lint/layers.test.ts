import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ESLint } from 'eslint';
import { repoRoot } from '../helpers/cli';

const eslint = new ESLint({ cwd: repoRoot });

/** Lints source text as if it were the named file, and returns the rule ids that fired. */
async function rulesFired(file: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath: path.join(repoRoot, file) });
  return result!.messages.map((m) => m.ruleId ?? m.message);
}

describe('layer rules', () => {
  it('forbid core/ from importing electron', async () => {
    const fired = await rulesFired('core/model/fixture.ts', "import { app } from 'electron';\nexport const a = app;\n");
    assert.ok(fired.includes('no-restricted-imports'), fired.join());
  });

  it('forbid core/ from using DOM globals', async () => {
    const fired = await rulesFired('core/model/fixture.ts', 'export const title = document.title;\n');
    assert.ok(fired.includes('no-restricted-globals'), fired.join());
  });

  it('forbid renderer/ from importing Node built-ins', async () => {
    for (const mod of ['node:fs', 'fs', 'child_process']) {
      const fired = await rulesFired('renderer/src/lib/fixture.ts', `import * as m from '${mod}';\nexport const x = m;\n`);
      assert.ok(fired.includes('no-restricted-imports'), `${mod}: ${fired.join()}`);
    }
  });

  it('forbid renderer/ from importing core/ beyond the API contract', async () => {
    const fired = await rulesFired('renderer/src/lib/fixture.ts', "import { Service } from '../../../core/service';\nexport const s = Service;\n");
    assert.ok(fired.includes('no-restricted-imports'), fired.join());
  });

  it('let renderer/ import the API contract', async () => {
    const fired = await rulesFired('renderer/src/lib/fixture.ts', "import { methodNames } from '../../../core/api/methods';\nexport const m = methodNames;\n");
    assert.deepEqual(fired, []);
  });

  it('let electron/ import electron and the core', async () => {
    const fired = await rulesFired('electron/fixture.ts', "import { app } from 'electron';\nimport { createService } from '../core/service';\nexport const x = [app, createService];\n");
    assert.deepEqual(fired, []);
  });
});
