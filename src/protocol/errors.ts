/**
 * Errors raised by the wire codec. Each has a stable string `code` (callers never match on
 * message text) and the Kafka error code a broker would answer with.
 *
 *   ProtocolError            bytes that do not decode: a read past the end of the frame, a
 *                            negative or oversized length, a bad varint, a null where the
 *                            version forbids it, trailing garbage. Names the field being read
 *                            and the byte offset. Kafka closes the connection on these (the
 *                            request cannot be trusted enough to answer); `errorCode` is
 *                            INVALID_REQUEST (42) for callers that prefer to answer.
 *   UnknownApiError          a request header whose apiKey Sluice does not serve. A
 *                            ProtocolError (Kafka closes the connection too).
 *   UnsupportedVersionError  a known API at a version outside the advertised range. The
 *                            header decoded fine: answer UNSUPPORTED_VERSION (35); for
 *                            ApiVersions answer with a v0 body that lists the versions.
 *
 * Errors thrown after the request header decoded carry it in `header`, so the server can log
 * the correlation id and client id.
 */
import { ErrorCode } from './error-codes.js';

/** What decodeRequestHeader returns; repeated here so errors.ts has no imports but codes. */
export interface RequestHeaderInfo {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
  /** 1 or 2 (0 is only ControlledShutdown v0, which Sluice does not serve). */
  headerVersion: number;
  /** Bytes the header took: the body starts at this offset of the frame. */
  headerLength: number;
}

export class ProtocolError extends Error {
  override readonly name: string = 'ProtocolError';
  readonly code: string = 'ERR_SLUICE_PROTOCOL';
  readonly errorCode: number = ErrorCode.INVALID_REQUEST;
  /** Field being read or written, e.g. `ProduceRequest.topicData[].name` or `int32`. */
  readonly field: string;
  /** Byte offset in the buffer where the failing read started (-1 when encoding). */
  readonly offset: number;
  /** The request header, when the error came after it decoded. */
  header: RequestHeaderInfo | undefined;

  constructor(message: string, field: string, offset: number, options?: { cause?: unknown }) {
    super(`${message} (field ${field}, offset ${offset})`, options);
    this.field = field;
    this.offset = offset;
  }
}

export class UnknownApiError extends ProtocolError {
  override readonly name = 'UnknownApiError';
  override readonly code = 'ERR_SLUICE_UNKNOWN_API';
  readonly apiKey: number;

  constructor(header: RequestHeaderInfo) {
    super(`unknown api key ${header.apiKey}`, 'RequestHeader.requestApiKey', 0);
    this.apiKey = header.apiKey;
    this.header = header;
  }
}

export class UnsupportedVersionError extends Error {
  override readonly name = 'UnsupportedVersionError';
  readonly code = 'ERR_SLUICE_UNSUPPORTED_VERSION';
  readonly errorCode: number = ErrorCode.UNSUPPORTED_VERSION;
  readonly apiKey: number;
  readonly apiVersion: number;
  /** The range Sluice advertises for this API. */
  readonly minVersion: number;
  readonly maxVersion: number;
  readonly header: RequestHeaderInfo;

  constructor(name: string, header: RequestHeaderInfo, minVersion: number, maxVersion: number) {
    super(
      `${name} (api key ${header.apiKey}) version ${header.apiVersion} is not supported; ` +
        `supported ${minVersion}-${maxVersion}`,
    );
    this.apiKey = header.apiKey;
    this.apiVersion = header.apiVersion;
    this.minVersion = minVersion;
    this.maxVersion = maxVersion;
    this.header = header;
  }
}
