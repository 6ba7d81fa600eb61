import { DeviceError } from './errors';
import type { Packet } from './frame';
import { Command, Flag } from './protocol';

export interface UploadOptions {
  /** Chunks in flight before waiting for an acknowledgement. */
  window?: number;
  /** First chunk size; adapts between 64 bytes and the board's maximum. */
  chunkBytes?: number;
  /** Upper bound of the resend timeout; the timeout itself follows the measured round trip. */
  progressTimeoutMs?: number;
  /** No acknowledgement advancing for this long: give up. */
  giveUpMs?: number;
  onProgress?: (sentBytes: number, totalBytes: number) => void;
  signal?: AbortSignal;
}

/** What the chunk sender needs from the board client. */
export interface ChunkLink {
  readonly port: string;
  /** Sends one UPLOAD_CHUNK payload; returns its sequence number. */
  send(payload: Uint8Array, onAnswer: (seq: number, packet: Packet) => void, onWriteError: (error: DeviceError) => void): number;
  /** Stops waiting for the answer to `seq`. */
  forget(seq: number): void;
  /** Each returns its unsubscribe function. */
  onBoot(listener: () => void): () => void;
  onClose(listener: (error: DeviceError) => void): () => void;
  boardError(payload: Uint8Array): DeviceError;
}

/**
 * The windowed part of an upload (docs/protocol.md, "Upload"): several chunks in flight,
 * cumulative acknowledgements, go-back-N on a gap or a timeout, chunk size halved on loss
 * and doubled back after clean windows.
 */
export function sendChunks(link: ChunkLink, model: Uint8Array, maxChunk: number, options: UploadOptions): Promise<{ rewinds: number; sentBytes: number }> {
  const size = model.length;
  const windowChunks = options.window ?? 4;
  const progressTimeoutMs = options.progressTimeoutMs ?? 2000;
  const giveUpMs = options.giveUpMs ?? 4000;
  let chunk = Math.min(maxChunk, options.chunkBytes ?? 1024);
  let acked = 0;
  let sendAt = 0;
  let epoch = 0;
  let rewinds = 0;
  let lastAdvance = performance.now();
  let srtt = 0;
  let cleanAcks = 0;
  let sentBytes = 0;
  let lastProgress = performance.now();
  const inFlight = new Map<number, { offset: number; bytes: number; epoch: number; sentAt: number }>();
  // Like TCP's RTO: a few smoothed round trips, so a lost last chunk costs little time.
  // Before the first acknowledgement the round trip is unknown; 300 ms covers a window at
  // 115200 baud, and a too-early resend costs one window, not correctness.
  const resendAfterMs = () => Math.min(progressTimeoutMs, srtt ? Math.max(50, 4 * srtt + 20) : 300);

  return new Promise((resolve, reject) => {
    let finished = false;
    const finish = (error?: DeviceError) => {
      if (finished) return;
      finished = true;
      clearInterval(timer);
      for (const seq of inFlight.keys()) link.forget(seq);
      unsubscribeBoot();
      unsubscribeClose();
      if (error) reject(error);
      else resolve({ rewinds, sentBytes });
    };
    const resetError = (detail: string) =>
      new DeviceError('DEVICE_RESET_DURING_UPLOAD', `board on ${link.port} reset during the upload (${detail}) after ${acked} of ${size} bytes`, {
        hint: 'the model on the board is lost: push again; if it keeps happening check the power supply and that opening the port does not toggle DTR',
      });
    const onBoot = () => finish(resetError('it announced a restart'));
    const onClose = (error: DeviceError) => finish(error);
    const unsubscribeBoot = link.onBoot(onBoot);
    const unsubscribeClose = link.onClose(onClose);

    const rewind = () => {
      epoch++;
      rewinds++;
      cleanAcks = 0;
      sendAt = acked;
      chunk = Math.max(64, chunk >> 1);
      for (const seq of inFlight.keys()) link.forget(seq);
      inFlight.clear();
    };

    const onAck = (seq: number, packet: Packet) => {
      const sent = inFlight.get(seq);
      inFlight.delete(seq);
      if (packet.flags & Flag.error) {
        const error = link.boardError(packet.payload);
        return finish(error.code === 'BOARD_NO_UPLOAD' ? resetError('it no longer knows the upload') : error);
      }
      if (packet.type !== Command.uploadChunk || packet.payload.length < 4) return;
      if (sent) {
        const rtt = performance.now() - sent.sentAt;
        srtt = srtt ? 0.875 * srtt + 0.125 * rtt : rtt;
      }
      const next = new DataView(packet.payload.buffer, packet.payload.byteOffset).getUint32(0, true);
      if (next > acked) {
        acked = Math.min(next, size);
        lastProgress = lastAdvance = performance.now();
        options.onProgress?.(acked, size);
        if (++cleanAcks >= windowChunks * 4 && chunk < maxChunk) {
          chunk = Math.min(maxChunk, chunk * 2);
          cleanAcks = 0;
        }
      }
      if (acked >= size) return finish();
      if (sent && sent.epoch === epoch && next < sent.offset) rewind();
      pump();
    };

    const pump = () => {
      while (!finished && sendAt < size && inFlight.size < windowChunks) {
        const bytes = Math.min(chunk, size - sendAt);
        const payload = new Uint8Array(4 + bytes);
        new DataView(payload.buffer).setUint32(0, sendAt, true);
        payload.set(model.subarray(sendAt, sendAt + bytes), 4);
        const seq = link.send(payload, onAck, (error) => finish(error));
        inFlight.set(seq, { offset: sendAt, bytes, epoch, sentAt: performance.now() });
        sendAt += bytes;
        sentBytes += bytes;
      }
    };

    const timer = setInterval(() => {
      const now = performance.now();
      if (options.signal?.aborted) {
        return finish(new DeviceError('DEVICE_CANCELLED', `upload to ${link.port} was cancelled after ${acked} of ${size} bytes`, { hint: 'start it again when ready' }));
      }
      if (now - lastAdvance > giveUpMs) {
        return finish(new DeviceError('DEVICE_TIMEOUT', `upload to ${link.port} stalled at ${acked} of ${size} bytes: no acknowledgement advanced for ${giveUpMs} ms`, {
          hint: 'check the link; a lower baud rate may help on a noisy line',
        }));
      }
      if (now - lastProgress < resendAfterMs()) return;
      lastProgress = now;
      rewind();
      pump();
    }, 20);

    if (size === 0) return finish();
    pump();
  });
}

