/**
 * SaslHandshake (key 17), v0-1, never flexible. Sluice runs without SASL: it answers
 * UNSUPPORTED_SASL_MECHANISM with an empty mechanism list, a clean "no" a client reports.
 *
 *   request   mechanism string
 *   response  errorCode int16 | mechanisms [string]
 *
 * v0 is followed by raw SASL tokens; v1 by SaslAuthenticate requests.
 */
import { message, type MessageInput, type MessageValue } from '../schema.js';

export const SaslHandshakeRequest = message({
  apiKey: 17,
  name: 'SaslHandshakeRequest',
  validVersions: [0, 1],
  flexibleVersions: 'none',
  fields: [
    { name: 'mechanism', type: 'string', versions: [0] },
  ],
});

export const SaslHandshakeResponse = message({
  apiKey: 17,
  name: 'SaslHandshakeResponse',
  validVersions: [0, 1],
  flexibleVersions: 'none',
  fields: [
    { name: 'errorCode', type: 'int16', versions: [0] },
    { name: 'mechanisms', type: { array: 'string' }, versions: [0] },
  ],
});

export type SaslHandshakeRequestData = MessageValue<typeof SaslHandshakeRequest>;
export type SaslHandshakeRequestInput = MessageInput<typeof SaslHandshakeRequest>;
export type SaslHandshakeResponseData = MessageValue<typeof SaslHandshakeResponse>;
export type SaslHandshakeResponseInput = MessageInput<typeof SaslHandshakeResponse>;
