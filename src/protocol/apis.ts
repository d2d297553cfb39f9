/**
 * The API registry (apiKey -> definitions and the versions Sluice advertises) and the two
 * calls the server makes per frame: decodeRequest and encodeResponse.
 *
 *   frame      int32 size | header | body       the server reads and strips the size;
 *                                               decodeRequest sees header + body
 *   response   header | body                    encodeResponse returns these chunks; the
 *                                               server writes the int32 size before them
 *                                               (or asks for it: { sizePrefix: true })
 *
 * Advertised ranges are Kafka 3.8.0's full ranges. Produce v0-2 and Fetch v0-3 carry
 * message sets of formats 0/1, which the handlers convert to and from the RecordBatch v2
 * the log stores (broker/api/legacy-format.ts). Stateless: thread-safe.
 */
import { decode, encode } from './engine.js';
import { ProtocolError, UnknownApiError, UnsupportedVersionError } from './errors.js';
import { decodeRequestHeader, decodeResponseHeader, encodeRequestHeader, encodeResponseHeader, type RequestHeader } from './header.js';
import { Reader, Writer, type Chunks } from './primitives.js';
import type { MessageDef, MessageInput, MessageValue } from './schema.js';
import * as m from './messages/index.js';

/** Kafka's API keys for the APIs Sluice serves. */
export const ApiKey = {
  Produce: 0,
  Fetch: 1,
  ListOffsets: 2,
  Metadata: 3,
  OffsetCommit: 8,
  OffsetFetch: 9,
  FindCoordinator: 10,
  JoinGroup: 11,
  Heartbeat: 12,
  LeaveGroup: 13,
  SyncGroup: 14,
  DescribeGroups: 15,
  ListGroups: 16,
  SaslHandshake: 17,
  ApiVersions: 18,
  CreateTopics: 19,
  DeleteTopics: 20,
  DeleteRecords: 21,
  InitProducerId: 22,
  OffsetForLeaderEpoch: 23,
  AddPartitionsToTxn: 24,
  AddOffsetsToTxn: 25,
  EndTxn: 26,
  WriteTxnMarkers: 27,
  TxnOffsetCommit: 28,
  DescribeConfigs: 32,
  AlterConfigs: 33,
  DescribeLogDirs: 35,
  CreatePartitions: 37,
  DeleteGroups: 42,
  ElectLeaders: 43,
  IncrementalAlterConfigs: 44,
  AlterPartitionReassignments: 45,
  ListPartitionReassignments: 46,
  OffsetDelete: 47,
  DescribeCluster: 60,
  DescribeProducers: 61,
  DescribeTransactions: 65,
  ListTransactions: 66,
} as const;

export type ApiKey = (typeof ApiKey)[keyof typeof ApiKey];

/** apiKey -> [request definition, response definition]. */
const DEFS = {
  0: [m.ProduceRequest, m.ProduceResponse],
  1: [m.FetchRequest, m.FetchResponse],
  2: [m.ListOffsetsRequest, m.ListOffsetsResponse],
  3: [m.MetadataRequest, m.MetadataResponse],
  8: [m.OffsetCommitRequest, m.OffsetCommitResponse],
  9: [m.OffsetFetchRequest, m.OffsetFetchResponse],
  10: [m.FindCoordinatorRequest, m.FindCoordinatorResponse],
  11: [m.JoinGroupRequest, m.JoinGroupResponse],
  12: [m.HeartbeatRequest, m.HeartbeatResponse],
  13: [m.LeaveGroupRequest, m.LeaveGroupResponse],
  14: [m.SyncGroupRequest, m.SyncGroupResponse],
  15: [m.DescribeGroupsRequest, m.DescribeGroupsResponse],
  16: [m.ListGroupsRequest, m.ListGroupsResponse],
  17: [m.SaslHandshakeRequest, m.SaslHandshakeResponse],
  18: [m.ApiVersionsRequest, m.ApiVersionsResponse],
  19: [m.CreateTopicsRequest, m.CreateTopicsResponse],
  20: [m.DeleteTopicsRequest, m.DeleteTopicsResponse],
  21: [m.DeleteRecordsRequest, m.DeleteRecordsResponse],
  22: [m.InitProducerIdRequest, m.InitProducerIdResponse],
  23: [m.OffsetForLeaderEpochRequest, m.OffsetForLeaderEpochResponse],
  24: [m.AddPartitionsToTxnRequest, m.AddPartitionsToTxnResponse],
  25: [m.AddOffsetsToTxnRequest, m.AddOffsetsToTxnResponse],
  26: [m.EndTxnRequest, m.EndTxnResponse],
  27: [m.WriteTxnMarkersRequest, m.WriteTxnMarkersResponse],
  28: [m.TxnOffsetCommitRequest, m.TxnOffsetCommitResponse],
  32: [m.DescribeConfigsRequest, m.DescribeConfigsResponse],
  33: [m.AlterConfigsRequest, m.AlterConfigsResponse],
  35: [m.DescribeLogDirsRequest, m.DescribeLogDirsResponse],
  37: [m.CreatePartitionsRequest, m.CreatePartitionsResponse],
  42: [m.DeleteGroupsRequest, m.DeleteGroupsResponse],
  43: [m.ElectLeadersRequest, m.ElectLeadersResponse],
  44: [m.IncrementalAlterConfigsRequest, m.IncrementalAlterConfigsResponse],
  45: [m.AlterPartitionReassignmentsRequest, m.AlterPartitionReassignmentsResponse],
  46: [m.ListPartitionReassignmentsRequest, m.ListPartitionReassignmentsResponse],
  47: [m.OffsetDeleteRequest, m.OffsetDeleteResponse],
  60: [m.DescribeClusterRequest, m.DescribeClusterResponse],
  61: [m.DescribeProducersRequest, m.DescribeProducersResponse],
  65: [m.DescribeTransactionsRequest, m.DescribeTransactionsResponse],
  66: [m.ListTransactionsRequest, m.ListTransactionsResponse],
} as const satisfies Record<ApiKey, readonly [MessageDef, MessageDef]>;

type Defs = typeof DEFS;
/** Decoded request body of an API, e.g. RequestBody<0> is ProduceRequestData. */
export type RequestBody<K extends ApiKey> = MessageValue<Defs[K][0]>;
/** What encodeResponse accepts for an API, e.g. ResponseInput<1> for Fetch. */
export type ResponseInput<K extends ApiKey> = MessageInput<Defs[K][1]>;
export type RequestInput<K extends ApiKey> = MessageInput<Defs[K][0]>;
export type ResponseBody<K extends ApiKey> = MessageValue<Defs[K][1]>;

/**
 * Versions Sluice advertises where they differ from the definition's full range (none
 * today). Produce and Fetch from v0 matter beyond old clients: librdkafka before 2.8 enables
 * gzip, snappy and lz4 only when the broker lists Produce v0.
 */
const MIN_ADVERTISED: Partial<Record<ApiKey, number>> = {};

export interface ApiEntry {
  apiKey: ApiKey;
  /** `Produce`, `Fetch`, ... */
  name: string;
  request: MessageDef;
  response: MessageDef;
  /** The range Sluice advertises in ApiVersions and accepts in decodeRequest. */
  minVersion: number;
  maxVersion: number;
}

export const APIS: ReadonlyMap<number, ApiEntry> = new Map(
  (Object.entries(DEFS) as [string, readonly [MessageDef, MessageDef]][]).map(([key, [request, response]]) => {
    const apiKey = Number(key) as ApiKey;
    const entry: ApiEntry = {
      apiKey,
      name: request.name.replace(/Request$/, ''),
      request,
      response,
      minVersion: MIN_ADVERTISED[apiKey] ?? request.validVersions[0],
      maxVersion: request.validVersions[1],
    };
    return [apiKey, Object.freeze(entry)];
  }),
);

/** What ApiVersions advertises (its response's `apiKeys`, plus names), sorted by key. */
export function advertisedApis(): { apiKey: number; name: string; minVersion: number; maxVersion: number }[] {
  return [...APIS.values()]
    .map((e) => ({ apiKey: e.apiKey, name: e.name, minVersion: e.minVersion, maxVersion: e.maxVersion }))
    .sort((a, b) => a.apiKey - b.apiKey);
}

/** A decoded request; narrow on `apiKey` to get the body's type. */
export type DecodedRequest = {
  [K in ApiKey]: {
    apiKey: K;
    apiVersion: number;
    header: RequestHeader;
    body: RequestBody<K>;
    elements: number;
    /** Bytes the frame held after the body: ignored, as Kafka ignores them. */
    trailingBytes: number;
  };
}[ApiKey];

/**
 * Most array elements (topics, partitions, names, members, ... all arrays together) one
 * request may hold. A 1 MiB Metadata v0 request can name 524,287 topics, and each decoded
 * element costs the broker far more than its 2 wire bytes (a 1 MiB request of empty topic
 * names once took a broker to 2 GiB of RSS); with this cap what one request can cost is
 * bounded whatever socket.request.max.bytes allows. Kafka's largest legitimate requests
 * (a Fetch or OffsetCommit naming every partition a client has) stay far below it.
 */
export const MAX_REQUEST_ELEMENTS = 100_000;

/**
 * Decodes one request frame (the bytes after the size prefix). Throws:
 * - ProtocolError (header attached when it decoded) for truncated or malformed bytes and
 *   for more than `maxElements` array elements;
 * - UnknownApiError (a ProtocolError) for an apiKey Sluice does not serve;
 * - UnsupportedVersionError for a served API at a version outside the advertised range.
 * `records` fields in the body are views into `frame`: keep `frame` unchanged while they live.
 * Like Kafka, the frame bounds the request and bytes after the body are not an error: they
 * are counted in `trailingBytes` and otherwise ignored. librdkafka 2.3+ sends an all-topics
 * Metadata v12 request with 3 such bytes (librdkafka issue #5049), and Kafka answers it.
 */
export function decodeRequest(frame: Buffer, maxElements = MAX_REQUEST_ELEMENTS): DecodedRequest {
  const header = decodeRequestHeader(frame);
  const entry = APIS.get(header.apiKey);
  if (entry === undefined) throw new UnknownApiError(header);
  if (header.apiVersion < entry.minVersion || header.apiVersion > entry.maxVersion) {
    throw new UnsupportedVersionError(entry.name, header, entry.minVersion, entry.maxVersion);
  }
  const r = new Reader(frame, header.headerLength);
  r.maxElements = maxElements;
  let body: unknown;
  try {
    body = decode(entry.request, header.apiVersion, r);
  } catch (err) {
    const e =
      err instanceof ProtocolError
        ? err
        : new ProtocolError(`malformed request: ${String(err)}`, entry.request.name, r.pos, { cause: err });
    e.header = header;
    throw e;
  }
  return {
    apiKey: entry.apiKey,
    apiVersion: header.apiVersion,
    header,
    body,
    elements: r.elements,
    trailingBytes: r.end - r.pos,
  } as DecodedRequest;
}

export interface EncodeOptions {
  /** Put the int32 size prefix in front (default false: the server writes it). */
  sizePrefix?: boolean;
}

/**
 * Encodes response header + body for `apiKey` at `version` (any version of Kafka's full
 * range, so an UNSUPPORTED_VERSION answer can go out at the version asked). Returns chunks
 * for writev; large `records` views are among them by reference.
 */
export function encodeResponse<K extends ApiKey>(
  apiKey: K,
  version: number,
  correlationId: number,
  body: ResponseInput<K>,
  options?: EncodeOptions,
): Chunks;
/** Untyped form, for a dispatcher holding the api key as a plain number. */
export function encodeResponse(
  apiKey: number,
  version: number,
  correlationId: number,
  body: object,
  options?: EncodeOptions,
): Chunks;
export function encodeResponse(
  apiKey: number,
  version: number,
  correlationId: number,
  body: object,
  options?: EncodeOptions,
): Chunks {
  const def = defsOf(apiKey)[1];
  const w = new Writer(512);
  const prefixed = options?.sizePrefix === true;
  if (prefixed) w.int32(0);
  encodeResponseHeader(apiKey, version, correlationId, w);
  encode(def, version, body as MessageInput<MessageDef>, w);
  return finishFrame(w, prefixed);
}

/** Encodes a request (header + body); for clients and tests. */
export function encodeRequest<K extends ApiKey>(
  apiKey: K,
  version: number,
  correlationId: number,
  clientId: string | null,
  body: RequestInput<K>,
  options?: EncodeOptions,
): Chunks {
  const def = defsOf(apiKey)[0];
  const w = new Writer(512);
  const prefixed = options?.sizePrefix === true;
  if (prefixed) w.int32(0);
  encodeRequestHeader(apiKey, version, correlationId, clientId, w);
  encode(def, version, body as MessageInput<MessageDef>, w);
  return finishFrame(w, prefixed);
}

/** Decodes a response frame (after the size prefix); for clients and tests. */
export function decodeResponse<K extends ApiKey>(
  apiKey: K,
  version: number,
  frame: Buffer,
): { correlationId: number; body: ResponseBody<K> } {
  const { correlationId, headerLength } = decodeResponseHeader(apiKey, version, frame);
  const def = defsOf(apiKey)[1];
  const r = new Reader(frame, headerLength);
  const body = decode(def, version, r) as ResponseBody<K>;
  if (r.pos !== r.end) throw new ProtocolError(`${r.end - r.pos} bytes after the body`, def.name, r.pos);
  return { correlationId, body };
}

function defsOf(apiKey: number): readonly [MessageDef, MessageDef] {
  const defs = (DEFS as Record<number, readonly [MessageDef, MessageDef]>)[apiKey];
  if (defs === undefined) throw new RangeError(`unknown api key ${apiKey}`);
  return defs;
}

function finishFrame(w: Writer, prefixed: boolean): Chunks {
  const out = w.finish();
  if (prefixed) out.chunks[0]!.writeInt32BE(out.length - 4, 0);
  return out;
}

/** Alias of advertisedApis. */
export const advertisedVersions = advertisedApis;
