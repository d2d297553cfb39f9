/**
 * Request and response headers. A frame on the wire is `int32 size` + header + body; the
 * functions here see the frame WITHOUT its size prefix (the server strips and adds it).
 *
 *   request header v1   apiKey int16 | apiVersion int16 | correlationId int32 |
 *                       clientId nullable string (int16 length, -1 = null)
 *   request header v2   v1 + tagged fields (clientId stays a NON-compact string)
 *   (v0, without clientId, is only ControlledShutdown v0, which Sluice does not serve)
 *
 *   response header v0  correlationId int32
 *   response header v1  correlationId int32 | tagged fields
 *
 * Flexible API versions use request header v2 and response header v1, except that
 * ApiVersions responses ALWAYS use response header v0 (a client parses the reply before it
 * knows which versions the broker speaks). For an unknown API, or a known API at a version
 * above Kafka 3.8.0's, the request header is read as v1: that is what lets the broker read
 * the correlation id of any request and answer an ApiVersions of a future version with the
 * v0 fallback. Stateless: thread-safe.
 */
import type { RequestHeaderInfo } from './errors.js';
import { Reader, Writer } from './primitives.js';

export type RequestHeader = RequestHeaderInfo;

/** Kafka 3.8.0: apiKey -> [highest version, first flexible version (Infinity = none)]. */
const KNOWN: ReadonlyMap<number, readonly [number, number]> = new Map<number, readonly [number, number]>([
  [0, [11, 9]], // Produce
  [1, [16, 12]], // Fetch
  [2, [8, 6]], // ListOffsets
  [3, [12, 9]], // Metadata
  [8, [9, 8]], // OffsetCommit
  [9, [9, 6]], // OffsetFetch
  [10, [5, 3]], // FindCoordinator
  [11, [9, 6]], // JoinGroup
  [12, [4, 4]], // Heartbeat
  [13, [5, 4]], // LeaveGroup
  [14, [5, 4]], // SyncGroup
  [15, [5, 5]], // DescribeGroups
  [16, [5, 3]], // ListGroups
  [17, [1, Infinity]], // SaslHandshake
  [18, [3, 3]], // ApiVersions
  [19, [7, 5]], // CreateTopics
  [20, [6, 4]], // DeleteTopics
  [21, [2, 2]], // DeleteRecords
  [22, [5, 2]], // InitProducerId
  [23, [4, 4]], // OffsetForLeaderEpoch
  [24, [5, 3]], // AddPartitionsToTxn
  [25, [4, 3]], // AddOffsetsToTxn
  [26, [4, 3]], // EndTxn
  [27, [1, 1]], // WriteTxnMarkers
  [28, [4, 3]], // TxnOffsetCommit
  [29, [3, 2]], // DescribeAcls
  [30, [3, 2]], // CreateAcls
  [31, [3, 2]], // DeleteAcls
  [32, [4, 4]], // DescribeConfigs
  [33, [2, 2]], // AlterConfigs
  [35, [4, 2]], // DescribeLogDirs
  [36, [2, 2]], // SaslAuthenticate
  [37, [3, 2]], // CreatePartitions
  [42, [2, 2]], // DeleteGroups
  [43, [2, 2]], // ElectLeaders
  [44, [1, 1]], // IncrementalAlterConfigs
  [45, [0, 0]], // AlterPartitionReassignments
  [46, [0, 0]], // ListPartitionReassignments
  [47, [0, Infinity]], // OffsetDelete
  [60, [1, 0]], // DescribeCluster
  [61, [0, 0]], // DescribeProducers
  [65, [0, 0]], // DescribeTransactions
  [66, [1, 0]], // ListTransactions
]);

export const API_VERSIONS_KEY = 18;

/** True when `apiVersion` of `apiKey` uses the flexible (KIP-482) encodings. */
export function isFlexible(apiKey: number, apiVersion: number): boolean {
  const k = KNOWN.get(apiKey);
  return k !== undefined && apiVersion >= k[1] && apiVersion <= k[0];
}

/** 2 for flexible versions, else 1 (also for unknown APIs and versions). */
export function requestHeaderVersion(apiKey: number, apiVersion: number): number {
  return isFlexible(apiKey, apiVersion) ? 2 : 1;
}

/** 1 for flexible versions, else 0; always 0 for ApiVersions. */
export function responseHeaderVersion(apiKey: number, apiVersion: number): number {
  return apiKey !== API_VERSIONS_KEY && isFlexible(apiKey, apiVersion) ? 1 : 0;
}

/**
 * Reads the request header at the start of `frame` (the bytes after the size prefix).
 * Throws ProtocolError when the header itself is truncated or malformed; an unknown apiKey
 * or version is not an error here (the numbers are returned as read).
 */
export function decodeRequestHeader(frame: Buffer): RequestHeader {
  const r = new Reader(frame);
  const apiKey = r.int16('RequestHeader.requestApiKey');
  const apiVersion = r.int16('RequestHeader.requestApiVersion');
  const correlationId = r.int32('RequestHeader.correlationId');
  const clientId = r.string('RequestHeader.clientId', true);
  const headerVersion = requestHeaderVersion(apiKey, apiVersion);
  if (headerVersion === 2) r.skipTaggedFields('RequestHeader.taggedFields');
  return { apiKey, apiVersion, correlationId, clientId, headerVersion, headerLength: r.pos };
}

/** Writes a request header (v1 or v2, chosen from the API and version). For clients and tests. */
export function encodeRequestHeader(
  apiKey: number,
  apiVersion: number,
  correlationId: number,
  clientId: string | null,
  writer: Writer,
): void {
  writer.int16(apiKey);
  writer.int16(apiVersion);
  writer.int32(correlationId);
  writer.string(clientId, false);
  if (requestHeaderVersion(apiKey, apiVersion) === 2) writer.uvarint(0);
}

/** Writes the response header (v0 or v1, chosen from the API and version). */
export function encodeResponseHeader(
  apiKey: number,
  apiVersion: number,
  correlationId: number,
  writer: Writer,
): void {
  writer.int32(correlationId);
  if (responseHeaderVersion(apiKey, apiVersion) === 1) writer.uvarint(0); // no tagged fields
}

/** Reads a response header; returns the correlation id and where the body starts. */
export function decodeResponseHeader(
  apiKey: number,
  apiVersion: number,
  frame: Buffer,
): { correlationId: number; headerLength: number } {
  const r = new Reader(frame);
  const correlationId = r.int32('ResponseHeader.correlationId');
  if (responseHeaderVersion(apiKey, apiVersion) === 1) r.skipTaggedFields('ResponseHeader.taggedFields');
  return { correlationId, headerLength: r.pos };
}
