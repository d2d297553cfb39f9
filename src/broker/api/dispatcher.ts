/**
 * Turns each request frame into a response: decodes it with the protocol registry, runs the
 * API's handler, encodes the answer. Unknown API keys close the connection (as Kafka does);
 * a known API at a version outside the advertised range gets UNSUPPORTED_VERSION (for
 * ApiVersions, the v0 answer listing what is supported, so clients can fall back).
 */
import type { Handler, RequestContext, Response } from '../../server/index.js';
import { ErrorCode } from '../../protocol/error-codes.js';
import { UUID_ZERO } from '../../protocol/primitives.js';
import { UnsupportedVersionError } from '../../protocol/errors.js';
import { advertisedVersions, decodeRequest, encodeResponse, type ApiKey } from '../../protocol/apis.js';
import type { BrokerContext } from './context.js';
import { errorCodesIn } from '../../observability/metrics.js';
import { logRequest } from './request-log.js';
import { APIS } from '../../protocol/apis.js';

/** Kafka's name of an API key ('Produce', 'Fetch', ...), for metrics labels. */
export function apiName(apiKey: number): string {
  return APIS.get(apiKey)?.name ?? `api-${apiKey}`;
}
import { handleAlterConfigs, handleDescribeConfigs, handleIncrementalAlterConfigs } from './configs.js';
import { handleCreatePartitions, handleCreateTopics, handleDeleteRecords, handleDeleteTopics } from './admin.js';
import {
  handleDescribeCluster,
  handleFindCoordinator,
  handleInitProducerId,
  handleOffsetForLeaderEpoch,
  handleSaslHandshake,
} from './cluster.js';
import { handleFetch } from './fetch.js';
import {
  handleDeleteGroups,
  handleDescribeGroups,
  handleHeartbeat,
  handleJoinGroup,
  handleLeaveGroup,
  handleListGroups,
  handleOffsetCommit,
  handleOffsetDelete,
  handleOffsetFetch,
  handleSyncGroup,
} from './groups.js';
import { handleListOffsets } from './list-offsets.js';
import { handleDescribeLogDirs } from './log-dirs.js';
import { elementBudget, SMALL_REQUEST_ELEMENTS } from './limits.js';
import { handleMetadata } from './metadata.js';
import { handleProduce } from './produce.js';
import { handleAlterPartitionReassignments, handleElectLeaders, handleListPartitionReassignments } from './reassignment.js';
import {
  handleAddOffsetsToTxn,
  handleAddPartitionsToTxn,
  handleDescribeProducers,
  handleDescribeTransactions,
  handleEndTxn,
  handleWriteTxnMarkers,
  handleListTransactions,
  handleTransactionalInitProducerId,
  handleTxnOffsetCommit,
} from './transactions.js';

const API_VERSIONS = 18;

/* eslint-disable @typescript-eslint/no-explicit-any */
type Body = any;

function apiVersionsBody(errorCode: number): Body {
  return {
    errorCode,
    apiKeys: advertisedVersions(),
    throttleTimeMs: 0,
  };
}

/**
 * Kafka handles one request at a time per connection, so a request sees what the ones before
 * it on the connection did. Here each request starts once the one before has *applied* its
 * effects: Produce after its appends (its fsync wait may overlap the next request), Fetch,
 * JoinGroup and SyncGroup at once (they wait without changing anything the next one reads),
 * everything else when it has answered. Responses still go out in order (the server).
 */
const applying = new WeakMap<object, Promise<void>>();

async function run(ctx: BrokerContext, apiKey: number, version: number, body: Body, req: RequestContext): Promise<Body | null> {
  const before = applying.get(req.connection) ?? Promise.resolve();
  let release!: () => void;
  applying.set(req.connection, new Promise<void>((r) => (release = r)));
  await before;
  try {
    return await runApplied(ctx, apiKey, version, body, req, release);
  } finally {
    release();
  }
}

async function runApplied(ctx: BrokerContext, apiKey: number, version: number, body: Body, req: RequestContext, applied: () => void): Promise<Body | null> {
  const client = { clientId: req.clientId ?? '', clientHost: `/${req.connection.remoteAddress}` };
  switch (apiKey) {
    case 0:
      return handleProduce(ctx, body, version, applied, req.clientId);
    case 1: {
      const fetched = handleFetch(ctx, body, version, req.signal);
      applied();
      return fetched;
    }
    case 2:
      return handleListOffsets(ctx, body, version);
    case 3:
      return handleMetadata(ctx, body, version, UUID_ZERO, req.clientId);
    case 8:
      return handleOffsetCommit(ctx, body, version);
    case 9:
      return handleOffsetFetch(ctx, body, version);
    case 10:
      return handleFindCoordinator(ctx, body, version);
    case 11: {
      const joined = handleJoinGroup(ctx, body, version, client);
      applied();
      return joined;
    }
    case 12:
      return handleHeartbeat(ctx, body);
    case 13:
      return handleLeaveGroup(ctx, body, version);
    case 14: {
      const synced = handleSyncGroup(ctx, body);
      applied();
      return synced;
    }
    case 15:
      return handleDescribeGroups(ctx, body);
    case 16:
      return handleListGroups(ctx, body);
    case 17:
      return handleSaslHandshake();
    case API_VERSIONS:
      return apiVersionsBody(ErrorCode.NONE);
    case 19:
      return handleCreateTopics(ctx, body, UUID_ZERO);
    case 20:
      return handleDeleteTopics(ctx, body, version, UUID_ZERO);
    case 21:
      return handleDeleteRecords(ctx, body);
    case 22:
      return body.transactionalId !== null ? handleTransactionalInitProducerId(ctx, body, version) : handleInitProducerId(ctx, body);
    case 23:
      return handleOffsetForLeaderEpoch(ctx, body);
    case 24:
      return handleAddPartitionsToTxn(ctx, body, version);
    case 25:
      return handleAddOffsetsToTxn(ctx, body, version);
    case 26:
      return handleEndTxn(ctx, body, version);
    case 27:
      return handleWriteTxnMarkers(ctx, body);
    case 28:
      return handleTxnOffsetCommit(ctx, body, version);
    case 32:
      return handleDescribeConfigs(ctx, body);
    case 33:
      return handleAlterConfigs(ctx, body);
    case 35:
      return handleDescribeLogDirs(ctx, body, version);
    case 37:
      return handleCreatePartitions(ctx, body);
    case 42:
      return handleDeleteGroups(ctx, body);
    case 43:
      return handleElectLeaders(ctx, body, version);
    case 44:
      return handleIncrementalAlterConfigs(ctx, body);
    case 45:
      return handleAlterPartitionReassignments(ctx, body);
    case 46:
      return handleListPartitionReassignments(ctx, body);
    case 47:
      return handleOffsetDelete(ctx, body);
    case 60:
      return handleDescribeCluster(ctx, body);
    case 61:
      return handleDescribeProducers(ctx, body);
    case 65:
      return handleDescribeTransactions(ctx, body);
    case 66:
      return handleListTransactions(ctx, body);
    default:
      throw new Error(`no handler for api key ${apiKey}`);
  }
}

/** The server's Handler for a broker context. */
export function createDispatcher(ctx: BrokerContext): Handler {
  return async (req: RequestContext): Promise<Response | null> => {
    let decoded;
    try {
      decoded = decodeRequest(req.frame);
    } catch (err) {
      if (err instanceof UnsupportedVersionError) {
        // ApiVersions at a version we do not know: answer v0 with the list (KIP-511 fallback).
        if (req.apiKey === API_VERSIONS) return encodeResponse(API_VERSIONS, 0, req.correlationId, apiVersionsBody(ErrorCode.UNSUPPORTED_VERSION));
        // Other APIs are only sent at versions a client picked from that list: like Kafka,
        // treat anything else as a broken client and close the connection.
        throw err;
      }
      throw err;
    }
    const { header, body } = decoded;
    if (decoded.trailingBytes > 0) {
      // Not an error, as in Kafka: the frame size bounds the request (see decodeRequest).
      ctx.logger?.debug?.(
        { api: apiName(header.apiKey), version: header.apiVersion, clientId: header.clientId, trailingBytes: decoded.trailingBytes },
        'bytes after the request body ignored',
      );
    }
    // The decoded body and the answer built from it are held until the answer is encoded:
    // that is what the element budget counts (limits.ts). Small requests, the everyday ones,
    // never wait for it (so a few large long polls cannot hold up ordinary clients).
    const cost = decoded.elements > SMALL_REQUEST_ELEMENTS ? decoded.elements : 0;
    const budget = elementBudget(ctx);
    if (cost > 0 && !budget.tryAcquire(cost)) await budget.acquire(cost, req.signal);
    try {
      const started = performance.now();
      let answer: Body | null;
      try {
        answer = await run(ctx, header.apiKey, header.apiVersion, body, req);
      } catch (err) {
        ctx.metrics?.observe(apiName(header.apiKey), (performance.now() - started) / 1000, [ErrorCode.UNKNOWN_SERVER_ERROR]);
        throw err;
      }
      const response = answer === null ? null : encodeResponse(header.apiKey as ApiKey, header.apiVersion, header.correlationId, answer);
      ctx.metrics?.observe(apiName(header.apiKey), (performance.now() - started) / 1000, answer === null ? [] : errorCodesIn(answer));
      if (answer !== null) logRequest(ctx, header.apiKey, header.clientId, body, answer);
      return response;
    } finally {
      if (cost > 0) budget.release(cost);
    }
  };
}
