/**
 * Reader and Writer: every primitive round trips; every malformed input throws a
 * ProtocolError that names the field, and hostile lengths fail before allocating.
 */
import { describe, expect, it } from 'vitest';
import { ProtocolError, REF_THRESHOLD, Reader, UUID_ZERO, Writer } from '../src/protocol/index.js';

const hex = (s: string) => Buffer.from(s.replace(/[\s|]/g, ''), 'hex');

function written(fn: (w: Writer) => void): Buffer {
  const w = new Writer(4); // tiny, to exercise growth
  fn(w);
  return w.toBuffer();
}

function protocolError(fn: () => unknown, field?: string): ProtocolError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(ProtocolError);
  const e = caught as ProtocolError;
  expect(e.code).toBe('ERR_SLUICE_PROTOCOL');
  if (field !== undefined) expect(e.field).toBe(field);
  return e;
}

describe('fixed-width integers and floats', () => {
  it('round trip at their limits, big-endian', () => {
    const b = written((w) => {
      w.int8(-128);
      w.int8(127);
      w.int16(-32768);
      w.uint16(65535);
      w.int32(-2147483648);
      w.uint32(4294967295);
      w.float64(-1.5);
      w.bool(true);
      w.bool(false);
    });
    expect(b).toEqual(hex('80 7f | 8000 | ffff | 80000000 | ffffffff | bff8000000000000 | 01 00'));
    const r = new Reader(b);
    expect([r.int8(), r.int8(), r.int16(), r.uint16(), r.int32(), r.uint32(), r.float64(), r.bool(), r.bool()]).toEqual([
      -128, 127, -32768, 65535, -2147483648, 4294967295, -1.5, true, false,
    ]);
    expect(r.remaining).toBe(0);
  });

  it('int64 is exact to 2^53 and clamps beyond the int64 range', () => {
    const values = [0, 1, -1, 2 ** 32, -(2 ** 32), 2 ** 53 - 1, -(2 ** 53 - 1), 1234567890123, -1234567890123];
    const b = written((w) => values.forEach((v) => w.int64(v)));
    const r = new Reader(b);
    expect(values.map(() => r.int64())).toEqual(values);
    expect(written((w) => w.int64(-1))).toEqual(hex('ffffffffffffffff'));
    expect(written((w) => w.int64(2 ** 32 + 5))).toEqual(hex('0000000100000005'));
    expect(written((w) => w.int64(2 ** 64))).toEqual(hex('7fffffffffffffff'));
    expect(written((w) => w.int64(-(2 ** 64)))).toEqual(hex('8000000000000000'));
    expect(new Reader(hex('7fffffffffffffff')).int64()).toBe(2 ** 63); // nearest double
    expect(() => written((w) => w.int64(1.5))).toThrow(ProtocolError);
  });
});

describe('varints', () => {
  it('unsigned varint: 1 to 5 bytes, LSB group first', () => {
    const cases: [number, string][] = [
      [0, '00'],
      [1, '01'],
      [127, '7f'],
      [128, '8001'],
      [300, 'ac02'],
      [16383, 'ff7f'],
      [16384, '808001'],
      [2 ** 31, '8080808008'],
      [4294967295, 'ffffffff0f'],
    ];
    for (const [v, h] of cases) {
      expect(written((w) => w.uvarint(v))).toEqual(hex(h));
      expect(new Reader(hex(h)).uvarint()).toBe(v);
    }
  });

  it('zigzag varint and varlong', () => {
    const ints = [0, -1, 1, -64, 63, 64, -2147483648, 2147483647];
    for (const v of ints) expect(new Reader(written((w) => w.varint(v))).varint()).toBe(v);
    expect(written((w) => w.varint(-1))).toEqual(hex('01'));
    expect(written((w) => w.varint(1))).toEqual(hex('02'));
    const longs = [0, -1, 1, 2 ** 31, -(2 ** 31) - 1, 2 ** 40 + 3, -(2 ** 45), 2 ** 52, -(2 ** 52)];
    for (const v of longs) expect(new Reader(written((w) => w.varlong(v))).varlong()).toBe(v);
    // int64 max in zigzag: ten bytes, fe ff ... ff 01
    expect(new Reader(hex('feffffffffffffffff01')).varlong()).toBe(2 ** 63);
  });

  it('bad varints: truncated, too long, over 32 bits', () => {
    expect(protocolError(() => new Reader(hex('80')).uvarint('x'), 'x').message).toMatch(/truncated/);
    protocolError(() => new Reader(hex('ffffffff1f')).uvarint('x'), 'x'); // > 2^32 - 1
    protocolError(() => new Reader(hex('ffffffffff01')).uvarint('x'), 'x'); // 6 bytes
    protocolError(() => new Reader(hex('ffffffffffffffffff7f')).varlong('y'), 'y'); // > 64 bits
    protocolError(() => new Reader(hex('ffffffffffffffffffff01')).varlong('y'), 'y'); // 11 bytes
    protocolError(() => new Reader(hex('ff')).varlong('y'), 'y');
    expect(() => written((w) => w.uvarint(-1))).toThrow(ProtocolError);
  });
});

describe('strings, bytes, uuid', () => {
  it('string and compact string, with null and UTF-8', () => {
    const b = written((w) => {
      w.string('héllo', false);
      w.string(null, false);
      w.string('', false);
      w.string('日本', true);
      w.string(null, true);
      w.string('', true);
    });
    expect(b).toEqual(Buffer.concat([hex('0006'), Buffer.from('héllo'), hex('ffff 0000 07'), Buffer.from('日本'), hex('00 01')]));
    const r = new Reader(b);
    expect([
      r.string('s'),
      r.string('s', true),
      r.string('s'),
      r.compactString('s'),
      r.compactString('s', true),
      r.compactString('s'),
    ]).toEqual(['héllo', null, '', '日本', null, '']);
  });

  it('bytes are copied; records are views', () => {
    const frame = hex('00000003 aabbcc | 04 ddeeff | 00000002 0102 | 03 0304 | ffffffff | 00');
    const r = new Reader(frame);
    const b1 = r.bytes('b')!;
    const b2 = r.compactBytes('b')!;
    const rec1 = r.records('r', false)!;
    const rec2 = r.records('r', true)!;
    expect([b1, b2, rec1, rec2]).toEqual([hex('aabbcc'), hex('ddeeff'), hex('0102'), hex('0304')]);
    expect(rec1.buffer).toBe(frame.buffer);
    frame[4] = 0x00; // the copy keeps its bytes, the view sees the change
    frame[15] = 0x09;
    expect(b1).toEqual(hex('aabbcc'));
    expect(rec1).toEqual(hex('0902'));
    expect(rec2.byteOffset).toBe(frame.byteOffset + 18);
    expect(r.records('r', false)).toBeNull();
    expect(r.records('r', true)).toBeNull();
    expect(r.remaining).toBe(0);
  });

  it('uuid: 16 raw bytes as a standard uuid string', () => {
    const id = '0123abcd-4567-89ef-0011-223344556677';
    expect(written((w) => w.uuid(id))).toEqual(hex('0123abcd456789ef0011223344556677'));
    expect(new Reader(hex('0123abcd456789ef0011223344556677')).uuid()).toBe(id);
    expect(new Reader(Buffer.alloc(16)).uuid()).toBe(UUID_ZERO);
    expect(() => written((w) => w.uuid('not-a-uuid'))).toThrow(ProtocolError);
  });

  it('a string longer than int16 cannot be written non-compact', () => {
    expect(() => written((w) => w.string('x'.repeat(40000), false))).toThrow(ProtocolError);
    const b = written((w) => w.string('x'.repeat(40000), true));
    expect(new Reader(b).compactString()).toHaveLength(40000);
  });
});

describe('error paths', () => {
  it('truncated reads name the field and offset', () => {
    const e = protocolError(() => new Reader(hex('0000 00'), 1).int32('Fetch.maxWaitMs'), 'Fetch.maxWaitMs');
    expect(e.offset).toBe(1);
    expect(e.message).toContain('Fetch.maxWaitMs');
    for (const read of [
      (r: Reader) => r.int8('f'),
      (r: Reader) => r.int16('f'),
      (r: Reader) => r.int64('f'),
      (r: Reader) => r.float64('f'),
      (r: Reader) => r.uuid('f'),
      (r: Reader) => r.bool('f'),
    ]) {
      protocolError(() => read(new Reader(Buffer.alloc(0))), 'f');
    }
    protocolError(() => new Reader(hex('0005 6162')).string('f'), 'f');
    protocolError(() => new Reader(hex('06 6162')).compactString('f'), 'f');
    protocolError(() => new Reader(hex('00000005 6162')).bytes('f'), 'f');
  });

  it('a reader never reads past its window, even inside a larger buffer', () => {
    const buf = hex('00000001 00000002');
    const r = new Reader(buf, 0, 6);
    expect(r.int32()).toBe(1);
    protocolError(() => r.int32('w'), 'w');
  });

  it('negative lengths: -1 is null only where allowed, below -1 always an error', () => {
    protocolError(() => new Reader(hex('ffff')).string('s'), 's'); // null, not nullable
    protocolError(() => new Reader(hex('fffe')).string('s', true), 's');
    protocolError(() => new Reader(hex('00')).compactString('s'), 's');
    protocolError(() => new Reader(hex('ffffffff')).bytes('b'), 'b');
    protocolError(() => new Reader(hex('80000000')).bytes('b', true), 'b');
    protocolError(() => new Reader(hex('ffffffff')).arrayLength('a', false, false), 'a');
    protocolError(() => new Reader(hex('fffffff0')).arrayLength('a', true, false), 'a');
    protocolError(() => new Reader(hex('00')).arrayLength('a', false, true), 'a');
    expect(new Reader(hex('ffffffff')).arrayLength('a', true, false)).toBe(-1);
    expect(new Reader(hex('00')).arrayLength('a', true, true)).toBe(-1);
  });

  it('huge lengths and counts fail before anything is allocated', () => {
    const before = process.memoryUsage().arrayBuffers;
    for (let i = 0; i < 1000; i++) {
      protocolError(() => new Reader(hex('7fffffff 00')).bytes('b'), 'b');
      protocolError(() => new Reader(hex('ffffffff0f 00')).compactBytes('b'), 'b');
      protocolError(() => new Reader(hex('7fffffff 00000000')).arrayLength('a', false, false), 'a');
      protocolError(() => new Reader(hex('ffffffff0f')).arrayLength('a', false, true), 'a');
      protocolError(() => new Reader(hex('7fff 41')).string('s'), 's');
      protocolError(() => new Reader(hex('ffffffff0f')).skipTaggedFields('t'), 't');
    }
    // 1000 x 2 GiB would be impossible; allow noise.
    expect(process.memoryUsage().arrayBuffers - before).toBeLessThan(64 * 1024 * 1024);
  });

  it('tagged-field sections: sizes are checked', () => {
    const r = new Reader(hex('02 00 01 ff 05 03 616263 99'));
    r.skipTaggedFields();
    expect(r.remaining).toBe(1);
    protocolError(() => new Reader(hex('01 00 05 ff')).skipTaggedFields('t'), 't');
  });
});

describe('Writer chunks', () => {
  it('small buffers are copied, large ones referenced; earlier chunks survive growth', () => {
    const small = Buffer.alloc(REF_THRESHOLD - 1, 1);
    const large = Buffer.alloc(REF_THRESHOLD, 2);
    const w = new Writer(8);
    w.int32(7);
    w.bytes(large, false);
    w.bytes(small, false);
    for (let i = 0; i < 1000; i++) w.int32(i); // grows the scratch several times
    w.ref(large);
    const { chunks, length } = w.finish();
    expect(chunks.filter((c) => c === large)).toHaveLength(2);
    expect(chunks.reduce((n, c) => n + c.length, 0)).toBe(length);
    const flat = Buffer.concat(chunks);
    const r = new Reader(flat);
    expect(r.int32()).toBe(7);
    expect(r.bytes()).toEqual(large);
    expect(r.bytes()).toEqual(small);
    for (let i = 0; i < 1000; i++) expect(r.int32()).toBe(i);
    expect(r.view(REF_THRESHOLD)).toEqual(large);
    expect(r.remaining).toBe(0);
  });

  it('finish() can be called again after more writes', () => {
    const w = new Writer();
    w.int8(1);
    expect(w.finish().length).toBe(1);
    w.int8(2);
    const { chunks, length } = w.finish();
    expect(length).toBe(2);
    expect(Buffer.concat(chunks)).toEqual(hex('0102'));
    expect(w.toBuffer()).toEqual(hex('0102'));
  });
});
