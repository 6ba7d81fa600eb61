import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, it } from 'node:test';
import { recogniseBoard } from '../../core/device/known-boards';
import { listPorts, scanLinuxPorts } from '../../core/device/ports';
import { tempDir } from '../helpers/tmp';

const run = promisify(execFile);
const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** A /dev and /sys tree as Linux lays it out for one CDC-ACM board and one FTDI bridge. */
function fakeMachine(): { dev: string; sys: string } {
  const root = tempDir('quantbench-ports-');
  const dev = path.join(root, 'dev');
  const sys = path.join(root, 'sys');
  mkdirSync(path.join(dev, 'serial', 'by-id'), { recursive: true });
  const usb = (tty: string, usbDir: string, attrs: Record<string, string>) => {
    writeFileSync(path.join(dev, tty), '');
    const iface = path.join(sys, 'devices', 'pci0000:00', usbDir, `${usbDir}:1.0`);
    mkdirSync(path.join(iface, 'tty', tty), { recursive: true });
    for (const [k, v] of Object.entries(attrs)) writeFileSync(path.join(sys, 'devices', 'pci0000:00', usbDir, k), `${v}\n`);
    mkdirSync(path.join(sys, 'class', 'tty', tty), { recursive: true });
    symlinkSync(iface, path.join(sys, 'class', 'tty', tty, 'device'));
  };
  usb('ttyACM0', '1-1', { idVendor: '2341', idProduct: '005e', manufacturer: 'Arduino', product: 'Nano 33 BLE', serial: 'ABC123' });
  usb('ttyUSB0', '1-2', { idVendor: '0403', idProduct: '6001', manufacturer: 'FTDI', product: 'FT232R USB UART' });
  symlinkSync(path.join(dev, 'ttyACM0'), path.join(dev, 'serial', 'by-id', 'usb-Arduino_Nano_33_BLE_ABC123-if00'));
  return { dev, sys };
}

describe('port listing', () => {
  it('recognises boards by VID:PID, the most specific entry first', () => {
    assert.equal(recogniseBoard('2341', '005e'), 'Arduino Nano 33 BLE');
    assert.equal(recogniseBoard('2341', '1234'), 'Arduino');
    assert.equal(recogniseBoard('0483', '374B'), 'ST-LINK/V2-1 (STM32 Nucleo/Discovery)');
    assert.equal(recogniseBoard('2e8a', '000a'), 'Raspberry Pi Pico');
    assert.equal(recogniseBoard('303a', '1001'), 'Espressif ESP32 (native USB)');
    assert.equal(recogniseBoard('1915', '520f'), 'Nordic Semiconductor nRF');
    assert.equal(recogniseBoard('dead', 'beef'), undefined);
  });

  it('reads ports, USB IDs and by-id names from /dev and sysfs without udev', () => {
    const { dev, sys } = fakeMachine();
    const ports = scanLinuxPorts({ devRoot: dev, sysRoot: sys });
    assert.equal(ports.length, 2);
    const acm = ports.find((p) => p.path.endsWith('ttyACM0'))!;
    assert.equal(acm.vendorId, '2341');
    assert.equal(acm.productId, '005e');
    assert.equal(acm.serialNumber, 'ABC123');
    assert.equal(acm.board, 'Arduino Nano 33 BLE');
    assert.match(acm.byId!, /usb-Arduino_Nano_33_BLE_ABC123-if00$/);
    const ftdi = ports.find((p) => p.path.endsWith('ttyUSB0'))!;
    assert.equal(ftdi.board, 'FTDI FT232 USB-UART bridge');
    assert.equal(ftdi.byId, undefined);
  });

  it('lists ports in-process with udevadm on PATH or not', async () => {
    assert.ok(Array.isArray(await listPorts({ searchPath: '/nonexistent' })));
    assert.ok(Array.isArray(await listPorts()));
  });

  it('`quantbench boards --json` works with udevadm hidden from PATH', async () => {
    // Only node on PATH: serialport's list() would spawn udevadm and crash the process.
    const bin = tempDir('quantbench-path-');
    symlinkSync(process.execPath, path.join(bin, 'node'));
    const { stdout } = await run(process.execPath, [path.join(repo, 'bin', 'quantbench.mjs'), 'boards', '--json'], {
      env: { ...process.env, PATH: bin },
      cwd: repo,
    });
    const doc = JSON.parse(stdout) as { ports: unknown[] };
    assert.ok(Array.isArray(doc.ports));
  });
});
