/**
 * The --format of `sluice consume`: a template where %k is the key, %v the value, %o the
 * offset, %p the partition, %t the topic, %T the timestamp (ms), %h the headers (k=v,k2=v2),
 * %% a percent sign, and \n \t \\ the usual escapes. Each record is printed as the template
 * followed by a newline. A null key or value prints as `null`.
 */
import type { ConsumedRecord } from '../wire-client/consumer.js';
import { UsageError } from './args.js';

type Part = string | ((r: ConsumedRecord) => string);

const text = (b: Buffer | null) => (b === null ? 'null' : b.toString('utf8'));

const FIELDS: Record<string, (r: ConsumedRecord) => string> = {
  k: (r) => text(r.key),
  v: (r) => text(r.value),
  o: (r) => String(r.offset),
  p: (r) => String(r.partition),
  t: (r) => r.topic,
  T: (r) => String(r.timestamp),
  h: (r) => r.headers.map((h) => `${h.key}=${text(h.value)}`).join(','),
};

const ESCAPES: Record<string, string> = { n: '\n', t: '\t', '\\': '\\' };

/** Compiles a template into a function from a record to its output line. */
export function compileFormat(template: string): (r: ConsumedRecord) => string {
  const parts: Part[] = [];
  let literal = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    const next = template[i + 1];
    if (c === '%' || c === '\\') {
      if (next === undefined) throw new UsageError(`invalid value '${template}' for --format: it ends with a lone '${c}'`);
      i++;
      if (c === '%' && next === '%') literal += '%';
      else if (c === '%' && FIELDS[next] !== undefined) {
        if (literal !== '') parts.push(literal);
        literal = '';
        parts.push(FIELDS[next]!);
      } else if (c === '\\' && ESCAPES[next] !== undefined) literal += ESCAPES[next];
      else {
        const allowed = c === '%' ? '%k %v %o %p %t %T %h %%' : '\\n \\t \\\\';
        throw new UsageError(`invalid value '${template}' for --format: unknown '${c}${next}' (allowed: ${allowed})`);
      }
    } else literal += c;
  }
  if (literal !== '') parts.push(literal);
  return (r) => {
    let s = '';
    for (const p of parts) s += typeof p === 'string' ? p : p(r);
    return s + '\n';
  };
}
