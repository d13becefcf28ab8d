// The detail lane's value serializer: turns arguments, `this`, return values and thrown errors of
// the traced program into bounded, JSON-compatible value descriptions (format/values.ts), with
// redaction of secrets. It runs inside the traced program, so it must never change what the
// program does: it never invokes user code (getters, setters, toJSON, toString, valueOf,
// Symbol.toPrimitive, inspect hooks, Proxy traps, Error.prepareStackTrace), never mutates anything
// and never throws. Every built-in it relies on is saved when this module loads and called with
// Reflect.apply, so a program that later monkeypatches prototypes (Map.prototype.entries,
// Array.prototype[Symbol.iterator], Object.prototype setters, …) changes nothing here.
//
// One thing it does not read by default: an error's `stack`. On Node 20 `stack` looks like an own
// data property but is formatted lazily on first access (even by Object.getOwnPropertyDescriptor):
// that calls Error.prepareStackTrace and the error's name/message getters, and freezes the header
// text, so a program that later does `err.message = 'context: ' + err.message` would print a
// different stack. Callers that know the stack is already formatted (an uncaught exception Node has
// printed) can opt in with `{ errorStacks: true }`.

import { types } from 'node:util';
import { Buffer } from 'node:buffer';
import {
  REDACTED,
  type ArrayDesc,
  type ErrorDesc,
  type MapDesc,
  type ObjectDesc,
  type SetDesc,
  type ValueDesc,
} from '../format/values.js';

import { DEFAULT_SNAPSHOT_LIMITS, type SnapshotLimits } from './config.js';
export { DEFAULT_SNAPSHOT_LIMITS, type SnapshotLimits };

/** Keys whose values are recorded as "[redacted]" (matched normalized, as substrings). */
export const DEFAULT_REDACT_KEYS: readonly string[] = Object.freeze([
  'password', 'passwd', 'passphrase', 'secret', 'token', 'apikey', 'api_key', 'authorization',
  'cookie', 'set-cookie', 'privatekey', 'private_key', 'credential', 'sessionid', 'clientsecret',
]);

export interface Redaction {
  enabled: boolean;
  /** Keys as given by the user (`--redact KEY`), added to DEFAULT_REDACT_KEYS. */
  keys: string[];
}

export interface SnapshotOptions {
  /**
   * Read errors' `stack` (default false). Only safe when the stack is known to be formatted
   * already: on Node 20 the first read runs Error.prepareStackTrace and name/message getters.
   */
  errorStacks?: boolean;
}

// ---------------------------------------------------------------------------------------------
// Intrinsics, saved at load.

const ReflectApply = Reflect.apply;
const ReflectOwnKeys = Reflect.ownKeys;
const ReflectDefineProperty = Reflect.defineProperty;
const ReflectSetPrototypeOf = Reflect.setPrototypeOf;
const ObjectGetPrototypeOf = Object.getPrototypeOf;
const ObjectGetOwnPropertyDescriptor = Object.getOwnPropertyDescriptor;
const ObjectHasOwn = Object.hasOwn;
const ObjectCreate = Object.create;
const ObjectPrototype = Object.prototype;
const ArrayPrototype = Array.prototype;
const ArrayIsArray = Array.isArray;
const ArrayBufferIsView = ArrayBuffer.isView;
const StringFromCharCode = String.fromCharCode;
const JSONStringify = JSON.stringify as Method;
const BigIntCtor = BigInt;
const MathFloor = Math.floor;
const MathMin = Math.min;
const MathMax = Math.max;
const ErrorCtor = Error;
const ErrorPrototype = Error.prototype;
const MapPrototype = Map.prototype;
const SetPrototype = Set.prototype;
const BufferPrototype: object = Buffer.prototype;
const WeakRefPrototype: object | null = typeof WeakRef === 'function' ? WeakRef.prototype : null;
const TypedArrayPrototype: object = ObjectGetPrototypeOf(Uint8Array.prototype) as object;

const {
  isProxy, isMap, isSet, isDate, isRegExp, isNativeError, isTypedArray, isUint8Array, isArrayBuffer,
  isSharedArrayBuffer, isPromise, isWeakMap, isWeakSet, isBoxedPrimitive, isModuleNamespaceObject,
  isGeneratorObject, isDataView, isNumberObject, isStringObject, isBooleanObject, isBigIntObject,
  isSymbolObject,
} = types;

type Method = (this: unknown, ...args: never[]) => unknown;

function intrinsicGetter(proto: object, key: PropertyKey): Method | undefined {
  const descriptor = ObjectGetOwnPropertyDescriptor(proto, key);
  return descriptor !== undefined && typeof descriptor.get === 'function' ? (descriptor.get as Method) : undefined;
}

function callOn(fn: Method | undefined, self: unknown, args: unknown[] = []): unknown {
  if (fn === undefined) throw new ErrorCtor('intrinsic unavailable');
  return ReflectApply(fn as (...a: unknown[]) => unknown, self, args);
}

const StringSlice = String.prototype.slice as Method;
const StringCharCodeAt = String.prototype.charCodeAt as Method;
const StringIndexOf = String.prototype.indexOf as Method;
const PropertyIsEnumerable = Object.prototype.propertyIsEnumerable as Method;
const FunctionToString = Function.prototype.toString as Method;
const BigIntToString = BigInt.prototype.toString as Method;
const MapEntries = Map.prototype.entries as Method;
const MapIteratorNext = (ObjectGetPrototypeOf(new Map().entries()) as { next: Method }).next;
const MapSize = intrinsicGetter(Map.prototype, 'size');
const SetValues = Set.prototype.values as Method;
const SetIteratorNext = (ObjectGetPrototypeOf(new Set().values()) as { next: Method }).next;
const SetSize = intrinsicGetter(Set.prototype, 'size');
const DateGetTime = Date.prototype.getTime as Method;
const DateToISOString = Date.prototype.toISOString as Method;
const RegExpSource = intrinsicGetter(RegExp.prototype, 'source');
/** Flag getters in the order RegExp.prototype.flags uses; each reads the internal slot only. */
const RegExpFlags: readonly (readonly [string, Method | undefined])[] = [
  ['d', intrinsicGetter(RegExp.prototype, 'hasIndices')],
  ['g', intrinsicGetter(RegExp.prototype, 'global')],
  ['i', intrinsicGetter(RegExp.prototype, 'ignoreCase')],
  ['m', intrinsicGetter(RegExp.prototype, 'multiline')],
  ['s', intrinsicGetter(RegExp.prototype, 'dotAll')],
  ['u', intrinsicGetter(RegExp.prototype, 'unicode')],
  ['v', intrinsicGetter(RegExp.prototype, 'unicodeSets')],
  ['y', intrinsicGetter(RegExp.prototype, 'sticky')],
];
const SymbolDescription = intrinsicGetter(Symbol.prototype, 'description');
const TypedArrayLength = intrinsicGetter(TypedArrayPrototype, 'length');
const TypedArrayTag = intrinsicGetter(TypedArrayPrototype, Symbol.toStringTag);
const ArrayBufferByteLength = intrinsicGetter(ArrayBuffer.prototype, 'byteLength');
const SharedArrayBufferByteLength = typeof SharedArrayBuffer === 'function' ? intrinsicGetter(SharedArrayBuffer.prototype, 'byteLength') : undefined;
const DataViewByteLength = intrinsicGetter(DataView.prototype, 'byteLength');
const NumberValueOf = Number.prototype.valueOf as Method;
const StringValueOf = String.prototype.valueOf as Method;
const BooleanValueOf = Boolean.prototype.valueOf as Method;
const BigIntValueOf = BigInt.prototype.valueOf as Method;
const SymbolValueOf = Symbol.prototype.valueOf as Method;

const slice = (s: string, start: number, end: number): string => ReflectApply(StringSlice, s, [start, end]) as string;
const charCodeAt = (s: string, i: number): number => ReflectApply(StringCharCodeAt, s, [i]) as number;
const indexOf = (s: string, needle: string): number => ReflectApply(StringIndexOf, s, [needle]) as number;
const isEnumerable = (o: object, key: PropertyKey): boolean => ReflectApply(PropertyIsEnumerable, o, [key]) === true;

/**
 * The own property `key` of `o` when it is enumerable. Read as a descriptor (propertyIsEnumerable
 * and hasOwnProperty on a vm context's global run the sandbox's getters; getOwnPropertyDescriptor
 * does not), except `stack`, whose descriptor read would format a lazy error stack.
 */
function enumerableOwn(o: object, key: string | symbol): PropertyDescriptor | undefined {
  if (key === 'stack' && !isEnumerable(o, key)) return undefined;
  const descriptor = ObjectGetOwnPropertyDescriptor(o, key);
  return descriptor !== undefined && descriptor.enumerable === true ? descriptor : undefined;
}
/** JSON.stringify of a string primitive: no toJSON, no replacer, nothing of the program's runs. */
const quoteJson = (s: string): string => ReflectApply(JSONStringify, null, [s]) as string;

/** The native getter of an own `stack` accessor (V8 versions that have one), looked up on first use. */
let freshStackGetter: unknown = null;
function nativeStackGetter(): unknown {
  if (freshStackGetter === null) {
    freshStackGetter = undefined;
    try {
      const descriptor = ObjectGetOwnPropertyDescriptor(new ErrorCtor(), 'stack');
      if (descriptor !== undefined && ObjectHasOwn(descriptor, 'get') && typeof descriptor.get === 'function') freshStackGetter = descriptor.get;
    } catch {
      // stays undefined: stacks behind accessors are never read
    }
  }
  return freshStackGetter;
}

// ---------------------------------------------------------------------------------------------
// Small helpers that create nothing the program can observe.

// Our output objects are fresh `{}` and `[]`. Plain assignment to them can only reach the program
// through a property of that name on Object.prototype (or Array.prototype) — a setter, or
// `__proto__` — so those keys, and only those, are written with define semantics (slower).

function defineData(target: object, key: PropertyKey, value: unknown): void {
  ReflectDefineProperty(target, key, { __proto__: null, value, writable: true, enumerable: true, configurable: true } as PropertyDescriptor);
}

/** Appends to one of our own fresh arrays; no Array.prototype setter can intercept it. */
function put<T>(list: T[], value: T): void {
  const index = list.length;
  if (ObjectHasOwn(ArrayPrototype, index) || ObjectHasOwn(ObjectPrototype, index) || ObjectGetPrototypeOf(ArrayPrototype) !== ObjectPrototype) defineData(list, index, value);
  else list[index] = value;
}

/** Sets a field of one of our own fresh objects (no Object.prototype setter; `__proto__` is just a key). */
function def(target: object, key: string, value: unknown): void {
  if (ObjectHasOwn(ObjectPrototype, key)) defineData(target, key, value);
  else (target as Record<string, unknown>)[key] = value;
}

/** An array with no prototype: assignment never reaches the program. For internal stacks only. */
function bareList<T>(): T[] {
  const list: T[] = [];
  ReflectSetPrototypeOf(list, null);
  return list;
}

const ELIDED_COST = 14; // {"$":"elided"}
const REDACTED_COST = REDACTED.length + 2;
const MAX_DEPTH = 64;
const MAX_CLASS_NAME = 128;
const PROTO_WALK = 64;
const PEM_MARKER = 'PRIVATE KEY-----';
const PEM_WINDOW = 8192;
const BUFFER_BYTES = 64;
const COUNT_KEYS = 10_000;
const HEX = '0123456789abcdef';

/** JSON size of `{"$":"tag"}`. */
const tagCost = (tag: string): number => tag.length + 8;
/** JSON size of `,"name":` plus the value. */
const fieldCost = (name: string, valueLength: number): number => name.length + 4 + valueLength;
const digits = (n: number): number => `${n}`.length;

/** Exact length of JSON.stringify(s): counted for short strings, measured for longer ones. */
function jsonLength(s: string): number {
  const length = s.length;
  if (length > 32) return quoteJson(s).length;
  let n = 2;
  for (let i = 0; i < length; i++) {
    const c = charCodeAt(s, i);
    if (c < 0x20) n += c === 8 || c === 9 || c === 10 || c === 12 || c === 13 ? 2 : 6;
    else if (c === 0x22 || c === 0x5c) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      const next = i + 1 < length ? charCodeAt(s, i + 1) : 0;
      if (next >= 0xdc00 && next <= 0xdfff) {
        n += 2;
        i++;
      } else n += 6;
    } else if (c >= 0xdc00 && c <= 0xdfff) n += 6;
    else n += 1;
  }
  return n;
}

/** The first `n` characters, one fewer if that would split a surrogate pair. */
function head(s: string, n: number): string {
  if (n >= s.length) return s;
  if (n <= 0) return '';
  const last = charCodeAt(s, n - 1);
  return slice(s, 0, last >= 0xd800 && last <= 0xdbff ? n - 1 : n);
}

/** A bounded plain string (names, labels): cut with "…". */
function clip(s: string, max: number): string {
  return s.length <= max ? s : `${head(s, max)}…`;
}

/** Whether a PEM private key marker occurs in what we keep of `s` (plus a bounded window). */
function containsPem(s: string, kept: number): boolean {
  if (s.length < PEM_MARKER.length) return false;
  const end = kept + PEM_WINDOW;
  return indexOf(s.length <= end ? s : slice(s, 0, end), PEM_MARKER) !== -1;
}

/** Lowercase ASCII letters and digits only: how keys are compared for redaction. */
function normalizeKey(key: string, max = 1024): string {
  let out = '';
  const n = key.length < max ? key.length : max;
  for (let i = 0; i < n; i++) {
    const c = charCodeAt(key, i);
    if (c >= 65 && c <= 90) out += StringFromCharCode(c + 32);
    else if ((c >= 97 && c <= 122) || (c >= 48 && c <= 57)) out += StringFromCharCode(c);
  }
  return out;
}

function isIdentifier(key: string): boolean {
  if (key.length === 0) return false;
  for (let i = 0; i < key.length; i++) {
    const c = charCodeAt(key, i);
    const letter = (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95 || c === 36;
    if (!letter && !(i > 0 && c >= 48 && c <= 57)) return false;
  }
  return true;
}

/** `key` is a canonical array index below `length`. */
function isIndex(key: string, length: number): boolean {
  if (key.length === 0 || key.length > 10 || (key.length > 1 && charCodeAt(key, 0) === 48)) return false;
  let value = 0;
  for (let i = 0; i < key.length; i++) {
    const c = charCodeAt(key, i);
    if (c < 48 || c > 57) return false;
    value = value * 10 + (c - 48);
  }
  return value < length;
}

function segmentFor(label: string): string {
  if (isIdentifier(label)) return `.${label}`;
  if (charCodeAt(label, 0) === 91) return label; // "[Symbol(x)]"
  let out = '["';
  for (let i = 0; i < label.length; i++) {
    const c = charCodeAt(label, i);
    out += c === 0x22 || c === 0x5c ? `\\${StringFromCharCode(c)}` : StringFromCharCode(c);
  }
  return `${out}"]`;
}

/** Message of an error we caught (never user code: only native errors' own data `message`). */
function caughtMessage(error: unknown): string {
  try {
    if (typeof error === 'object' && error !== null && !isProxy(error) && isNativeError(error)) {
      const descriptor = ObjectGetOwnPropertyDescriptor(error, 'message');
      if (descriptor !== undefined && ObjectHasOwn(descriptor, 'value') && typeof descriptor.value === 'string') return clip(descriptor.value, 200);
    }
  } catch {
    // fall through
  }
  return 'unknown error';
}

type ClassName = string | null | undefined;

/** `name` of the prototype's own `constructor` data property, when both are data properties. */
function constructorName(proto: object): string | undefined {
  try {
    if (isProxy(proto)) return undefined;
    const descriptor = ObjectGetOwnPropertyDescriptor(proto, 'constructor');
    if (descriptor === undefined || !ObjectHasOwn(descriptor, 'value')) return undefined;
    const ctor: unknown = descriptor.value;
    if (typeof ctor !== 'function' || isProxy(ctor)) return undefined;
    const name = ObjectGetOwnPropertyDescriptor(ctor, 'name');
    if (name === undefined || !ObjectHasOwn(name, 'value') || typeof name.value !== 'string') return undefined;
    return clip(name.value, MAX_CLASS_NAME);
  } catch {
    return undefined;
  }
}

/** Class of an object: undefined = plain (or unknown), null = null prototype. */
function classOf(o: object, plain: object = ObjectPrototype): ClassName {
  const proto = ObjectGetPrototypeOf(o) as object | null;
  if (proto === null) return null;
  if (proto === plain) return undefined;
  return constructorName(proto);
}

function protoChainHas(o: object, target: object): boolean {
  let proto = ObjectGetPrototypeOf(o) as object | null;
  for (let i = 0; i < PROTO_WALK && proto !== null; i++) {
    if (proto === target) return true;
    if (isProxy(proto)) return false;
    proto = ObjectGetPrototypeOf(proto) as object | null;
  }
  return false;
}

const NOT_FOUND = Symbol('not found');
const ACCESSOR = Symbol('accessor');

/** Own-or-inherited DATA property `key` (never an accessor's result), walking a bounded chain. */
function findData(o: object, key: string): unknown {
  let current: object | null = o;
  for (let i = 0; i < PROTO_WALK && current !== null; i++) {
    if (isProxy(current)) return NOT_FOUND;
    const descriptor = ObjectGetOwnPropertyDescriptor(current, key);
    if (descriptor !== undefined) return ObjectHasOwn(descriptor, 'value') ? descriptor.value : ACCESSOR;
    current = ObjectGetPrototypeOf(current) as object | null;
  }
  return NOT_FOUND;
}

function accessorDesc(descriptor: PropertyDescriptor): ValueDesc {
  const getter = descriptor.get !== undefined;
  const setter = descriptor.set !== undefined;
  return { $: getter && setter ? 'accessor' : setter ? 'setter' : 'getter' };
}

function accessorCost(descriptor: PropertyDescriptor): number {
  const getter = descriptor.get !== undefined;
  const setter = descriptor.set !== undefined;
  return tagCost(getter && setter ? 'accessor' : setter ? 'setter' : 'getter');
}

function clampLimit(value: unknown, fallback: number): number {
  return typeof value === 'number' && value === value && value >= 0 ? MathFloor(MathMin(value, 2 ** 31)) : fallback;
}

// ---------------------------------------------------------------------------------------------

export class Snapshotter {
  readonly limits: SnapshotLimits;
  /** Effective redaction: enabled, and every key matched (defaults first, then the user's). */
  readonly redaction: Redaction;
  private readonly needles: string[] = [];
  private readonly errorStacks: boolean;
  /** Bigints at least this large are recorded in (clipped) hex rather than converted to decimal. */
  private readonly bigLimit: bigint | null;
  private redactCache: Record<string, boolean> = ObjectCreate(null) as Record<string, boolean>;
  private redactCached = 0;

  // State of the call in progress.
  private used = 0;
  private max = 0;
  private depthLimit = 0;
  private readonly ancestors: object[] = bareList();
  private readonly segments: string[] = bareList();
  /** How many entries of `ancestors`/`segments` are live (the current path). */
  private top = 0;

  constructor(limits?: Partial<SnapshotLimits>, redaction?: Partial<Redaction>, options?: SnapshotOptions) {
    const d = DEFAULT_SNAPSHOT_LIMITS;
    this.limits = {
      depth: MathMin(clampLimit(limits?.depth, d.depth), MAX_DEPTH),
      keys: clampLimit(limits?.keys, d.keys),
      items: clampLimit(limits?.items, d.items),
      string: clampLimit(limits?.string, d.string),
      bytes: clampLimit(limits?.bytes, d.bytes),
    };
    const userKeys = redaction?.keys ?? [];
    const keys: string[] = [];
    for (let i = 0; i < DEFAULT_REDACT_KEYS.length; i++) put(keys, DEFAULT_REDACT_KEYS[i] as string);
    for (let i = 0; i < userKeys.length; i++) if (typeof userKeys[i] === 'string') put(keys, userKeys[i] as string);
    this.redaction = { enabled: redaction?.enabled !== false, keys };
    for (let i = 0; i < keys.length; i++) {
      const needle = normalizeKey(keys[i] as string);
      if (needle !== '') put(this.needles, needle);
    }
    this.errorStacks = options?.errorStacks === true;
    this.bigLimit = this.limits.string < 1000 ? 10n ** BigIntCtor(this.limits.string) : null;
    // nativeStackGetter() runs on first use: its `new Error()` costs ~25 ms at start-up with --enable-source-maps.
  }

  /** True when a property/parameter/map key of this name is redacted. */
  redacts(key: string): boolean {
    if (!this.redaction.enabled || typeof key !== 'string') return false;
    const cacheable = key.length <= 256;
    if (cacheable) {
      const known = this.redactCache[key];
      if (known !== undefined) return known;
    }
    const normalized = normalizeKey(key);
    let hit = false;
    for (let i = 0; i < this.needles.length && !hit; i++) hit = indexOf(normalized, this.needles[i] as string) !== -1;
    if (cacheable) {
      if (this.redactCached >= 4096) {
        this.redactCache = ObjectCreate(null) as Record<string, boolean>;
        this.redactCached = 0;
      }
      this.redactCache[key] = hit;
      this.redactCached++;
    }
    return hit;
  }

  /** One value → description. depthLimit overrides limits.depth (use 1 for a shallow `this`). */
  value(v: unknown, depthLimit?: number): ValueDesc {
    try {
      this.begin(depthLimit);
      this.used = ELIDED_COST;
      return this.describe(v, 0, '');
    } catch (error) {
      return { $: 'unserializable', error: caughtMessage(error) };
    } finally {
      this.end();
    }
  }

  /**
   * Named values (a call's parameters, in order). A parameter whose name is redacted yields
   * "[redacted]" without its value being looked at. The result is aligned with `values`; when
   * the byte budget runs out, its last element is `{"$":"elided","more":K}` standing for the K
   * values left (just `{"$":"elided"}` when K is 1).
   */
  args(names: readonly string[], values: ArrayLike<unknown>): ValueDesc[] {
    const out: ValueDesc[] = [];
    try {
      this.begin(undefined);
      this.used = 2;
      if ((typeof values !== 'object' && typeof values !== 'function') || values === null || isProxy(values)) return out;
      const lengthDescriptor = ObjectGetOwnPropertyDescriptor(values, 'length');
      const rawLength: unknown = lengthDescriptor !== undefined && ObjectHasOwn(lengthDescriptor, 'value') ? lengthDescriptor.value : 0;
      const length = typeof rawLength === 'number' && rawLength > 0 ? MathFloor(MathMin(rawLength, 2 ** 32 - 1)) : 0;
      for (let i = 0; i < length; i++) {
        if (!this.reserve((i > 0 ? 1 : 0) + ELIDED_COST)) {
          const left = length - i;
          put<ValueDesc>(out, left === 1 ? { $: 'elided' } : { $: 'elided', more: left });
          break;
        }
        const name = i < names.length ? names[i] : undefined;
        if (typeof name === 'string' && this.redacts(name)) {
          put<ValueDesc>(out, this.settle(REDACTED_COST) ? REDACTED : { $: 'elided' });
          continue;
        }
        put(out, this.argument(values, i));
      }
      return out;
    } catch (error) {
      put<ValueDesc>(out, { $: 'unserializable', error: caughtMessage(error) });
      return out;
    } finally {
      this.end();
    }
  }

  // -------------------------------------------------------------------------------------------
  // Budget: `used` counts the JSON characters of everything produced so far, plus reservations.
  // Whoever asks for a child's description has reserved ELIDED_COST for it; the child replaces
  // that reservation with its real cost (settle) or, when that does not fit, stays elided.

  private begin(depthLimit: number | undefined): void {
    this.max = this.limits.bytes;
    const depth = typeof depthLimit === 'number' && depthLimit === depthLimit ? depthLimit : this.limits.depth;
    this.depthLimit = MathMax(0, MathMin(MathFloor(depth), MAX_DEPTH));
    this.top = 0;
  }

  private end(): void {
    this.top = 0;
    this.ancestors.length = 0; // never keep the program's objects alive
    this.segments.length = 0;
  }

  private reserve(cost: number): boolean {
    if (this.used + cost > this.max) return false;
    this.used += cost;
    return true;
  }

  private settle(cost: number): boolean {
    const next = this.used - ELIDED_COST + cost;
    if (next > this.max) return false;
    this.used = next;
    return true;
  }

  private refund(cost: number): void {
    this.used -= cost;
  }

  private tag<T extends ValueDesc>(desc: T, cost: number): ValueDesc {
    return this.settle(cost) ? desc : { $: 'elided' };
  }

  private available(): number {
    return this.max - (this.used - ELIDED_COST);
  }

  // -------------------------------------------------------------------------------------------

  private describe(v: unknown, level: number, segment: string): ValueDesc {
    try {
      switch (typeof v) {
        case 'string':
          return this.string(v, this.limits.string);
        case 'number':
          return this.number(v);
        case 'boolean':
          return this.tag(v, v ? 4 : 5);
        case 'undefined':
          return this.tag({ $: 'undefined' }, tagCost('undefined'));
        case 'bigint':
          return this.bigint(v);
        case 'symbol':
          return this.symbol(v);
        case 'object':
          if (v === null) return this.tag(null, 4);
          return this.object(v, level, segment);
        case 'function':
          return this.object(v, level, segment);
        default:
          return this.failed('unexpected type');
      }
    } catch (error) {
      return this.failed(caughtMessage(error));
    }
  }

  private failed(message: string): ValueDesc {
    return this.tag({ $: 'unserializable', error: message }, tagCost('unserializable') + fieldCost('error', jsonLength(message)));
  }

  private string(s: string, limit: number): ValueDesc {
    const length = s.length;
    if (this.redaction.enabled && containsPem(s, limit)) return this.tag(REDACTED, REDACTED_COST);
    if (length <= limit && this.settle(jsonLength(s))) return s;
    // {"$":"string","head":…,"length":N}
    const fixed = 32 + digits(length);
    const room = this.available() - fixed;
    let n = MathMin(length <= limit ? length - 1 : limit, room - 2);
    while (n > 0) {
      const kept = head(s, n);
      const size = jsonLength(kept);
      if (size <= room) {
        if (kept.length === 0 || !this.settle(fixed + size)) break;
        return { $: 'string', head: kept, length };
      }
      n = kept.length - (size - room);
    }
    return { $: 'elided' };
  }

  private number(n: number): ValueDesc {
    let special: 'NaN' | 'Infinity' | '-Infinity' | '-0' | undefined;
    if (n !== n) special = 'NaN';
    else if (n === Infinity) special = 'Infinity';
    else if (n === -Infinity) special = '-Infinity';
    else if (n === 0 && 1 / n < 0) special = '-0';
    if (special === undefined) return this.tag(n, digits(n));
    return this.tag({ $: 'number', value: special }, tagCost('number') + fieldCost('value', special.length + 2));
  }

  private bigint(n: bigint): ValueDesc {
    const limit = this.limits.string;
    const magnitude = n < 0n ? -n : n;
    let value: string;
    if (this.bigLimit === null || magnitude < this.bigLimit) value = `${n}`;
    else value = `${n < 0n ? '-' : ''}0x${clip(callOn(BigIntToString, magnitude, [16]) as string, limit)}`;
    return this.tag({ $: 'bigint', value }, tagCost('bigint') + fieldCost('value', jsonLength(value)));
  }

  private symbol(s: symbol): ValueDesc {
    const description = callOn(SymbolDescription, s);
    if (typeof description !== 'string') return this.tag({ $: 'symbol' }, tagCost('symbol'));
    const text = this.redaction.enabled && containsPem(description, this.limits.string) ? REDACTED : clip(description, this.limits.string);
    return this.tag({ $: 'symbol', description: text }, tagCost('symbol') + fieldCost('description', jsonLength(text)));
  }

  private functionDesc(f: (...args: unknown[]) => unknown): ValueDesc {
    let name = '';
    const descriptor = ObjectGetOwnPropertyDescriptor(f, 'name');
    if (descriptor !== undefined && ObjectHasOwn(descriptor, 'value') && typeof descriptor.value === 'string') name = clip(descriptor.value, this.limits.string);
    let isClass = false;
    try {
      const source = callOn(FunctionToString, f);
      if (typeof source === 'string' && source.length > 5 && slice(source, 0, 5) === 'class') {
        const next = charCodeAt(source, 5);
        isClass = next === 32 || next === 123 || next === 9 || next === 10 || next === 13 || next === 47;
      }
    } catch {
      // not a function V8 can print: not a class as far as we know
    }
    const cost = tagCost('function') + fieldCost('name', jsonLength(name)) + (isClass ? fieldCost('class', 4) : 0);
    return this.tag(isClass ? { $: 'function', name, class: true } : { $: 'function', name }, cost);
  }

  private circular(at: number): ValueDesc {
    let path = '$';
    for (let i = 1; i <= at; i++) path += this.segments[i] as string;
    path = clip(path, this.limits.string);
    return this.tag({ $: 'circular', path }, tagCost('circular') + fieldCost('path', jsonLength(path)));
  }

  private object(o: object, level: number, segment: string): ValueDesc {
    if (isProxy(o)) return this.tag({ $: 'proxy' }, tagCost('proxy'));
    if (typeof o === 'function') return this.functionDesc(o as (...args: unknown[]) => unknown);
    for (let i = 0; i < this.top; i++) if (this.ancestors[i] === o) return this.circular(i);

    if (ArrayIsArray(o)) return this.enter(o, segment, () => this.array(o as unknown[], level));
    if (isNativeError(o) || protoChainHas(o, ErrorPrototype)) return this.enter(o, segment, () => this.error(o, level));
    if (isMap(o)) return this.enter(o, segment, () => this.map(o, level));
    if (isSet(o)) return this.enter(o, segment, () => this.set(o, level));
    if (isWeakMap(o)) return this.weak(o, 'WeakMap');
    if (isWeakSet(o)) return this.weak(o, 'WeakSet');
    if (WeakRefPrototype !== null && protoChainHas(o, WeakRefPrototype)) return this.weak(o, 'WeakRef');
    if (isDate(o)) {
      const time = callOn(DateGetTime, o) as number;
      const iso = time !== time ? 'Invalid Date' : (callOn(DateToISOString, o) as string);
      return this.tag({ $: 'date', iso }, tagCost('date') + fieldCost('iso', jsonLength(iso)));
    }
    if (isRegExp(o)) return this.regexp(o);
    if (ArrayBufferIsView(o)) {
      if (isTypedArray(o)) {
        // A Buffer by its prototype chain: Buffer.isBuffer is `instanceof`, which a program can hook.
        if (isUint8Array(o) && protoChainHas(o, BufferPrototype)) return this.buffer(o);
        return this.typedArray(o);
      }
      if (isDataView(o)) {
        let byteLength = 0;
        try {
          byteLength = callOn(DataViewByteLength, o) as number;
        } catch {
          // detached buffer
        }
        return this.tag({ $: 'dataview', byteLength }, tagCost('dataview') + fieldCost('byteLength', digits(byteLength)));
      }
    }
    if (isArrayBuffer(o) || isSharedArrayBuffer(o)) {
      const shared = isSharedArrayBuffer(o);
      const byteLength = callOn(shared ? SharedArrayBufferByteLength : ArrayBufferByteLength, o) as number;
      const cls = shared ? 'SharedArrayBuffer' : 'ArrayBuffer';
      return this.tag({ $: 'arraybuffer', class: cls, byteLength }, tagCost('arraybuffer') + fieldCost('class', cls.length + 2) + fieldCost('byteLength', digits(byteLength)));
    }
    if (isPromise(o)) return this.tag({ $: 'promise' }, tagCost('promise'));
    if (isGeneratorObject(o)) return this.tag({ $: 'generator' }, tagCost('generator'));
    if (isBoxedPrimitive(o)) return this.boxed(o, level);
    if (isModuleNamespaceObject(o)) return this.module(o);
    return this.enter(o, segment, () => this.plainObject(o, level));
  }

  /** Runs `body` with `o` on the ancestor path (for cycle detection), always popping it. */
  private enter(o: object, segment: string, body: () => ValueDesc): ValueDesc {
    const depth = this.top;
    this.ancestors[depth] = o;
    this.segments[depth] = segment;
    this.top = depth + 1;
    try {
      return body();
    } finally {
      this.top = depth;
    }
  }

  /** A child slot the caller reserved ELIDED_COST for: describe the property behind `descriptor`. */
  private property(descriptor: PropertyDescriptor, level: number, segment: string): ValueDesc {
    if (ObjectHasOwn(descriptor, 'get') || ObjectHasOwn(descriptor, 'set')) return this.tag(accessorDesc(descriptor), accessorCost(descriptor));
    return this.describe(descriptor.value, level + 1, segment);
  }

  /** Element `index` of an array, read through its own descriptor (holes stay holes). */
  private element(list: object, index: number, level: number): ValueDesc {
    try {
      const descriptor = ObjectGetOwnPropertyDescriptor(list, index);
      if (descriptor === undefined) return this.tag({ $: 'hole' }, tagCost('hole'));
      return this.property(descriptor, level, `[${index}]`);
    } catch (error) {
      return this.failed(caughtMessage(error));
    }
  }

  /** Argument `index`: a root of its own (level 0); a missing one is undefined. */
  private argument(values: object, index: number): ValueDesc {
    try {
      const descriptor = ObjectGetOwnPropertyDescriptor(values, index);
      if (descriptor === undefined) return this.describe(undefined, 0, '');
      if (ObjectHasOwn(descriptor, 'get') || ObjectHasOwn(descriptor, 'set')) return this.tag(accessorDesc(descriptor), accessorCost(descriptor));
      return this.describe(descriptor.value, 0, '');
    } catch (error) {
      return this.failed(caughtMessage(error));
    }
  }

  private classCost(cls: ClassName): number {
    return cls === undefined ? 0 : fieldCost('class', cls === null ? 4 : jsonLength(cls));
  }

  /** `desc` with `class` (when known) right after `$`, then `fields`, in that order. */
  private withClass<T extends object>(desc: T, cls: ClassName, fields?: Record<string, unknown>): T {
    if (cls !== undefined) def(desc, 'class', cls);
    if (fields !== undefined) {
      const names = ReflectOwnKeys(fields);
      for (let i = 0; i < names.length; i++) def(desc, names[i] as string, fields[names[i] as string]);
    }
    return desc;
  }

  /** Label under which an own key is recorded: string keys as they are, symbols as "[Symbol(desc)]". */
  private label(key: string | symbol): string {
    let text: string;
    if (typeof key === 'string') text = key;
    else {
      const description = callOn(SymbolDescription, key);
      text = `[Symbol(${typeof description === 'string' ? description : ''})]`;
    }
    if (this.redaction.enabled && containsPem(text, this.limits.string)) return REDACTED;
    return clip(text, this.limits.string);
  }

  /** Counts own enumerable keys (exactly up to COUNT_KEYS keys, then assumes the rest are). */
  private countEnumerable(o: object, keys: (string | symbol)[]): number {
    let count = 0;
    for (let i = 0; i < keys.length; i++) {
      if (i >= COUNT_KEYS) return count + (keys.length - i);
      try {
        if (enumerableOwn(o, keys[i] as string | symbol) !== undefined) count++;
      } catch {
        count++;
      }
    }
    return count;
  }

  /**
   * Describes own enumerable properties of `o` among `keys` into `props` (keys for which `skip`
   * says so are ignored). Charges each entry; returns how many were left out.
   */
  private props(o: object, keys: (string | symbol)[], props: Record<string, ValueDesc>, level: number, skip?: (key: string | symbol) => boolean): { shown: number; more: number } {
    let shown = 0;
    let more = 0;
    let full = false;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string | symbol;
      if (skip !== undefined && skip(key)) continue;
      if (full || shown >= this.limits.keys) {
        if (i >= COUNT_KEYS) {
          more += keys.length - i;
          break;
        }
        try {
          if (enumerableOwn(o, key) !== undefined) more++;
        } catch {
          more++;
        }
        continue;
      }
      let value: ValueDesc;
      let label: string;
      try {
        const descriptor = enumerableOwn(o, key);
        if (descriptor === undefined) continue;
        label = this.label(key);
        if (!this.reserve(jsonLength(label) + 1 + (shown > 0 ? 1 : 0) + ELIDED_COST)) {
          full = true;
          more++;
          continue;
        }
        if ((typeof key === 'string' && this.redacts(key)) || (typeof key === 'symbol' && this.redacts(label))) value = this.tag(REDACTED, REDACTED_COST);
        else {
          const inner: unknown = ObjectHasOwn(descriptor, 'value') ? descriptor.value : undefined;
          value = this.property(descriptor, level, (typeof inner === 'object' && inner !== null) || typeof inner === 'function' ? segmentFor(label) : '');
        }
      } catch (error) {
        label = typeof key === 'string' ? clip(key, this.limits.string) : '[Symbol()]';
        if (!this.reserve(jsonLength(label) + 2 + ELIDED_COST)) {
          full = true;
          more++;
          continue;
        }
        value = this.failed(caughtMessage(error));
      }
      def(props, label, value);
      shown++;
    }
    return { shown, more };
  }

  private plainObject(o: object, level: number): ValueDesc {
    const cls = classOf(o);
    const keys = ReflectOwnKeys(o);
    if (level >= this.depthLimit) {
      const count = this.countEnumerable(o, keys);
      return this.tag(this.withClass({ $: 'object' } as ObjectDesc, cls, { truncated: 'depth', keys: count }),
        tagCost('object') + this.classCost(cls) + fieldCost('truncated', 7) + fieldCost('keys', digits(count)));
    }
    const moreReserve = fieldCost('more', 16);
    if (!this.settle(tagCost('object') + this.classCost(cls) + fieldCost('props', 2) + moreReserve)) return { $: 'elided' };
    const props: Record<string, ValueDesc> = {};
    const desc = this.withClass({ $: 'object' } as ObjectDesc, cls);
    def(desc, 'props', props);
    const { more } = this.props(o, keys, props, level);
    this.refund(moreReserve);
    if (more > 0) {
      this.used += fieldCost('more', digits(more));
      def(desc, 'more', more);
    }
    return desc;
  }

  private weak(o: object, kind: string): ValueDesc {
    const cls = classOf(o) ?? kind;
    return this.tag({ $: 'object', class: cls }, tagCost('object') + this.classCost(cls));
  }

  private array(a: unknown[], level: number): ValueDesc {
    const length = a.length;
    if (level >= this.depthLimit) {
      return this.tag({ $: 'array', length, truncated: 'depth' }, tagCost('array') + fieldCost('length', digits(length)) + fieldCost('truncated', 7));
    }
    const items = this.limits.items;
    let holes = false;
    const extra: (string | symbol)[] = [];
    if (length <= items) {
      const keys = ReflectOwnKeys(a);
      let present = 0;
      for (let i = 0; i < keys.length; i++) {
        const key = keys[i] as string | symbol;
        if (key === 'length') continue;
        if (typeof key === 'string' && isIndex(key, length)) present++;
        else if (enumerableOwn(a, key) !== undefined) put(extra, key);
      }
      holes = present < length;
    }
    const propsReserve = extra.length > 0 ? fieldCost('props', 2) + fieldCost('moreProps', 16) : 0;
    const wrapper = tagCost('array') + fieldCost('length', digits(length)) + fieldCost('items', 2) + fieldCost('more', digits(length)) + propsReserve;
    if (!this.settle(wrapper)) return { $: 'elided' };

    const shown: ValueDesc[] = [];
    const count = length < items ? length : items;
    for (let i = 0; i < count; i++) {
      if (!this.reserve((i > 0 ? 1 : 0) + ELIDED_COST)) break;
      put(shown, this.element(a, i, level));
    }
    const more = length - shown.length;
    if (!holes && extra.length === 0 && more === 0) {
      this.refund(wrapper - 2); // a plain JSON array: just the brackets
      return shown;
    }
    this.refund(fieldCost('more', digits(length)) + propsReserve);
    const desc: ArrayDesc = { $: 'array', length, items: shown };
    if (more > 0) {
      this.used += fieldCost('more', digits(more));
      def(desc, 'more', more);
    }
    if (extra.length > 0 && this.reserve(fieldCost('props', 2) + fieldCost('moreProps', 16))) {
      const props: Record<string, ValueDesc> = {};
      const result = this.props(a, extra, props, level);
      this.refund(fieldCost('moreProps', 16));
      if (result.shown > 0) def(desc, 'props', props);
      else this.refund(fieldCost('props', 2));
      if (result.more > 0) {
        this.used += fieldCost('moreProps', digits(result.more));
        def(desc, 'moreProps', result.more);
      }
    }
    return desc;
  }

  private error(e: object, level: number): ValueDesc {
    const proto = ObjectGetPrototypeOf(e) as object | null;
    const cls: ClassName = proto === null ? null : constructorName(proto);
    if (!this.settle(tagCost('error') + this.classCost(cls))) return { $: 'elided' };
    const desc = this.withClass({ $: 'error' } as ErrorDesc, cls);
    const field = (name: string, value: unknown, limit: number): boolean => {
      if (value === NOT_FOUND) return true;
      if (!this.reserve(fieldCost(name, 0) + ELIDED_COST)) return false;
      let described: ValueDesc;
      if (value === ACCESSOR) described = this.tag({ $: 'getter' }, tagCost('getter'));
      else if (typeof value === 'string') described = this.string(value, limit);
      else described = this.describe(value, level + 1, `.${name}`);
      def(desc, name, described);
      return true;
    };
    const limit = this.limits.string;
    if (!field('name', findData(e, 'name'), limit) || !field('message', findData(e, 'message'), limit)) return desc;
    if (level >= this.depthLimit) {
      if (this.reserve(fieldCost('truncated', 7))) def(desc, 'truncated', 'depth');
      return desc;
    }
    if (this.errorStacks && !field('stack', this.stackOf(e), limit * 4)) return desc;

    const keys = ReflectOwnKeys(e);
    const skipped = (key: string | symbol): boolean => key === 'stack' || key === 'message' || key === 'name' || key === 'cause';
    let candidates = false;
    for (let i = 0; i < keys.length && !candidates; i++) candidates = !skipped(keys[i] as string | symbol);
    if (candidates && this.reserve(fieldCost('props', 2) + fieldCost('more', 16))) {
      const props: Record<string, ValueDesc> = {};
      const { shown, more } = this.props(e, keys, props, level, skipped);
      let errors = false;
      // AggregateError keeps its errors in a non-enumerable own property.
      const errorsDescriptor = ObjectGetOwnPropertyDescriptor(e, 'errors');
      if (errorsDescriptor !== undefined && !errorsDescriptor.enumerable && ObjectHasOwn(errorsDescriptor, 'value') && this.reserve(9 + (shown > 0 ? 1 : 0) + ELIDED_COST)) {
        def(props, 'errors', this.property(errorsDescriptor, level, '.errors'));
        errors = true;
      }
      this.refund(fieldCost('more', 16));
      if (shown > 0 || errors) def(desc, 'props', props);
      else this.refund(fieldCost('props', 2));
      if (more > 0) {
        this.used += fieldCost('more', digits(more));
        def(desc, 'more', more);
      }
    }
    const cause = ObjectGetOwnPropertyDescriptor(e, 'cause');
    if (cause !== undefined && this.reserve(fieldCost('cause', 0) + ELIDED_COST)) def(desc, 'cause', this.property(cause, level, '.cause'));
    return desc;
  }

  /** The error's stack (opted in): own or inherited data property, or V8's own native accessor. */
  private stackOf(e: object): unknown {
    const own = ObjectGetOwnPropertyDescriptor(e, 'stack');
    if (own !== undefined) {
      if (ObjectHasOwn(own, 'value')) return own.value;
      const getter = nativeStackGetter();
      if (typeof getter === 'function' && own.get === getter) return callOn(getter as Method, e);
      return NOT_FOUND;
    }
    const proto = ObjectGetPrototypeOf(e) as object | null;
    if (proto === null) return NOT_FOUND;
    const inherited = findData(proto, 'stack');
    return inherited === ACCESSOR ? NOT_FOUND : inherited;
  }

  private map(m: object, level: number): ValueDesc {
    const cls = classOf(m, MapPrototype);
    const size = callOn(MapSize, m) as number;
    if (level >= this.depthLimit) {
      return this.tag(this.withClass({ $: 'map' } as MapDesc, cls, { size, truncated: 'depth' }),
        tagCost('map') + this.classCost(cls) + fieldCost('size', digits(size)) + fieldCost('truncated', 7));
    }
    const moreReserve = fieldCost('more', digits(size));
    if (!this.settle(tagCost('map') + this.classCost(cls) + fieldCost('size', digits(size)) + fieldCost('entries', 2) + moreReserve)) return { $: 'elided' };
    const entries: [ValueDesc, ValueDesc][] = [];
    const iterator = callOn(MapEntries, m);
    for (let i = 0; i < this.limits.items; i++) {
      if (!this.reserve((i > 0 ? 1 : 0) + 3 + 2 * ELIDED_COST)) break;
      const step = callOn(MapIteratorNext, iterator) as { done: boolean; value: [unknown, unknown] };
      if (step.done) {
        this.refund((i > 0 ? 1 : 0) + 3 + 2 * ELIDED_COST);
        break;
      }
      const pair = step.value;
      const key = pair[0];
      const keyDesc = this.describe(key, level + 1, `<${i}>.key`);
      const valueDesc = typeof key === 'string' && this.redacts(key)
        ? this.tag(REDACTED, REDACTED_COST)
        : this.describe(pair[1], level + 1, `<${i}>.value`);
      put(entries, [keyDesc, valueDesc]);
    }
    this.refund(moreReserve);
    const desc = this.withClass({ $: 'map' } as MapDesc, cls);
    def(desc, 'size', size);
    def(desc, 'entries', entries);
    if (size > entries.length) {
      this.used += fieldCost('more', digits(size - entries.length));
      def(desc, 'more', size - entries.length);
    }
    return desc;
  }

  private set(s: object, level: number): ValueDesc {
    const cls = classOf(s, SetPrototype);
    const size = callOn(SetSize, s) as number;
    if (level >= this.depthLimit) {
      return this.tag(this.withClass({ $: 'set' } as SetDesc, cls, { size, truncated: 'depth' }),
        tagCost('set') + this.classCost(cls) + fieldCost('size', digits(size)) + fieldCost('truncated', 7));
    }
    const moreReserve = fieldCost('more', digits(size));
    if (!this.settle(tagCost('set') + this.classCost(cls) + fieldCost('size', digits(size)) + fieldCost('values', 2) + moreReserve)) return { $: 'elided' };
    const values: ValueDesc[] = [];
    const iterator = callOn(SetValues, s);
    for (let i = 0; i < this.limits.items; i++) {
      if (!this.reserve((i > 0 ? 1 : 0) + ELIDED_COST)) break;
      const step = callOn(SetIteratorNext, iterator) as { done: boolean; value: unknown };
      if (step.done) {
        this.refund((i > 0 ? 1 : 0) + ELIDED_COST);
        break;
      }
      put(values, this.describe(step.value, level + 1, `<${i}>`));
    }
    this.refund(moreReserve);
    const desc = this.withClass({ $: 'set' } as SetDesc, cls);
    def(desc, 'size', size);
    def(desc, 'values', values);
    if (size > values.length) {
      this.used += fieldCost('more', digits(size - values.length));
      def(desc, 'more', size - values.length);
    }
    return desc;
  }

  private regexp(r: object): ValueDesc {
    let flags = '';
    for (let i = 0; i < RegExpFlags.length; i++) {
      const entry = RegExpFlags[i] as readonly [string, Method | undefined];
      if (entry[1] !== undefined && callOn(entry[1], r) === true) flags += entry[0];
    }
    const sourceText = callOn(RegExpSource, r) as string;
    if (!this.settle(tagCost('regexp') + fieldCost('source', 0) + fieldCost('flags', flags.length + 2) + ELIDED_COST)) return { $: 'elided' };
    const source = this.string(sourceText, this.limits.string);
    return { $: 'regexp', source, flags };
  }

  private typedArray(t: object): ValueDesc {
    const tag = callOn(TypedArrayTag, t);
    const cls = typeof tag === 'string' ? tag : 'TypedArray';
    const length = callOn(TypedArrayLength, t) as number;
    if (!this.settle(tagCost('typedarray') + fieldCost('class', jsonLength(cls)) + fieldCost('length', digits(length)) + fieldCost('items', 2))) return { $: 'elided' };
    const items: ValueDesc[] = [];
    const view = t as unknown as ArrayLike<number | bigint>;
    const count = length < this.limits.items ? length : this.limits.items;
    for (let i = 0; i < count; i++) {
      const item = view[i]; // integer-indexed element: never reaches a prototype or user code
      let desc: ValueDesc;
      let cost: number;
      if (typeof item === 'bigint') {
        desc = `${item}`;
        cost = desc.length + 2;
      } else if (typeof item === 'number' && item === item && item !== Infinity && item !== -Infinity && !(item === 0 && 1 / item < 0)) {
        desc = item;
        cost = digits(item);
      } else {
        const value = typeof item !== 'number' || item !== item ? 'NaN' : item === Infinity ? 'Infinity' : item === -Infinity ? '-Infinity' : '-0';
        desc = { $: 'number', value };
        cost = tagCost('number') + fieldCost('value', value.length + 2);
      }
      if (!this.reserve((i > 0 ? 1 : 0) + cost)) break;
      put(items, desc);
    }
    return { $: 'typedarray', class: cls, length, items };
  }

  private buffer(b: object): ValueDesc {
    const length = callOn(TypedArrayLength, b) as number;
    const fixed = tagCost('buffer') + fieldCost('length', digits(length)) + fieldCost('hex', 2);
    let count = length < BUFFER_BYTES ? length : BUFFER_BYTES;
    const room = MathFloor((this.available() - fixed) / 2);
    if (room < count) count = room;
    if (count < 0 || !this.settle(fixed + 2 * count)) return { $: 'elided' };
    const bytes = b as unknown as ArrayLike<number>;
    let hex = '';
    for (let i = 0; i < count; i++) {
      const byte = bytes[i] as number;
      hex += (HEX[byte >> 4] as string) + (HEX[byte & 15] as string);
    }
    return { $: 'buffer', length, hex };
  }

  private boxed(o: object, level: number): ValueDesc {
    let value: unknown;
    if (isNumberObject(o)) value = callOn(NumberValueOf, o);
    else if (isStringObject(o)) value = callOn(StringValueOf, o);
    else if (isBooleanObject(o)) value = callOn(BooleanValueOf, o);
    else if (isBigIntObject(o)) value = callOn(BigIntValueOf, o);
    else if (isSymbolObject(o)) value = callOn(SymbolValueOf, o);
    else return this.failed('unknown boxed primitive');
    if (!this.settle(tagCost('boxed') + fieldCost('value', 0) + ELIDED_COST)) return { $: 'elided' };
    return { $: 'boxed', value: this.describe(value, level + 1, '') };
  }

  private module(ns: object): ValueDesc {
    const keys = ReflectOwnKeys(ns); // names only: reading a binding still in its TDZ would throw
    const moreReserve = fieldCost('more', 16);
    if (!this.settle(tagCost('module') + fieldCost('keys', 2) + moreReserve)) return { $: 'elided' };
    const names: string[] = [];
    let total = 0;
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i];
      if (typeof key !== 'string') continue;
      total++;
      if (names.length >= this.limits.keys) continue;
      const label = clip(key, this.limits.string);
      if (!this.reserve(jsonLength(label) + (names.length > 0 ? 1 : 0))) continue;
      put(names, label);
    }
    this.refund(moreReserve);
    const desc: { $: 'module'; keys: string[]; more?: number } = { $: 'module', keys: names };
    if (total > names.length) {
      this.used += fieldCost('more', digits(total - names.length));
      def(desc, 'more', total - names.length);
    }
    return desc;
  }
}
