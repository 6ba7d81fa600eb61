import type { Db } from './db';
import type { Row } from './rows';
import type { DeviceProfile, DeviceProfileOp } from './types';

/** Writes a profile's operators and whole-inference figures onto an existing device run. */
export function writeDeviceProfile(db: Db, deviceRunId: number, profile: DeviceProfile): void {
  db.prepare(
    'UPDATE device_runs SET profile_runs = ?, profile_invoke_cycles = ?, profile_invoke_us = ?, profile_cycles = ? WHERE id = ?',
  ).run(profile.runs, profile.invokeCycles, profile.invokeUs, profile.profiledCycles, deviceRunId);
  const insert = db.prepare(
    `INSERT INTO device_run_ops (device_run_id, position, op, output, cycles, us, macs, output_offset, output_bytes)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
  profile.ops.forEach((o, position) =>
    insert.run(
      deviceRunId,
      position,
      o.op,
      o.output,
      o.cycles,
      o.us,
      o.macs,
      o.outputOffset,
      o.outputBytes,
    ),
  );
}

/** The profile of a device run row, or null when it has none; shares and sums are derived. */
export function readDeviceProfile(db: Db, r: Row, cpuHz: number): DeviceProfile | null {
  if (r.profile_runs === null || r.profile_runs === undefined) return null;
  const rows = db
    .prepare('SELECT * FROM device_run_ops WHERE device_run_id = ? ORDER BY position')
    .all(Number(r.id)) as Row[];
  const sumCycles = rows.reduce((n, o) => n + Number(o.cycles), 0);
  const invokeCycles = Number(r.profile_invoke_cycles);
  const ops = rows.map((o): DeviceProfileOp => ({
    index: Number(o.position),
    op: String(o.op),
    output: String(o.output),
    cycles: Number(o.cycles),
    us: Number(o.us),
    share: sumCycles ? Number(o.cycles) / sumCycles : 0,
    macs: Number(o.macs),
    outputOffset: o.output_offset === null ? null : Number(o.output_offset),
    outputBytes: Number(o.output_bytes),
  }));
  return {
    runs: Number(r.profile_runs),
    cpuHz,
    invokeCycles,
    invokeUs: Number(r.profile_invoke_us),
    profiledCycles: Number(r.profile_cycles),
    sumCycles,
    sumOverWhole: invokeCycles ? sumCycles / invokeCycles : 0,
    ops,
  };
}
