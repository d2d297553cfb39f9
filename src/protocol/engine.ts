/**
 * The one generic encoder/decoder for every message definition (schema.ts).
 *
 * A definition is compiled once per version into a plan: for each struct, the fields on the
 * wire in that version (in order, each with an integer kind, its nullability and whether the
 * compact encodings apply), the tagged fields by tag, and the fields the version lacks. The
 * hot loops switch on the kind; no closures, no per-call string building. Plans are cached
 * per definition and are immutable once built.
 *
 *   struct (non-flexible)  field1 field2 ...
 *   struct (flexible)      field1 field2 ... taggedFields
 *   taggedFields           uvarint count, then per field: uvarint tag | uvarint size | data
 *
 * Decode: every field of the definition appears in the result; fields absent in the version
 * and tagged fields not sent hold their defaults; unknown tags are skipped. Encode: a field
 * left undefined takes its default; fields the version lacks are ignored; a tagged field is
 * written only when it differs from its default. A null where the version does not allow
 * one is a ProtocolError. Stateless apart from the plan cache: thread-safe.
 */
import { ProtocolError } from './errors.js';
import { Reader, UUID_ZERO, Writer } from './primitives.js';
import {
  inRange,
  type Field,
  type MessageDef,
  type MessageInput,
  type MessageValue,
  type ScalarType,
} from './schema.js';

const enum Kind {
  Bool,
  Int8,
  Int16,
  Uint16,
  Int32,
  Uint32,
  Int64,
  Float64,
  String,
  Bytes,
  Records,
  Uuid,
  Array, // of scalars: `elem` is the element kind
  StructArray,
  Struct,
}

const enum Mode {
  Absent,
  Regular,
  Tagged,
}

const SCALAR_KIND: Record<ScalarType, Kind> = {
  bool: Kind.Bool,
  int8: Kind.Int8,
  int16: Kind.Int16,
  uint16: Kind.Uint16,
  int32: Kind.Int32,
  uint32: Kind.Uint32,
  int64: Kind.Int64,
  float64: Kind.Float64,
  string: Kind.String,
  bytes: Kind.Bytes,
  records: Kind.Records,
  uuid: Kind.Uuid,
};

interface FieldPlan {
  readonly name: string;
  /** `ProduceRequest.topicData[].name`, for errors. */
  readonly path: string;
  readonly kind: Kind;
  readonly elem: Kind;
  readonly sub: StructPlan | null;
  readonly mode: Mode;
  readonly tag: number;
  readonly nullable: boolean;
  readonly compact: boolean;
  /** Default of a scalar field (arrays and structs are built fresh each time). */
  readonly scalarDefault: unknown;
}

interface StructPlan {
  /** Every field, in declaration order (so decoded objects share one shape). */
  readonly all: readonly FieldPlan[];
  readonly regular: readonly FieldPlan[];
  /** Sorted by tag, as the tagged section must be. */
  readonly tagged: readonly FieldPlan[];
  readonly byTag: ReadonlyMap<number, FieldPlan>;
  readonly flexible: boolean;
  readonly path: string;
  /** `<path>.taggedFields`, for errors (built once, not per struct decoded). */
  readonly taggedPath: string;
}

const EMPTY = Buffer.alloc(0);

function scalarDefault(type: ScalarType, d: Field['default']): unknown {
  if (d !== undefined) return d;
  switch (type) {
    case 'bool':
      return false;
    case 'string':
      return '';
    case 'uuid':
      return UUID_ZERO;
    case 'bytes':
      return EMPTY;
    case 'records':
      return null;
    default:
      return 0;
  }
}

function compileStruct(fields: readonly Field[], version: number, flexible: boolean, path: string): StructPlan {
  const all: FieldPlan[] = [];
  for (const f of fields) {
    const fpath = `${path}.${f.name}`;
    const t = f.type;
    let kind: Kind;
    let elem: Kind = Kind.Bool;
    let sub: StructPlan | null = null;
    let dflt: unknown = null;
    if (typeof t === 'string') {
      kind = SCALAR_KIND[t];
      dflt = scalarDefault(t, f.default);
    } else if ('array' in t) {
      if (typeof t.array === 'string') {
        kind = Kind.Array;
        elem = SCALAR_KIND[t.array];
      } else {
        kind = Kind.StructArray;
        sub = compileStruct(t.array, version, flexible, `${fpath}[]`);
      }
    } else {
      kind = Kind.Struct;
      sub = compileStruct(t.struct, version, flexible, fpath);
      if (f.nullableVersions !== undefined) throw new Error(`${fpath}: nullable structs are not supported`);
    }
    const tagged = flexible && f.tag !== undefined && inRange(f.taggedVersions, version);
    const mode = tagged ? Mode.Tagged : inRange(f.versions, version) && f.tag === undefined ? Mode.Regular : Mode.Absent;
    all.push({
      name: f.name,
      path: fpath,
      kind,
      elem,
      sub,
      mode,
      tag: f.tag ?? -1,
      nullable: inRange(f.nullableVersions, version),
      compact: flexible,
      scalarDefault: dflt,
    });
  }
  const tagged = all.filter((f) => f.mode === Mode.Tagged).sort((a, b) => a.tag - b.tag);
  return {
    all,
    regular: all.filter((f) => f.mode === Mode.Regular),
    tagged,
    byTag: new Map(tagged.map((f) => [f.tag, f])),
    flexible,
    path,
    taggedPath: `${path}.taggedFields`,
  };
}

const plans = new WeakMap<MessageDef, StructPlan[]>();

function planFor(def: MessageDef, version: number): StructPlan {
  let byVersion = plans.get(def);
  if (byVersion === undefined) {
    byVersion = [];
    plans.set(def, byVersion);
  }
  const cached = byVersion[version];
  if (cached !== undefined) return cached;
  const [min, max] = def.validVersions;
  if (!Number.isInteger(version) || version < min || version > max) {
    throw new ProtocolError(`version ${version} outside ${min}-${max}`, def.name, -1);
  }
  const flexible = def.flexibleVersions !== 'none' && version >= def.flexibleVersions;
  const plan = compileStruct(def.fields, version, flexible, def.name);
  byVersion[version] = plan;
  return plan;
}

/** True when `version` of `def` uses the compact encodings and tagged fields. */
export function isFlexibleVersion(def: MessageDef, version: number): boolean {
  return def.flexibleVersions !== 'none' && version >= def.flexibleVersions;
}

// ---- defaults ----

function defaultOf(f: FieldPlan): unknown {
  switch (f.kind) {
    case Kind.Array:
    case Kind.StructArray:
      return [];
    case Kind.Struct:
      return defaultStruct(f.sub!);
    default:
      return f.scalarDefault;
  }
}

function defaultStruct(plan: StructPlan): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  for (const f of plan.all) o[f.name] = defaultOf(f);
  return o;
}

function isDefault(f: FieldPlan, v: unknown): boolean {
  switch (f.kind) {
    case Kind.Array:
    case Kind.StructArray:
      return Array.isArray(v) && v.length === 0;
    case Kind.Struct: {
      const o = v as Record<string, unknown>;
      for (const sf of f.sub!.all) {
        const sv = o[sf.name];
        if (sv !== undefined && !isDefault(sf, sv)) return false;
      }
      return true;
    }
    case Kind.Bytes:
      return v !== null && (v as Uint8Array).length === 0 && f.scalarDefault !== null;
    default:
      return v === f.scalarDefault;
  }
}

/** A body of `def` at `version` with every field at its default. */
export function defaults<D extends MessageDef>(def: D, version: number): MessageValue<D> {
  return defaultStruct(planFor(def, version)) as MessageValue<D>;
}

// ---- decode ----

/** Decodes a body of `def` at `version` from `reader` (which it leaves after the body). */
export function decode<D extends MessageDef>(def: D, version: number, reader: Reader): MessageValue<D> {
  return decodeStruct(planFor(def, version), reader) as MessageValue<D>;
}

function decodeStruct(plan: StructPlan, r: Reader): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  const all = plan.all;
  for (let i = 0; i < all.length; i++) {
    const f = all[i]!;
    o[f.name] = f.mode === Mode.Regular ? readField(f, r) : defaultOf(f);
  }
  if (plan.flexible) readTagged(plan, r, o);
  return o;
}

function readTagged(plan: StructPlan, r: Reader, o: Record<string, unknown>): void {
  const field = plan.taggedPath;
  const count = r.uvarint(field);
  if (count > r.remaining) throw new ProtocolError(`tagged field count ${count}`, field, r.pos);
  for (let i = 0; i < count; i++) {
    const tag = r.uvarint(field);
    const at = r.pos;
    const size = r.uvarint(field);
    r.need(size, field);
    const end = r.pos + size;
    const f = plan.byTag.get(tag);
    if (f !== undefined) {
      // Read inside a window of exactly `size` bytes: a field cannot run past its own size.
      const inner = new Reader(r.buf, r.pos, end);
      o[f.name] = readField(f, inner);
      if (inner.pos !== end) {
        throw new ProtocolError(`tagged field ${tag} has ${end - inner.pos} bytes left over`, f.path, at);
      }
    }
    r.pos = end; // unknown tags are skipped
  }
}

function readField(f: FieldPlan, r: Reader): unknown {
  switch (f.kind) {
    case Kind.Array: {
      const n = r.arrayLength(f.path, f.nullable, f.compact);
      if (n < 0) return null;
      const out = new Array<unknown>(n);
      for (let i = 0; i < n; i++) out[i] = readScalar(f.elem, f.compact, false, f.path, r);
      return out;
    }
    case Kind.StructArray: {
      const n = r.arrayLength(f.path, f.nullable, f.compact);
      if (n < 0) return null;
      const out = new Array<unknown>(n);
      const sub = f.sub!;
      for (let i = 0; i < n; i++) out[i] = decodeStruct(sub, r);
      return out;
    }
    case Kind.Struct:
      return decodeStruct(f.sub!, r);
    default:
      return readScalar(f.kind, f.compact, f.nullable, f.path, r);
  }
}

function readScalar(kind: Kind, compact: boolean, nullable: boolean, path: string, r: Reader): unknown {
  switch (kind) {
    case Kind.Bool:
      return r.bool(path);
    case Kind.Int8:
      return r.int8(path);
    case Kind.Int16:
      return r.int16(path);
    case Kind.Uint16:
      return r.uint16(path);
    case Kind.Int32:
      return r.int32(path);
    case Kind.Uint32:
      return r.uint32(path);
    case Kind.Int64:
      return r.int64(path);
    case Kind.Float64:
      return r.float64(path);
    case Kind.String:
      return compact ? r.compactString(path, nullable) : r.string(path, nullable);
    case Kind.Bytes:
      return compact ? r.compactBytes(path, nullable) : r.bytes(path, nullable);
    case Kind.Records:
      return r.records(path, compact, nullable);
    case Kind.Uuid:
      return r.uuid(path);
    default:
      throw new Error(`${path}: kind ${kind} is not a scalar`);
  }
}

// ---- encode ----

/** Encodes `value`, a body of `def` at `version`, onto `writer`. */
export function encode<D extends MessageDef>(def: D, version: number, value: MessageInput<D>, writer: Writer): void {
  encodeStruct(planFor(def, version), value as Record<string, unknown>, writer);
}

function encodeStruct(plan: StructPlan, o: Record<string, unknown>, w: Writer): void {
  const regular = plan.regular;
  for (let i = 0; i < regular.length; i++) {
    const f = regular[i]!;
    writeField(f, o[f.name], w);
  }
  if (plan.flexible) writeTagged(plan, o, w);
}

function writeTagged(plan: StructPlan, o: Record<string, unknown>, w: Writer): void {
  const tagged = plan.tagged;
  let count = 0;
  for (let i = 0; i < tagged.length; i++) {
    const f = tagged[i]!;
    const v = o[f.name];
    if (v !== undefined && !isDefault(f, v)) count++;
  }
  w.uvarint(count);
  if (count === 0) return;
  for (let i = 0; i < tagged.length; i++) {
    const f = tagged[i]!;
    const v = o[f.name];
    if (v === undefined || isDefault(f, v)) continue;
    const inner = new Writer(64);
    writeField(f, v, inner);
    w.uvarint(f.tag);
    w.uvarint(inner.length);
    w.append(inner);
  }
}

function writeField(f: FieldPlan, v: unknown, w: Writer): void {
  if (v === undefined) v = defaultOf(f);
  if (v === null) {
    if (!f.nullable) throw new ProtocolError('null in a version where the field is not nullable', f.path, -1);
    if (f.compact) w.uvarint(0);
    else if (f.kind === Kind.String) w.int16(-1);
    else w.int32(-1);
    return;
  }
  switch (f.kind) {
    case Kind.Array: {
      const a = v as readonly unknown[];
      writeLength(a.length, f.compact, w);
      for (let i = 0; i < a.length; i++) writeScalar(f.elem, f.compact, a[i], f.path, w);
      return;
    }
    case Kind.StructArray: {
      const a = v as readonly Record<string, unknown>[];
      writeLength(a.length, f.compact, w);
      const sub = f.sub!;
      for (let i = 0; i < a.length; i++) encodeStruct(sub, a[i]!, w);
      return;
    }
    case Kind.Struct:
      encodeStruct(f.sub!, v as Record<string, unknown>, w);
      return;
    default:
      writeScalar(f.kind, f.compact, v, f.path, w);
  }
}

function writeLength(n: number, compact: boolean, w: Writer): void {
  if (compact) w.uvarint(n + 1);
  else w.int32(n);
}

function writeScalar(kind: Kind, compact: boolean, v: unknown, path: string, w: Writer): void {
  switch (kind) {
    case Kind.Bool:
      return w.bool(v as boolean);
    case Kind.Int8:
      return w.int8(v as number);
    case Kind.Int16:
      return w.int16(v as number);
    case Kind.Uint16:
      return w.uint16(v as number);
    case Kind.Int32:
      return w.int32(v as number);
    case Kind.Uint32:
      return w.uint32(v as number);
    case Kind.Int64:
      return w.int64(v as number);
    case Kind.Float64:
      return w.float64(v as number);
    case Kind.String:
      if (typeof v !== 'string') throw new ProtocolError(`not a string: ${typeof v}`, path, -1);
      return w.string(v, compact);
    case Kind.Bytes:
      return w.bytes(v as Uint8Array, compact);
    case Kind.Records:
      if (Array.isArray(v)) {
        // Several views (say, from two segments) sent back to back as one records field.
        const parts = v as readonly Uint8Array[];
        let total = 0;
        for (const p of parts) total += p.length;
        writeLength(total, compact, w);
        for (const p of parts) w.raw(p);
        return;
      }
      return w.bytes(v as Uint8Array, compact);
    case Kind.Uuid:
      return w.uuid(v as string);
    default:
      throw new Error(`${path}: kind ${kind} is not a scalar`);
  }
}
