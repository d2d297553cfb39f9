/**
 * Sluice: an event streaming broker and embeddable log engine that speaks Kafka's protocol.
 * This is the package root; see README.md for the guide.
 */
export * from './storage/index.js';
export * from './record/index.js';
export { crc32c, crc32cIsHardware, scanBatches } from './native.js';
