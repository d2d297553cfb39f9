/**
 * Declarative message definitions: what one Kafka request or response body holds, field by
 * field, across all its versions. The files in messages/ are data in this shape; engine.ts
 * is the one encoder/decoder that reads them.
 *
 * Ranges are `[min]` (min and later) or `[min, max]` (inclusive), as Kafka's "3+" / "0-4".
 * A field is on the wire in the versions of `versions`, in declaration order, unless it is
 * tagged (`tag` + `taggedVersions`): then it lives in the struct's tagged-field section of
 * flexible versions, and is written only when it differs from its default. Field names are
 * the schema names in camelCase (`PartitionIndex` -> `partitionIndex`).
 *
 * Defaults, used for fields absent in a version and tagged fields not sent: `default` when
 * given, else 0 / false / '' / UUID_ZERO / empty bytes / [] / a struct of defaults, and null
 * for `records`.
 *
 * The value types follow from a definition at compile time: MessageValue<typeof X> is what
 * decode returns (every field present), MessageInput<typeof X> what encode accepts (any field
 * may be left out and takes its default).
 *
 * Definitions are constant data, never mutated after load: thread-safe.
 */
export type VersionRange = readonly [min: number, max?: number];

export type ScalarType =
  | 'bool'
  | 'int8'
  | 'int16'
  | 'uint16'
  | 'int32'
  | 'uint32'
  | 'int64'
  | 'float64'
  | 'string'
  | 'bytes'
  | 'records'
  | 'uuid';

export type FieldType =
  | ScalarType
  | { readonly array: ScalarType | readonly Field[] }
  | { readonly struct: readonly Field[] };

export interface Field {
  readonly name: string;
  readonly type: FieldType;
  readonly versions: VersionRange;
  readonly nullableVersions?: VersionRange;
  readonly tag?: number;
  readonly taggedVersions?: VersionRange;
  readonly default?: number | string | boolean | null;
}

export interface MessageDef {
  readonly apiKey: number;
  /** Kafka's name, e.g. `ProduceRequest`; error messages use it. */
  readonly name: string;
  readonly validVersions: readonly [min: number, max: number];
  /** First flexible version, or 'none'. */
  readonly flexibleVersions: number | 'none';
  readonly fields: readonly Field[];
}

/** Identity; keeps the literal types of a definition so its value types can be derived. */
export function message<const D extends MessageDef>(def: D): D {
  return def;
}

export function inRange(range: VersionRange | undefined, version: number): boolean {
  if (range === undefined) return false;
  return version >= range[0] && (range[1] === undefined || version <= range[1]);
}

// ---- value types derived from definitions ----

type ScalarValue<T> = T extends 'bool'
  ? boolean
  : T extends 'string' | 'uuid'
    ? string
    : T extends 'bytes' | 'records'
      ? Buffer
      : number;

type NullIf<F> = F extends { readonly nullableVersions: VersionRange } ? null : never;

type TypeValue<T> = T extends ScalarType
  ? ScalarValue<T>
  : T extends { readonly array: infer E }
    ? E extends readonly Field[]
      ? StructValue<E>[]
      : ScalarValue<E>[]
    : T extends { readonly struct: infer S extends readonly Field[] }
      ? StructValue<S>
      : never;

export type StructValue<Fs extends readonly Field[]> = {
  -readonly [F in Fs[number] as F['name']]: TypeValue<F['type']> | NullIf<F>;
};

/** What encode accepts for records: one Buffer, or several sent back to back (zero copy). */
type ScalarInput<T> = T extends 'records' ? Uint8Array | readonly Uint8Array[] : T extends 'bytes' ? Uint8Array : ScalarValue<T>;

type TypeInput<T> = T extends ScalarType
  ? ScalarInput<T>
  : T extends { readonly array: infer E }
    ? E extends readonly Field[]
      ? readonly StructInput<E>[]
      : readonly ScalarValue<E>[]
    : T extends { readonly struct: infer S extends readonly Field[] }
      ? StructInput<S>
      : never;

export type StructInput<Fs extends readonly Field[]> = {
  [F in Fs[number] as F['name']]?: TypeInput<F['type']> | NullIf<F>;
};

/** True for the wide MessageDef type (field names unknown), false for a literal definition. */
type IsWide<D extends MessageDef> = string extends D['fields'][number]['name'] ? true : false;

/** A decoded body: every field of the definition, at its default where the version lacks it. */
export type MessageValue<D extends MessageDef> =
  IsWide<D> extends true ? Record<string, unknown> : StructValue<D['fields']>;

/** An encodable body: any field may be omitted (it takes its default). */
export type MessageInput<D extends MessageDef> =
  IsWide<D> extends true ? Record<string, unknown> : StructInput<D['fields']>;
