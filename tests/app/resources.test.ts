import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { locateResources, resourcesFor } from '../../core/app/resources';
import { bundledJobFile, defaultWorkerEntry, jobModule, JOB_SOURCES } from '../../core/jobs/registry';
import { repoRoot } from '../helpers/cli';
import { tempDir } from '../helpers/tmp';

describe('the resource locator', () => {
  it('finds the checkout when running from the TypeScript sources', () => {
    const where = locateResources();
    assert.equal(where.layout, 'source');
    assert.equal(where.appRoot, repoRoot);
    assert.equal(where.bundleDir, null);
    assert.equal(where.samplesDir, path.join(repoRoot, 'resources', 'samples'));
    assert.equal(where.firmwareSourceDir, path.join(repoRoot, 'resources', 'firmware'));
    // Jobs load their .ts source through the tsx worker boot file.
    assert.equal(jobModule('compress', where).module, path.join(repoRoot, 'core', 'handlers', 'compress-job.ts'));
    assert.equal(defaultWorkerEntry(where), path.join(repoRoot, 'core', 'jobs', 'worker-boot.mjs'));
  });

  it('finds build/firmware and the bundled jobs beside a bundle in a checkout or an installed package', () => {
    const root = tempDir();
    const where = resourcesFor({ dir: path.join(root, 'dist', 'app'), source: false }, {});
    assert.equal(where.layout, 'bundle');
    assert.equal(where.firmwareDir, path.join(root, 'build', 'firmware'));
    assert.equal(where.samplesDir, path.join(root, 'resources', 'samples'));
    assert.equal(where.firmwareSourceDir, null, 'an installed package has no firmware sources');
    assert.equal(jobModule('fineTune', where).module, path.join(root, 'dist', 'app', 'job-fineTune.mjs'));
    assert.equal(defaultWorkerEntry(where), path.join(root, 'dist', 'app', 'worker.mjs'));
  });

  it('finds resources/firmware and resources/samples of an Electron package, from a worker without process.resourcesPath too', () => {
    const resources = path.join(tempDir(), 'Quantbench', 'resources');
    mkdirSync(path.join(resources, 'firmware'), { recursive: true });
    writeFileSync(path.join(resources, 'app.asar'), '');
    const where = resourcesFor({ dir: path.join(resources, 'app.asar', 'dist', 'app'), source: false }, {});
    assert.equal(where.layout, 'packaged');
    assert.equal(where.appRoot, path.join(resources, 'app.asar'));
    assert.equal(where.firmwareDir, path.join(resources, 'firmware'));
    assert.equal(where.samplesDir, path.join(resources, 'samples'));
    assert.equal(where.firmwareSourceDir, null);
  });

  it('lets QUANTBENCH_FIRMWARE_BUILD point at another firmware build', () => {
    const other = tempDir();
    assert.equal(resourcesFor({ dir: path.join(repoRoot, 'core', 'app'), source: true }, { QUANTBENCH_FIRMWARE_BUILD: other }).firmwareDir, other);
  });

  it('names a job source file that exists for every registered job', () => {
    for (const [name, job] of Object.entries(JOB_SOURCES)) {
      assert.ok(existsSync(path.join(repoRoot, job.source)), `${name}: ${job.source}`);
      assert.match(bundledJobFile(name as keyof typeof JOB_SOURCES), /^job-\w+\.mjs$/);
    }
  });
});
