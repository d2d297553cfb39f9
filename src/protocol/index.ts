/**
 * Kafka wire protocol codec: primitives, headers, one definition per API, one generic
 * engine, and the registry the server uses (decodeRequest / encodeResponse).
 */
export * from './errors.js';
export * from './primitives.js';
export * from './header.js';
export * from './schema.js';
export * from './engine.js';
export * from './apis.js';
export * from './messages/index.js';
