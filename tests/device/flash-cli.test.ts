import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Board } from '../../core/device/board';
import { listGdbServers } from '../../core/device/gdb/servers';
import { qemuMachines, startQemuBoard, type LaunchedBoard } from '../../core/device/launch';
import { runCliAsync } from '../helpers/cli';
import { buildFirmwareTargets, freeTcpPort, missingQemuTools } from './firmware';


describe('quantbench boards and quantbench flash against QEMU gdbstub', { skip: missingQemuTools() }, () => {
  const launched: LaunchedBoard[] = [];
  before(() => buildFirmwareTargets('stm32f4-nucleo-f446re'));
  after(async () => {
    for (const l of launched) await l.stop();
  });

  it('names the listening gdbstub, flashes the STM32F4 image through it, and the board answers', async () => {
    const gdbPort = await freeTcpPort();
    const qemu = await startQemuBoard({ machine: 'netduinoplus2', gdbPort });
    launched.push(qemu);
    // Found from /proc without connecting, so the halted machine is left alone. QEMU
    // opens the gdbstub just after it prints the pty line: give it a moment.
    const mine = (s: { address: string; server: string }) => s.address === `127.0.0.1:${gdbPort}` && s.server === 'QEMU gdbstub';
    for (let i = 0; i < 50 && !listGdbServers().some(mine); i++) await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(listGdbServers().filter(mine).map((s) => s.pid), [qemu.process.pid]);
    const listed = await runCliAsync(['boards', '--json']);
    assert.equal(listed.status, 0, listed.stderr);
    const doc = JSON.parse(listed.stdout) as { gdbServers: Array<{ address: string; server: string }>; probes: unknown[] };
    assert.ok(Array.isArray(doc.probes));
    assert.ok(doc.gdbServers.some(mine), listed.stdout);

    const r = await runCliAsync(['flash', qemuMachines.netduinoplus2.image, '--gdb', `127.0.0.1:${gdbPort}`, '--json'], { timeoutMs: 60_000 });
    assert.equal(r.status, 0, r.stderr);
    const result = JSON.parse(r.stdout) as { bytes: number; verifiedBy: string; start: string; segments: Array<{ address: string }> };
    assert.equal(result.segments[0]!.address, '0x08000000');
    assert.equal(result.verifiedBy, 'read-back');
    assert.equal(result.start, 'vector-table');
    assert.match(r.stderr, /verify 100%/);

    const board = await Board.connect(qemu.port);
    try {
      assert.equal(board.hello!.name, 'nucleo-f446re');
      assert.equal(board.hello!.cpuHz, 168_000_000);
    } finally {
      await board.close();
    }
  });

  it('says what is missing or wrong, with the address, and exits non-zero', async () => {
    const noGdb = await runCliAsync(['flash', qemuMachines.netduinoplus2.image]);
    assert.equal(noGdb.status, 2);
    assert.match(noGdb.stderr, /--gdb HOST:PORT/);
    const closed = await freeTcpPort();
    const refused = await runCliAsync(['flash', qemuMachines.netduinoplus2.image, '--gdb', `127.0.0.1:${closed}`], { timeoutMs: 60_000 });
    assert.equal(refused.status, 1);
    assert.match(refused.stderr, new RegExp(`127\\.0\\.0\\.1:${closed}`));
    assert.match(refused.stderr, /GDB server/);
  });
});
