import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import zlib from 'node:zlib';
import { cobsDecode, cobsEncode } from '../../core/device/cobs';
import { crc32 } from '../../core/device/crc32';
import { decodeFrame, encodeFrame, FrameReader } from '../../core/device/frame';
import { Command, Flag } from '../../core/device/protocol';

function seeded(n: number, seed: number): Uint8Array {
  let s = seed;
  return Uint8Array.from({ length: n }, () => ((s = (s * 1103515245 + 12345) >>> 0) >>> 16) & 0xff);
}

describe('crc32', () => {
  it('matches zlib on text, binary and continued input', () => {
    assert.equal(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
    const data = seeded(10000, 7);
    assert.equal(crc32(data), zlib.crc32(data));
    assert.equal(crc32(data.subarray(5000), crc32(data.subarray(0, 5000))), zlib.crc32(data));
  });
});

describe('COBS', () => {
  it('round-trips edge cases without producing a zero byte', () => {
    const cases = [
      new Uint8Array(0),
      Uint8Array.of(0),
      Uint8Array.of(0, 0),
      new Uint8Array(253).fill(1),
      new Uint8Array(254).fill(1),
      new Uint8Array(255).fill(1),
      new Uint8Array(600).fill(0),
      seeded(5000, 3),
    ];
    for (const input of cases) {
      const encoded = cobsEncode(input);
      assert.ok(!encoded.includes(0), `zero in encoding of ${input.length} bytes`);
      assert.ok(encoded.length <= input.length + Math.floor(input.length / 254) + 1);
      assert.deepEqual(cobsDecode(encoded), input);
    }
  });

  it('rejects an encoding that runs past its end', () => {
    assert.equal(cobsDecode(Uint8Array.of(5, 1, 2)), undefined);
  });
});

describe('frames', () => {
  it('encodes header, payload and CRC and decodes them back', () => {
    const payload = seeded(300, 1);
    const frame = encodeFrame(Command.invoke, 0x1234, Flag.response, payload);
    assert.equal(frame.at(-1), 0);
    assert.ok(!frame.subarray(0, -1).includes(0));
    const packet = decodeFrame(frame.subarray(0, -1));
    assert.deepEqual(packet, { version: 1, type: Command.invoke, seq: 0x1234, flags: Flag.response, payload });
  });

  it('drops a frame with one flipped bit', () => {
    const frame = encodeFrame(Command.hello, 1, 0, seeded(40, 2));
    for (let i = 0; i < frame.length - 1; i++) {
      const damaged = frame.slice(0, -1);
      damaged[i] ^= 0x10;
      if (damaged[i] === 0) continue;
      assert.equal(decodeFrame(damaged), undefined, `flip at ${i} went unnoticed`);
    }
  });

  it('resynchronises after a boot banner, a frame cut by a reset and split reads', () => {
    const a = encodeFrame(Command.hello, 1, Flag.response, seeded(20, 4));
    const b = encodeFrame(Command.invoke, 2, Flag.response, seeded(700, 5));
    const banner = new TextEncoder().encode('\r\nBoot ROM v1.2 (c) board\r\nreset cause: WDT\r\n');
    const stream = new Uint8Array([...banner, ...a.subarray(0, 9), ...banner, 0, ...b, ...a]);
    const reader = new FrameReader();
    const packets = [];
    for (let i = 0; i < stream.length; i += 7) packets.push(...reader.push(stream.subarray(i, i + 7)));
    assert.deepEqual(packets.map((p) => p.seq), [2, 1]);
    assert.equal(reader.dropped, 1);
  });

  it('skips an over-long run of bytes and recovers at the next delimiter', () => {
    const reader = new FrameReader(100);
    const packets = reader.push(new Uint8Array([...new Uint8Array(500).fill(0x41), 0, ...encodeFrame(Command.reset, 9, Flag.response, new Uint8Array(0))]));
    assert.deepEqual(packets.map((p) => p.seq), [9]);
  });
});
