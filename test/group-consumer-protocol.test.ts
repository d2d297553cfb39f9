import { describe, expect, it } from 'vitest';
import {
  ConsumerProtocolError,
  decodeAssignment,
  decodeSubscription,
  encodeAssignment,
  encodeSubscription,
} from '../src/group/index.js';

/** Bytes from hex written out by hand from ConsumerProtocol*.json (spaces for reading). */
const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('ConsumerProtocolSubscription', () => {
  // version | topics: count, "a", "bc" | userData null
  const v0 = hex('0000  00000002 0001 61 0002 6263  ffffffff');
  // version 3 | topics ["t"] | userData 01 02 | owned [{t, [0, 2]}] | generation 5 | rack "r1"
  const v3 = hex('0003  00000001 0001 74  00000002 0102  00000001 0001 74 00000002 00000000 00000002  00000005  0002 7231');

  it('encodes v0 byte for byte', () => {
    expect(encodeSubscription({ topics: ['a', 'bc'], userData: null }, 0)).toEqual(v0);
  });

  it('encodes v3 byte for byte', () => {
    const sub = {
      topics: ['t'],
      userData: Buffer.from([1, 2]),
      ownedPartitions: [{ topic: 't', partitions: [0, 2] }],
      generationId: 5,
      rackId: 'r1',
    };
    expect(encodeSubscription(sub, 3)).toEqual(v3);
  });

  it('encodes v1 and v2 with their own fields only', () => {
    const sub = { topics: ['t'], userData: null, ownedPartitions: [], generationId: 9, rackId: 'x' };
    expect(encodeSubscription(sub, 1)).toEqual(hex('0001 00000001 0001 74 ffffffff 00000000'));
    expect(encodeSubscription(sub, 2)).toEqual(hex('0002 00000001 0001 74 ffffffff 00000000 00000009'));
  });

  it('decodes v0 and v3', () => {
    expect(decodeSubscription(v0)).toEqual({
      version: 0,
      topics: ['a', 'bc'],
      userData: null,
      ownedPartitions: [],
      generationId: -1,
      rackId: null,
    });
    expect(decodeSubscription(v3)).toEqual({
      version: 3,
      topics: ['t'],
      userData: Buffer.from([1, 2]),
      ownedPartitions: [{ topic: 't', partitions: [0, 2] }],
      generationId: 5,
      rackId: 'r1',
    });
  });

  it('reads a newer version with the v3 layout and ignores trailing bytes', () => {
    const v4 = Buffer.concat([v3, hex('deadbeef')]);
    v4.writeInt16BE(4, 0);
    expect(decodeSubscription(v4)).toMatchObject({ version: 4, topics: ['t'], generationId: 5, rackId: 'r1' });
  });

  it('gives defaults to fields missing at the end', () => {
    // version 3 claimed, but only the v0 fields written
    expect(decodeSubscription(hex('0003 00000001 0001 74 ffffffff'))).toMatchObject({ version: 3, ownedPartitions: [], generationId: -1, rackId: null });
  });

  it('throws ConsumerProtocolError on truncated or hostile input', () => {
    expect(() => decodeSubscription(hex('0000 00000002 0001 61'))).toThrow(ConsumerProtocolError);
    expect(() => decodeSubscription(hex('0000 7fffffff'))).toThrow(ConsumerProtocolError);
    expect(() => decodeSubscription(hex('00'))).toThrow(ConsumerProtocolError);
  });
});

describe('ConsumerProtocolAssignment', () => {
  // version 0 | [{ "t0", [0, 1] }] | userData null
  const v0 = hex('0000  00000001 0002 7430 00000002 00000000 00000001  ffffffff');
  // version 3 | [{ "a", [] }, { "b", [7] }] | userData 00
  const v3 = hex('0003  00000002 0001 61 00000000 0001 62 00000001 00000007  00000001 00');

  it('encodes byte for byte', () => {
    expect(encodeAssignment({ assignedPartitions: [{ topic: 't0', partitions: [0, 1] }], userData: null }, 0)).toEqual(v0);
    expect(
      encodeAssignment({ assignedPartitions: [{ topic: 'a', partitions: [] }, { topic: 'b', partitions: [7] }], userData: Buffer.from([0]) }, 3),
    ).toEqual(v3);
  });

  it('decodes', () => {
    expect(decodeAssignment(v0)).toEqual({ version: 0, assignedPartitions: [{ topic: 't0', partitions: [0, 1] }], userData: null });
    expect(decodeAssignment(v3)).toEqual({
      version: 3,
      assignedPartitions: [
        { topic: 'a', partitions: [] },
        { topic: 'b', partitions: [7] },
      ],
      userData: Buffer.from([0]),
    });
  });

  it('reads an empty buffer as an empty assignment', () => {
    expect(decodeAssignment(Buffer.alloc(0))).toEqual({ version: 0, assignedPartitions: [], userData: null });
  });

  it('round-trips', () => {
    const a = { version: 1, assignedPartitions: [{ topic: 'événements', partitions: [3, 1, 2] }], userData: Buffer.from('x') };
    expect(decodeAssignment(encodeAssignment(a))).toEqual(a);
  });
});
