import { crc32 } from './crc32';
import { DeviceError } from './errors';
import { encodeFrame, FrameReader, type Packet } from './frame';
import { openTransport } from './open-transport';
import {
  BENCHMARK_MAX_RUNS,
  BoardErrorCode,
  Command,
  commandName,
  Flag,
  parseBenchmark,
  parseHello,
  parseModelInfo,
  parseProfile,
  PayloadReader,
  PROTOCOL_VERSION,
  u32le,
  type BenchmarkResult,
  type HelloInfo,
  type ModelInfo,
  type ProfileEntry,
} from './protocol';
import type { Transport, TransportOptions } from './transport';
import { sendChunks, type ChunkLink, type UploadOptions } from './upload';

export type { UploadOptions } from './upload';

export interface RequestOptions {
  timeoutMs?: number;
  /** Further attempts after the first times out. */
  retries?: number;
  /** Each further attempt waits this many times longer than the one before (default 1). */
  backoff?: number;
}

export interface UploadResult {
  bytes: number;
  seconds: number;
  crc: number;
  arenaRequired: number;
  fits: boolean;
  /** Go-back-N rewinds caused by lost or damaged frames. */
  rewinds: number;
  /** Bytes of model payload sent, resends included. */
  sentBytes: number;
}

export interface InvokeResult {
  cycles: number;
  us: number;
  outputs: Uint8Array;
}

export interface EvaluateBatch {
  cycles: number;
  us: number;
  /** One buffer per sample: all outputs concatenated. */
  outputs: Uint8Array[];
}

/** Per-operator cycles of the loaded model on the board's current input. */
export interface BoardProfile {
  runs: number;
  /** Fastest plain inference: the whole-inference figure the operators are held against. */
  invokeCycles: number;
  invokeUs: number;
  /** Fastest profiled inference, the profiler's own cost taken out: the operators' sum. */
  profiledCycles: number;
  ops: ProfileEntry[];
}

export interface BoardOptions extends TransportOptions, RequestOptions {}

type Waiter = (packet: Packet) => void;

/** A client for one board over one transport (docs/protocol.md). */
export class Board {
  private readonly reader = new FrameReader();
  private readonly waiters = new Map<number, Waiter>();
  private readonly bootListeners = new Set<() => void>();
  private readonly closeListeners = new Set<(error: DeviceError) => void>();
  private seq = 1;
  private closedError: DeviceError | undefined;
  /**
   * Slowest per-sample time seen by EVALUATE for the loaded model, by the board's clock or
   * the host's, whichever is longer (an emulated board's clock runs on virtual time, and
   * a loaded host stretches the wall time of every frame); 0 until measured.
   */
  private perSampleUs = 0;
  hello: HelloInfo | undefined;

  constructor(readonly transport: Transport, private readonly defaults: RequestOptions = {}) {
    transport.onData((bytes) => {
      for (const packet of this.reader.push(bytes)) this.dispatch(packet);
    });
    transport.onClose((error) => {
      this.closedError = new DeviceError(
        'DEVICE_DISCONNECTED',
        `${this.port} went away${error ? `: ${error.message}` : ''}`,
        { hint: 'check the cable and that the board (or ser2net, or the virtual board) still runs' },
      );
      for (const l of this.closeListeners) l(this.closedError);
    });
  }

  get port(): string {
    return this.transport.port;
  }

  /** Opens the port and waits for the board's HELLO. */
  static async connect(url: string, options: BoardOptions = {}): Promise<Board> {
    const transport = await openTransport(url, options);
    const board = new Board(transport, options);
    try {
      await board.handshake();
    } catch (error) {
      await transport.close();
      throw error;
    }
    return board;
  }

  async handshake(): Promise<HelloInfo> {
    // A lone delimiter ends whatever the board's receiver holds (noise from the cable being
    // plugged in, half a frame from a previous session), so HELLO arrives clean.
    await this.transport.write(Uint8Array.of(0)).catch((error: Error) => {
      throw this.writeError(error);
    });
    const payload = await this.request(Command.hello, Uint8Array.of(PROTOCOL_VERSION), {
      timeoutMs: this.defaults.timeoutMs ?? 1000,
      retries: this.defaults.retries ?? 3,
    });
    const hello = parseHello(payload);
    if (hello.protocol !== PROTOCOL_VERSION) {
      throw new DeviceError('DEVICE_PROTOCOL_VERSION', `board on ${this.port} speaks protocol ${hello.protocol}, this Quantbench speaks ${PROTOCOL_VERSION}`, {
        hint: 'flash the bench firmware that comes with this Quantbench version',
      });
    }
    this.hello = hello;
    return hello;
  }

  async close(): Promise<void> {
    await this.transport.close();
  }

  private dispatch(packet: Packet): void {
    if (packet.flags & Flag.event) {
      if (packet.type === Command.boot) for (const l of this.bootListeners) l();
      return;
    }
    if (!(packet.flags & Flag.response)) return;
    const waiter = this.waiters.get(packet.seq);
    if (waiter) waiter(packet);
  }

  private nextSeq(): number {
    const s = this.seq;
    this.seq = (this.seq + 1) & 0xffff || 1;
    return s;
  }

  private send(type: number, seq: number, payload: Uint8Array): Promise<void> {
    return this.transport.write(encodeFrame(type, seq, 0, payload));
  }

  private boardError(type: number, payload: Uint8Array): DeviceError {
    const r = new PayloadReader(payload, 'error');
    const code = payload.length >= 2 ? r.u16() : 0;
    const message = new TextDecoder().decode(r.rest());
    const name = BoardErrorCode[code] ?? `E${code}`;
    const hint =
      name === 'NO_RUNTIME' ? 'flash a bench firmware built with the inference runtime'
      : name === 'NO_MODEL' || name === 'NO_UPLOAD' ? 'the board may have reset: push the model again'
      : name === 'TOO_BIG' || name === 'ARENA_TOO_SMALL' ? 'compress the model further or use a board with more memory'
      : name === 'UNKNOWN_COMMAND' ? 'the board runs older firmware: flash the current bench firmware'
      : 'see docs/protocol.md for the error codes';
    return new DeviceError(`BOARD_${name}`, `board on ${this.port} refused ${commandName[type] ?? type}: ${message}`, { hint });
  }

  /**
   * One request, one response, with a timeout per attempt and bounded retries (each
   * attempt has its own sequence number, so a late answer to an earlier one is ignored).
   */
  async request(type: number, payload: Uint8Array, options: RequestOptions = {}): Promise<Uint8Array> {
    const firstTimeoutMs = options.timeoutMs ?? this.defaults.timeoutMs ?? 1000;
    const attempts = 1 + (options.retries ?? this.defaults.retries ?? 3);
    let timeoutMs = firstTimeoutMs;
    let waitedMs = 0;
    for (let attempt = 0; attempt < attempts; attempt++) {
      if (attempt > 0) timeoutMs *= options.backoff ?? 1;
      waitedMs += timeoutMs;
      if (this.closedError) throw this.closedError;
      const seq = this.nextSeq();
      const answer = await new Promise<Packet | DeviceError | undefined>((resolve) => {
        const done = (value: Packet | DeviceError | undefined) => {
          clearTimeout(timer);
          this.waiters.delete(seq);
          this.closeListeners.delete(onClose);
          resolve(value);
        };
        const timer = setTimeout(() => done(undefined), timeoutMs);
        const onClose = (error: DeviceError) => done(error);
        this.closeListeners.add(onClose);
        this.waiters.set(seq, (packet) => {
          if (packet.type === type || packet.flags & Flag.error) done(packet);
        });
        this.send(type, seq, payload).catch((error: Error) => done(this.writeError(error)));
      });
      if (answer instanceof DeviceError) throw answer;
      if (answer === undefined) continue;
      if (answer.flags & Flag.error) throw this.boardError(type, answer.payload);
      return answer.payload;
    }
    throw new DeviceError(
      'DEVICE_TIMEOUT',
      `no answer from ${this.port} to ${commandName[type] ?? type} after ${attempts} attempts` +
        (timeoutMs === firstTimeoutMs ? ` of ${Math.round(timeoutMs)} ms` : ` (${Math.round(waitedMs)} ms in all)`),
      { hint: 'check that the board runs the Quantbench bench firmware at this baud rate and that nothing else uses the port' },
    );
  }

  private writeError(error: Error): DeviceError {
    return this.closedError ?? new DeviceError('DEVICE_WRITE_FAILED', `writing to ${this.port} failed: ${error.message}`, {
      hint: 'check the cable and that the port still exists',
    });
  }

  /** Uploads a model: windowed chunks, cumulative acks, go-back-N, whole-model CRC. */
  async upload(model: Uint8Array, options: UploadOptions = {}): Promise<UploadResult> {
    const hello = this.hello ?? (await this.handshake());
    if (model.length > hello.flashBytes) {
      throw new DeviceError('BOARD_TOO_BIG', `model of ${model.length} bytes exceeds the model storage of ${hello.name} on ${this.port} (${hello.flashBytes} bytes)`, {
        hint: 'compress the model further or use a board with more flash',
      });
    }
    const started = performance.now();
    this.perSampleUs = 0;
    const crc = crc32(model);
    const begin = new PayloadReader(await this.request(Command.uploadBegin, u32le(model.length, crc)), 'UPLOAD_BEGIN');
    const maxChunk = Math.max(64, Math.min(begin.u32(), hello.maxPayload - 4));
    const stats = await sendChunks(this.chunkLink(), model, maxChunk, options);
    const end = new PayloadReader(await this.request(Command.uploadEnd, new Uint8Array(0), { timeoutMs: 1000 + model.length / 1000, retries: 3 }), 'UPLOAD_END');
    const boardCrc = end.u32();
    const arenaRequired = end.u32();
    const fits = end.u8() === 1;
    return { bytes: model.length, seconds: (performance.now() - started) / 1000, crc: boardCrc, arenaRequired, fits, ...stats };
  }

  private chunkLink(): ChunkLink {
    return {
      port: this.port,
      send: (payload, onAnswer, onWriteError) => {
        const seq = this.nextSeq();
        this.waiters.set(seq, (packet) => {
          this.waiters.delete(seq);
          onAnswer(seq, packet);
        });
        this.send(Command.uploadChunk, seq, payload).catch((error: Error) => onWriteError(this.writeError(error)));
        return seq;
      },
      forget: (seq) => this.waiters.delete(seq),
      onBoot: (listener) => {
        this.bootListeners.add(listener);
        return () => this.bootListeners.delete(listener);
      },
      onClose: (listener) => {
        this.closeListeners.add(listener);
        return () => this.closeListeners.delete(listener);
      },
      boardError: (payload) => this.boardError(Command.uploadChunk, payload),
    };
  }

  async modelInfo(): Promise<ModelInfo> {
    return parseModelInfo(await this.request(Command.modelInfo, new Uint8Array(0)));
  }

  async setInput(index: number, bytes: Uint8Array): Promise<void> {
    const payload = new Uint8Array(1 + bytes.length);
    payload[0] = index;
    payload.set(bytes, 1);
    await this.request(Command.setInput, payload);
  }

  async invoke(options: RequestOptions = {}): Promise<InvokeResult> {
    const r = new PayloadReader(await this.request(Command.invoke, new Uint8Array(0), { timeoutMs: 10000, retries: 1, ...options }), 'INVOKE');
    return { cycles: r.u64(), us: r.u64(), outputs: r.rest() };
  }

  /**
   * One invoke, and how long one takes by the board's clock or the host's, whichever is
   * longer: an emulated board's clock runs on virtual time, and a loaded host stretches
   * every request, so a request that runs many inferences is waited for by this.
   */
  private async timedInvoke(): Promise<{ one: InvokeResult; invokeMs: number }> {
    const started = performance.now();
    const one = await this.invoke();
    return { one, invokeMs: Math.max(one.us / 1000, performance.now() - started) };
  }

  /** Times a request by the last invoke: a board can be much slower than the link. */
  async benchmark(runs: number, warmup = 1, options: RequestOptions = {}): Promise<BenchmarkResult> {
    if (!Number.isInteger(runs) || runs < 1 || runs > BENCHMARK_MAX_RUNS) {
      throw new DeviceError('DEVICE_BAD_ARGUMENT', `benchmark runs must be 1 to ${BENCHMARK_MAX_RUNS}, got ${runs}`, { hint: 'pass --bench N with N up to 1000' });
    }
    const { invokeMs } = await this.timedInvoke();
    const expectedMs = (runs + warmup) * invokeMs;
    const payload = new Uint8Array(4);
    new DataView(payload.buffer).setUint16(0, warmup, true);
    new DataView(payload.buffer).setUint16(2, runs, true);
    return parseBenchmark(await this.request(Command.benchmark, payload, { timeoutMs: 2000 + 3 * expectedMs, retries: 1, backoff: 2, ...options }));
  }

  /**
   * Profiles `runs` inferences per operator (PROFILE from operator 0), then pages through
   * the rest when the board's frame cannot hold every operator at once.
   */
  async profile(runs?: number, options: RequestOptions = {}): Promise<BoardProfile> {
    if (runs !== undefined && (!Number.isInteger(runs) || runs < 1 || runs > BENCHMARK_MAX_RUNS)) {
      throw new DeviceError('DEVICE_BAD_ARGUMENT', `profile runs must be 1 to ${BENCHMARK_MAX_RUNS}, got ${runs}`, { hint: 'profile with a few runs, e.g. 5' });
    }
    const { one, invokeMs } = await this.timedInvoke();
    // Without a count: about 0.2 s of board time, at least 3 and at most 50 runs. Minima
    // over more runs shed more of a host's scheduling noise; under QEMU every run is equal.
    runs ??= Math.max(3, Math.min(50, Math.floor(200_000 / Math.max(1, one.us))));
    // A profiled run and a plain run per round.
    const expectedMs = 2 * runs * invokeMs;
    const ask = (first: number) => {
      const payload = new Uint8Array(4);
      new DataView(payload.buffer).setUint16(0, first, true);
      new DataView(payload.buffer).setUint16(2, runs, true);
      return payload;
    };
    const page = parseProfile(await this.request(Command.profile, ask(0), { timeoutMs: 2000 + 3 * expectedMs, retries: 1, backoff: 2, ...options }));
    const ops = [...page.entries];
    while (ops.length < page.opCount) {
      const next = parseProfile(await this.request(Command.profile, ask(ops.length), options));
      if (next.first !== ops.length || next.entries.length === 0) {
        throw new DeviceError('DEVICE_PROTOCOL', `board on ${this.port} answered PROFILE from operator ${next.first} with ${next.entries.length} operators when asked from ${ops.length}`, {
          hint: 'the firmware and this client disagree on the PROFILE layout; update the firmware',
        });
      }
      ops.push(...next.entries);
    }
    return { runs, invokeCycles: page.invokeCycles, invokeUs: page.invokeUs, profiledCycles: page.profiledCycles, ops };
  }

  /** Runs samples (each: all inputs' bytes concatenated) in as few frames as fit. */
  async evaluate(samples: Uint8Array[], outputBytes: number, onBatch?: (done: number) => void): Promise<EvaluateBatch> {
    const hello = this.hello ?? (await this.handshake());
    if (samples.length === 0) return { cycles: 0, us: 0, outputs: [] };
    const inputBytes = samples[0]!.length;
    const room = hello.maxPayload;
    const perFrame = Math.min(0xffff, Math.floor((room - 2) / Math.max(1, inputBytes)), Math.floor((room - 18) / Math.max(1, outputBytes)));
    if (perFrame < 1) {
      throw new DeviceError('DEVICE_SAMPLE_TOO_LARGE', `one sample (${inputBytes} input bytes, ${outputBytes} output bytes) does not fit a frame of ${room} bytes on ${this.port}`, {
        hint: 'evaluate with SET_INPUT and INVOKE per sample, or use firmware with a larger QB_MAX_PAYLOAD',
      });
    }
    let cycles = 0;
    let us = 0;
    const outputs: Uint8Array[] = [];
    for (let at = 0; at < samples.length; ) {
      // The first frame carries one sample to learn the board's speed; later timeouts
      // follow it, so a slow board is waited for and a dead one is noticed.
      const count = this.perSampleUs === 0 ? 1 : perFrame;
      const batch = samples.slice(at, at + count);
      at += batch.length;
      const payload = new Uint8Array(2 + batch.length * inputBytes);
      new DataView(payload.buffer).setUint16(0, batch.length, true);
      batch.forEach((s, i) => payload.set(s, 2 + i * inputBytes));
      const first = this.perSampleUs === 0;
      const timeoutMs = first ? 10000 : 2000 + (3 * batch.length * this.perSampleUs) / 1000;
      // A retry doubles the wait: a board that is only slowed (a busy host, an emulator
      // sharing its cores) catches up, while a dead one is still given up on in 15 waits.
      const sentAt = performance.now();
      const answer = await this.request(Command.evaluate, payload, { timeoutMs, retries: first ? 1 : 3, backoff: 2 });
      const wallUs = (performance.now() - sentAt) * 1000;
      const r = new PayloadReader(answer, 'EVALUATE');
      const returned = r.u16();
      const c = r.u64();
      const u = r.u64();
      cycles += c;
      us += u;
      this.perSampleUs = Math.max(this.perSampleUs, Math.max(u, wallUs) / Math.max(1, returned), 1);
      for (let i = 0; i < returned; i++) outputs.push(r.bytesOf(outputBytes));
      onBatch?.(outputs.length);
    }
    return { cycles, us, outputs };
  }

  /** Asks the board to reset; resolves once it has announced itself again. */
  async reset(timeoutMs = 3000): Promise<void> {
    const booted = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.bootListeners.delete(onBoot);
        reject(new DeviceError('DEVICE_TIMEOUT', `board on ${this.port} did not come back within ${timeoutMs} ms after RESET`, { hint: 'power-cycle the board' }));
      }, timeoutMs);
      const onBoot = () => {
        clearTimeout(timer);
        this.bootListeners.delete(onBoot);
        resolve();
      };
      this.bootListeners.add(onBoot);
    });
    await this.request(Command.reset, new Uint8Array(0), { retries: 0 });
    await booted;
  }
}
