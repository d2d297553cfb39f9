/**
 * The TCP server of the Kafka wire protocol: frames in, handler, frames out.
 * See server.ts for what it owns and types.ts for the contract with the handler layer.
 */
export { KafkaServer, SERVER_DEFAULTS } from './server.js';
export { installSignalHandlers, type SignalHandlerOptions } from './signals.js';
export { FrameDecoder, FrameSizeError, MIN_FRAME_BYTES } from './framing.js';
export type {
  CloseOptions,
  ConnectionInfo,
  Handler,
  Logger,
  RejectionCounts,
  RequestContext,
  Response,
  ServerOptions,
  ServerStats,
} from './types.js';
