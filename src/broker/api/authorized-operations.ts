/**
 * Authorized operations as Kafka answers them without an authorizer (KIP-430): every
 * operation the resource type supports (Kafka's AclEntry.supportedOperations), as a bit field
 * with bit n set for AclOperation code n, when the request asks; Integer.MIN_VALUE otherwise.
 *
 *   AclOperation codes: READ 3, WRITE 4, CREATE 5, DELETE 6, ALTER 7, DESCRIBE 8,
 *   CLUSTER_ACTION 9, DESCRIBE_CONFIGS 10, ALTER_CONFIGS 11, IDEMPOTENT_WRITE 12
 */
import { AUTHORIZED_OPERATIONS_OMITTED } from './context.js';

const bits = (...codes: number[]) => codes.reduce((field, c) => field | (1 << c), 0);
const [READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE] = [3, 4, 5, 6, 7, 8, 9, 10, 11, 12];

/** 3576: READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS. */
export const TOPIC_OPERATIONS = bits(READ, WRITE, CREATE, DELETE, ALTER, DESCRIBE, DESCRIBE_CONFIGS, ALTER_CONFIGS);
/** 8096: CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE. */
export const CLUSTER_OPERATIONS = bits(CREATE, ALTER, DESCRIBE, CLUSTER_ACTION, DESCRIBE_CONFIGS, ALTER_CONFIGS, IDEMPOTENT_WRITE);
/** 328: READ, DELETE, DESCRIBE. */
export const GROUP_OPERATIONS = bits(READ, DELETE, DESCRIBE);

/** The field for a response: all supported operations when asked, else "not provided". */
export function authorizedOperations(asked: boolean | undefined, supported: number): number {
  return asked ? supported : AUTHORIZED_OPERATIONS_OMITTED;
}
