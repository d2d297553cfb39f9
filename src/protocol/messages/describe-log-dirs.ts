/**
 * DescribeLogDirs (key 35), v0-4, flexible from v2. What each log directory of a broker holds
 * and how large each partition's log is on disk.
 *
 *   request   topics nullable [topic | partitions [int32]]
 *   response  throttleTimeMs | errorCode (v3+) | results [errorCode | logDir | topics [name
 *             | partitions [partitionIndex, partitionSize int64, offsetLag int64, isFutureKey
 *             bool]] | totalBytes int64 (v4+) | usableBytes int64 (v4+)]
 *
 * topics null asks for every topic. totalBytes and usableBytes describe the volume the
 * directory is on (-1 when unknown).
 */
import { message, type MessageInput, type MessageValue } from '../schema.js';

export const DescribeLogDirsRequest = message({
  apiKey: 35,
  name: 'DescribeLogDirsRequest',
  validVersions: [0, 4],
  flexibleVersions: 2,
  fields: [
    {
      name: 'topics', versions: [0], nullableVersions: [0],
      type: { array: [
        { name: 'topic', type: 'string', versions: [0] },
        { name: 'partitions', type: { array: 'int32' }, versions: [0] },
      ] },
    },
  ],
});

export const DescribeLogDirsResponse = message({
  apiKey: 35,
  name: 'DescribeLogDirsResponse',
  validVersions: [0, 4],
  flexibleVersions: 2,
  fields: [
    { name: 'throttleTimeMs', type: 'int32', versions: [0] },
    { name: 'errorCode', type: 'int16', versions: [3] },
    {
      name: 'results', versions: [0],
      type: { array: [
        { name: 'errorCode', type: 'int16', versions: [0] },
        { name: 'logDir', type: 'string', versions: [0] },
        {
          name: 'topics', versions: [0],
          type: { array: [
            { name: 'name', type: 'string', versions: [0] },
            {
              name: 'partitions', versions: [0],
              type: { array: [
                { name: 'partitionIndex', type: 'int32', versions: [0] },
                { name: 'partitionSize', type: 'int64', versions: [0] },
                { name: 'offsetLag', type: 'int64', versions: [0] },
                { name: 'isFutureKey', type: 'bool', versions: [0] },
              ] },
            },
          ] },
        },
        { name: 'totalBytes', type: 'int64', versions: [4], default: -1 },
        { name: 'usableBytes', type: 'int64', versions: [4], default: -1 },
      ] },
    },
  ],
});

export type DescribeLogDirsRequestData = MessageValue<typeof DescribeLogDirsRequest>;
export type DescribeLogDirsRequestInput = MessageInput<typeof DescribeLogDirsRequest>;
export type DescribeLogDirsResponseData = MessageValue<typeof DescribeLogDirsResponse>;
export type DescribeLogDirsResponseInput = MessageInput<typeof DescribeLogDirsResponse>;
