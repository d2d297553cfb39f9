/** Kafka's rules for topic names (org.apache.kafka.common.internals.Topic). */
import { InvalidTopicError } from './errors.js';

export const MAX_TOPIC_NAME_LENGTH = 249;
const LEGAL = /^[a-zA-Z0-9._-]+$/;

export function validateTopicName(name: unknown): asserts name is string {
  if (typeof name !== 'string' || name.length === 0) throw new InvalidTopicError(String(name), 'it is empty');
  if (name === '.' || name === '..') throw new InvalidTopicError(name, "'.' and '..' are not allowed");
  if (name.length > MAX_TOPIC_NAME_LENGTH) {
    throw new InvalidTopicError(name, `it is ${name.length} characters long, the limit is ${MAX_TOPIC_NAME_LENGTH}`);
  }
  if (!LEGAL.test(name)) throw new InvalidTopicError(name, 'only ASCII letters, digits, ".", "_" and "-" are allowed');
}

/** Kafka refuses topics whose names differ only by '.' versus '_' (their metric names collide). */
export function collidingTopic(name: string, existing: Iterable<string>): string | undefined {
  const norm = name.replace(/\./g, '_');
  for (const other of existing) if (other !== name && other.replace(/\./g, '_') === norm) return other;
  return undefined;
}

export function isInternalTopic(name: string): boolean {
  return name === '__consumer_offsets' || name === '__transaction_state';
}
