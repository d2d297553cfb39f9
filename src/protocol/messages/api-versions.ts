/**
 * ApiVersions (key 18), v0-3, flexible from v3. The first request most clients send.
 *
 *   request   v3+: clientSoftwareName compact string | clientSoftwareVersion compact string
 *             (v0-2 have an empty body)
 *   response  errorCode int16 | apiKeys [apiKey int16, minVersion int16, maxVersion int16]
 *             | throttleTimeMs int32 (v1+) | tagged (v3+): 0 supportedFeatures,
 *             1 finalizedFeaturesEpoch, 2 finalizedFeatures, 3 zkMigrationReady
 *
 * The response ALWAYS travels with response header v0 (see header.ts). A broker that does not
 * support the version asked for answers with errorCode UNSUPPORTED_VERSION in a v0 body that
 * still lists its apiKeys, so the client can retry with a version both sides speak.
 */
import { message, type MessageInput, type MessageValue } from '../schema.js';

export const ApiVersionsRequest = message({
  apiKey: 18,
  name: 'ApiVersionsRequest',
  validVersions: [0, 3],
  flexibleVersions: 3,
  fields: [
    { name: 'clientSoftwareName', type: 'string', versions: [3] },
    { name: 'clientSoftwareVersion', type: 'string', versions: [3] },
  ],
});

export const ApiVersionsResponse = message({
  apiKey: 18,
  name: 'ApiVersionsResponse',
  validVersions: [0, 3],
  flexibleVersions: 3,
  fields: [
    { name: 'errorCode', type: 'int16', versions: [0] },
    {
      name: 'apiKeys', versions: [0],
      type: { array: [
        { name: 'apiKey', type: 'int16', versions: [0] },
        { name: 'minVersion', type: 'int16', versions: [0] },
        { name: 'maxVersion', type: 'int16', versions: [0] },
      ] },
    },
    { name: 'throttleTimeMs', type: 'int32', versions: [1] },
    {
      name: 'supportedFeatures', versions: [3], tag: 0, taggedVersions: [3],
      type: { array: [
        { name: 'name', type: 'string', versions: [3] },
        { name: 'minVersion', type: 'int16', versions: [3] },
        { name: 'maxVersion', type: 'int16', versions: [3] },
      ] },
    },
    { name: 'finalizedFeaturesEpoch', type: 'int64', versions: [3], tag: 1, taggedVersions: [3], default: -1 },
    {
      name: 'finalizedFeatures', versions: [3], tag: 2, taggedVersions: [3],
      type: { array: [
        { name: 'name', type: 'string', versions: [3] },
        { name: 'maxVersionLevel', type: 'int16', versions: [3] },
        { name: 'minVersionLevel', type: 'int16', versions: [3] },
      ] },
    },
    { name: 'zkMigrationReady', type: 'bool', versions: [3], tag: 3, taggedVersions: [3], default: false },
  ],
});

export type ApiVersionsRequestData = MessageValue<typeof ApiVersionsRequest>;
export type ApiVersionsRequestInput = MessageInput<typeof ApiVersionsRequest>;
export type ApiVersionsResponseData = MessageValue<typeof ApiVersionsResponse>;
export type ApiVersionsResponseInput = MessageInput<typeof ApiVersionsResponse>;
