import type { PortEntry, Params, Result } from '../api/contract';
import type { LaunchedBoard } from '../device/launch';
import { randomUUID } from 'node:crypto';
import { QuantbenchError, serializeError } from '../errors';
import type { HandlerContext } from './context';
import {
  checkFaceDataset,
  checkFaceFlashImage,
  checkFacePort,
  FaceInputError,
  networkHost,
} from './face-inputs';
import { pushJob, type PushJobParams } from './push-job';

export function boardHandlers(
  ctx: HandlerContext,
  launched: Map<string, { kind: 'virtual' | 'qemu'; board: LaunchedBoard }>,
) {
  return {
    'boards.ports': async (): Promise<Result<'boards.ports'>> => {
      const { listPorts } = await import('../device/ports');
      const ports: PortEntry[] = (await listPorts()).map((p) => ({ ...p }));
      for (const p of ports) ctx.knownPorts.add(p.path);
      for (const [port, l] of launched) {
        const existing = ports.find((p) => p.path === port);
        if (existing) existing.launched = l.kind;
        else
          ports.push({
            path: port,
            launched: l.kind,
            board: l.kind === 'qemu' ? 'QEMU mps2-an386 (Cortex-M4)' : 'Quantbench virtual board',
          });
      }
      return ports;
    },

    'boards.launch': async (p: Params<'boards.launch'>): Promise<Result<'boards.launch'>> => {
      const { startQemuBoard, startVirtualBoard } = await import('../device/launch');
      const board =
        p.kind === 'qemu' ? await startQemuBoard() : await startVirtualBoard({ baud: p.baud });
      launched.set(board.port, { kind: p.kind, board });
      ctx.knownPorts.add(board.port);
      board.process.once('exit', () => launched.delete(board.port));
      return {
        path: board.port,
        launched: p.kind,
        board: p.kind === 'qemu' ? 'QEMU mps2-an386 (Cortex-M4)' : 'Quantbench virtual board',
      };
    },

    'boards.stop': async (p: Params<'boards.stop'>): Promise<Result<'boards.stop'>> => {
      const l = launched.get(p.port);
      if (!l) return { stopped: false };
      await l.board.stop();
      launched.delete(p.port);
      return { stopped: true };
    },

    'boards.addRemote': async (
      p: Params<'boards.addRemote'>,
    ): Promise<Result<'boards.addRemote'>> => {
      const host = networkHost(p.url);
      if (host === null) {
        throw new FaceInputError(
          'PORT_NOT_ALLOWED',
          `${JSON.stringify(p.url.slice(0, 80))} is not a tcp://host:port or rfc2217://host:port address`,
          'give the address ser2net (or the board) listens on, for example rfc2217://lab-pi:4000',
        );
      }
      ctx.remoteHosts.add(host);
      return { path: p.url };
    },

    'boards.flashTargets': async (): Promise<Result<'boards.flashTargets'>> => {
      const { existsSync } = await import('node:fs');
      const { qemuMachines } = await import('../device/launch');
      const { listGdbServers, listProbes } = await import('../device/gdb/servers');
      const path = await import('node:path');
      const nucleo411 = path.join(
        path.dirname(qemuMachines.netduinoplus2.image),
        '..',
        'nucleo-f411re',
        'board.elf',
      );
      const images = [
        { name: 'STM32 Nucleo-F446RE', path: qemuMachines.netduinoplus2.image },
        { name: 'STM32 Nucleo-F411RE', path: path.normalize(nucleo411) },
        { name: 'QEMU mps2-an386 (Cortex-M4)', path: qemuMachines['mps2-an386'].image },
        { name: 'QEMU mps3-an547 (Cortex-M55)', path: qemuMachines['mps3-an547'].image },
      ].filter((i) => existsSync(i.path));
      return { images, gdbServers: listGdbServers(), probes: listProbes() };
    },

    'boards.flash': async (p: Params<'boards.flash'>): Promise<Result<'boards.flash'>> => {
      const { flashImage } = await import('../device/gdb/flash');
      const { firmwareBuildDir } = await import('../device/launch');
      const image = checkFaceFlashImage(ctx, p.image, p.gdb, firmwareBuildDir);
      return flashImage(image, { gdb: p.gdb, resetCommand: p.resetCommand });
    },

    'boards.hello': async (p: Params<'boards.hello'>): Promise<Result<'boards.hello'>> => {
      checkFacePort(ctx, p.port);
      const { Board } = await import('../device/board');
      const board = await Board.connect(p.port);
      try {
        const h = board.hello!;
        return {
          port: p.port,
          name: h.name,
          firmware: h.firmware,
          cpu: h.cpu,
          cpuHz: h.cpuHz,
          ramBytes: h.ramBytes,
          flashBytes: h.flashBytes,
          ops: h.ops.length,
        };
      } finally {
        await board.close();
      }
    },

    'boards.push': async (p: Params<'boards.push'>): Promise<Result<'boards.push'>> => {
      checkFacePort(ctx, p.port);
      const data = p.data === undefined ? undefined : checkFaceDataset(ctx, p.data);
      const run = ctx.store().getRun(p.runId);
      const tflite = run.artifacts.find((a) => a.role === 'tflite');
      if (!tflite) {
        throw new QuantbenchError(
          'RUN_HAS_NO_MODEL',
          `run #${p.runId} has no .tflite to push (status ${run.status})`,
          {
            hint: 'push a run that finished successfully',
          },
        );
      }
      const params: PushJobParams = {
        runId: p.runId,
        port: p.port,
        model: tflite.path,
        bench: p.bench,
        data: p.evalLimit ? (data ?? run.datasetSpec ?? undefined) : undefined,
        limit: p.evalLimit,
        profile: p.profile,
      };
      const jobId = randomUUID();
      const controller = new AbortController();
      ctx.inlineJobs.set(jobId, controller);
      const startedAt = Date.now();
      const done = pushJob(
        {
          jobId,
          params,
          signal: controller.signal,
          log: (line) => ctx.events.emit('onJobLog', { jobId, line }),
          progress: (step, fraction, message) => {
            const elapsed = (Date.now() - startedAt) / 1000;
            const etaSeconds =
              fraction && fraction > 0 ? (elapsed * (1 - fraction)) / fraction : null;
            ctx.events.emit('onJobProgress', {
              jobId,
              kind: 'push',
              step,
              fraction,
              message,
              etaSeconds,
            });
          },
        },
        ctx.store(),
      );
      done
        .then(
          () =>
            ctx.events.emit('onJobDone', {
              jobId,
              kind: 'push',
              ok: true,
              cancelled: false,
              runId: p.runId,
            }),
          (error: unknown) =>
            ctx.events.emit('onJobDone', {
              jobId,
              kind: 'push',
              ok: false,
              cancelled: controller.signal.aborted,
              runId: p.runId,
              error: serializeError(error),
            }),
        )
        .finally(() => ctx.inlineJobs.delete(jobId));
      return { jobId, kind: 'push' };
    },
  };
}
