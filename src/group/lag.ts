/**
 * Consumer lag from a committed offset, one rule for every place that shows it (the
 * `sluice_group_lag` metric, `Sluice.groupLag`, `sluice groups --describe`).
 *
 * Reset tools do not always commit a real offset: kafkajs' `admin.resetOffsets` commits -2
 * (earliest) or -1 (latest), the ListOffsets sentinels, and Kafka stores what it is given.
 * librdkafka reads those back as its logical offsets BEGINNING and END, so the group resumes
 * at the log start or the log end. Lag therefore counts from there:
 *   -2  -> the log start offset (lag = high watermark - log start)
 *   -1  -> the log end offset   (lag 0)
 *   any other negative value is no offset at all: no lag is reported.
 * A committed offset past the high watermark (a topic re-created, a log truncated) lags 0.
 */

/** ListOffsets' EARLIEST timestamp, committed by reset tools to mean "the log start". */
export const COMMITTED_EARLIEST = -2;
/** ListOffsets' LATEST timestamp, committed by reset tools to mean "the log end". */
export const COMMITTED_LATEST = -1;

/** The offset a committed value stands for, or null when it names none. */
export function resolveCommittedOffset(committed: number, logStartOffset: number, logEndOffset: number): number | null {
  if (committed >= 0) return committed;
  if (committed === COMMITTED_EARLIEST) return logStartOffset;
  if (committed === COMMITTED_LATEST) return logEndOffset;
  return null;
}

/** Records between the (resolved) committed offset and the log end; null when there is no offset. */
export function consumerLag(committed: number, logStartOffset: number, logEndOffset: number): number | null {
  const at = resolveCommittedOffset(committed, logStartOffset, logEndOffset);
  return at === null ? null : Math.max(0, logEndOffset - at);
}

/** How a committed value is shown: the number, and what a sentinel means. */
export function describeCommittedOffset(committed: number): string {
  if (committed === COMMITTED_EARLIEST) return '-2(earliest)';
  if (committed === COMMITTED_LATEST) return '-1(latest)';
  return String(committed);
}
