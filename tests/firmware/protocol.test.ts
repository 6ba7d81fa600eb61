import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { missingSharedModels, sharedModel } from '../helpers/shared-models';
import { tempDir } from '../helpers/tmp';
import { buildProtocolTarget } from '../device/firmware';

const run = promisify(execFile);
const here = path.dirname(fileURLToPath(import.meta.url));
const firmware = path.resolve(here, '..', '..', 'resources', 'firmware');
const fuzzSeconds = Number(process.env.QB_FUZZ_SECONDS ?? 60);

describe('firmware protocol (C)', () => {
  it('passes the codec and board-loop unit tests under AddressSanitizer and UBSan', () => {
    const exe = path.join(tempDir('quantbench-proto-c-'), 'protocol_codec_test');
    execFileSync('clang', [
      '-std=c99', '-g', '-O1', '-Wall', '-Wextra', '-Werror', '-fsanitize=address,undefined', '-fno-sanitize-recover=all',
      '-DQB_MAX_PAYLOAD=1024',
      `-I${path.join(firmware, 'include')}`, `-I${path.join(firmware, 'protocol')}`,
      path.join(here, 'protocol_codec_test.c'),
      ...['qb_board.c', 'qb_cobs.c', 'qb_crc32.c'].map((f) => path.join(firmware, 'protocol', f)),
      '-o', exe,
    ], { stdio: ['ignore', 'inherit', 'inherit'] });
    const out = execFileSync(exe, { encoding: 'utf8' });
    assert.match(out, /^\d+ checks, 0 failed$/m);
  });

  it(`survives ${fuzzSeconds} s of libFuzzer on the frame decoder and dispatcher`, { timeout: (fuzzSeconds + 120) * 1000 }, async () => {
    buildProtocolTarget('protocol-fuzz');
    const corpus = tempDir('quantbench-fuzz-');
    // Seeds: a real model in model mode (byte 0 = 2) so mutations reach the inference
    // commands, and a HELLO in frame mode.
    if (!missingSharedModels('kws_ref_model.tflite')) {
      writeFileSync(path.join(corpus, 'model'), Buffer.concat([Buffer.of(2), readFileSync(sharedModel('kws_ref_model.tflite'))]));
    }
    writeFileSync(path.join(corpus, 'hello'), Buffer.of(1, 1, 1, 0, 1));
    const { stderr } = await run(
      path.resolve(firmware, '..', '..', 'build', 'firmware', 'host', 'protocol_fuzz'),
      [`-max_total_time=${fuzzSeconds}`, '-max_len=60000', '-rss_limit_mb=1024', `-artifact_prefix=${corpus}/`, corpus],
      { maxBuffer: 64 << 20 },
    );
    assert.match(stderr, /Done \d+ runs in \d+ second/);
  });
});
