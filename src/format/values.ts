// Value descriptions: the bounded, JSON-compatible form in which the detail lane records
// arguments, `this`, return values and thrown errors (written by runtime/snapshot.ts), and their
// one-line human rendering for CLI views. A description is a JSON primitive (strings, finite
// numbers, booleans, null stand for themselves), a plain JSON array (a short, complete, hole-free
// array), or an object tagged by its "$" field. Pure TypeScript: no Node-only imports.

/** What a redacted value becomes, everywhere: this exact string. */
export const REDACTED = '[redacted]';

/** Why a container's contents were not described. */
export type Truncation = 'depth';

export interface StringDesc { $: 'string'; head: string; length: number }
export interface NumberDesc { $: 'number'; value: 'NaN' | 'Infinity' | '-Infinity' | '-0' }
export interface UndefinedDesc { $: 'undefined' }
/** `value`: decimal; a bigint too long for limits.string is "0x…" hex, clipped. */
export interface BigIntDesc { $: 'bigint'; value: string }
export interface SymbolDesc { $: 'symbol'; description?: string }
export interface FunctionDesc { $: 'function'; name: string; class?: true }
export interface ArrayDesc {
  $: 'array';
  length: number;
  items?: ValueDesc[];
  /** Elements left out (from the end of `items` to `length`). */
  more?: number;
  /** Own enumerable properties that are not elements (short arrays only). */
  props?: Record<string, ValueDesc>;
  /** Such properties left out. */
  moreProps?: number;
  truncated?: Truncation;
}
export interface ObjectDesc {
  $: 'object';
  /** Constructor name; absent for plain objects (or when unobtainable), null for null-prototype objects. */
  class?: string | null;
  props?: Record<string, ValueDesc>;
  /** Own enumerable keys left out. */
  more?: number;
  truncated?: Truncation;
  /** With `truncated`: how many own enumerable keys the object has. */
  keys?: number;
}
export interface CircularDesc { $: 'circular'; path: string }
export interface MapDesc {
  $: 'map';
  class?: string | null;
  size: number;
  entries?: [ValueDesc, ValueDesc][];
  more?: number;
  truncated?: Truncation;
}
export interface SetDesc {
  $: 'set';
  class?: string | null;
  size: number;
  values?: ValueDesc[];
  more?: number;
  truncated?: Truncation;
}
export interface DateDesc { $: 'date'; iso: string }
export interface RegExpDesc { $: 'regexp'; source: ValueDesc; flags: string }
export interface ErrorDesc {
  $: 'error';
  class?: string | null;
  name?: ValueDesc;
  message?: ValueDesc;
  stack?: ValueDesc;
  props?: Record<string, ValueDesc>;
  more?: number;
  cause?: ValueDesc;
  truncated?: Truncation;
}
/** `items`: numbers (non-finite and -0 as NumberDesc); BigInt64Array/BigUint64Array items as decimal strings. */
export interface TypedArrayDesc { $: 'typedarray'; class: string; length: number; items: ValueDesc[] }
export interface BufferDesc { $: 'buffer'; length: number; hex: string }
export interface ArrayBufferDesc { $: 'arraybuffer'; class: 'ArrayBuffer' | 'SharedArrayBuffer'; byteLength: number }
export interface DataViewDesc { $: 'dataview'; byteLength: number }
export interface PromiseDesc { $: 'promise' }
export interface GeneratorDesc { $: 'generator' }
export interface BoxedDesc { $: 'boxed'; value: ValueDesc }
export interface ModuleDesc { $: 'module'; keys: string[]; more?: number }
export interface ProxyDesc { $: 'proxy' }
export interface HoleDesc { $: 'hole' }
/** An accessor property: never invoked. */
export interface AccessorDesc { $: 'getter' | 'setter' | 'accessor' }
/** Left out because the byte budget ran out; `more` (in args lists) = how many values it stands for. */
export interface ElidedDesc { $: 'elided'; more?: number }
export interface UnserializableDesc { $: 'unserializable'; error: string }

export type TaggedDesc =
  | StringDesc | NumberDesc | UndefinedDesc | BigIntDesc | SymbolDesc | FunctionDesc
  | ArrayDesc | ObjectDesc | CircularDesc | MapDesc | SetDesc | DateDesc | RegExpDesc | ErrorDesc
  | TypedArrayDesc | BufferDesc | ArrayBufferDesc | DataViewDesc | PromiseDesc | GeneratorDesc
  | BoxedDesc | ModuleDesc | ProxyDesc | HoleDesc | AccessorDesc | ElidedDesc | UnserializableDesc;

export type ValueDesc = string | number | boolean | null | ValueDesc[] | TaggedDesc;

// ---------------------------------------------------------------------------------------------
// Rendering

const ELLIPSIS = '…';

/** Collects output and stops caring once it is longer than the limit. */
class Out {
  text = '';
  constructor(readonly limit: number) {}
  get full(): boolean {
    return this.text.length > this.limit;
  }
  put(s: string): void {
    if (this.text.length <= this.limit) this.text += s;
  }
}

type Fields = Record<string, unknown>;

function isRecord(v: unknown): v is Fields {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function field(d: Fields, key: string): unknown {
  return Object.prototype.hasOwnProperty.call(d, key) ? d[key] : undefined;
}

function num(v: unknown): number | undefined {
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** A string in single quotes, escaped the way util.inspect does. */
function quote(s: string): string {
  let out = "'";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    const ch = s[i] as string;
    if (ch === "'") out += "\\'";
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, '0').toUpperCase()}`;
    else out += ch;
  }
  return `${out}'`;
}

function isIdentifier(key: string): boolean {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key);
}

function renderKey(key: string): string {
  if (isIdentifier(key) || (key.startsWith('[Symbol(') && key.endsWith(')]'))) return key;
  return quote(key);
}

/** Renders `items` separated by ", ", stopping early when the output is full. */
function list<T>(out: Out, items: readonly T[], each: (item: T) => void, more: number): void {
  let first = true;
  for (const item of items) {
    if (out.full) return;
    if (!first) out.put(', ');
    first = false;
    each(item);
  }
  if (more > 0) out.put(`${first ? '' : ', '}${ELLIPSIS} ${more} more`);
}

function renderProps(out: Out, props: unknown, more: number): void {
  const entries = isRecord(props) ? Object.entries(props) : [];
  list(out, entries, ([key, value]) => {
    out.put(`${renderKey(key)}: `);
    render(out, value);
  }, more);
}

/** "Name " prefix for class-carrying descriptions (nothing for plain ones). */
function classPrefix(d: Fields, plain: string): string {
  const cls = field(d, 'class');
  if (cls === null) return `[${plain}: null prototype] `;
  if (typeof cls === 'string' && cls !== '') return `${cls} `;
  return plain === 'Object' ? '' : `${plain} `;
}

function renderTagged(out: Out, d: Fields): void {
  const tag = field(d, '$');
  const more = num(field(d, 'more')) ?? 0;
  const depthCut = field(d, 'truncated') !== undefined;
  switch (tag) {
    case 'string': {
      const head = str(field(d, 'head')) ?? '';
      out.put(`${quote(head).slice(0, -1)}${ELLIPSIS}' (${num(field(d, 'length')) ?? '?'} chars)`);
      return;
    }
    case 'number':
      out.put(str(field(d, 'value')) ?? 'NaN');
      return;
    case 'undefined':
      out.put('undefined');
      return;
    case 'bigint':
      out.put(`${str(field(d, 'value')) ?? '?'}n`);
      return;
    case 'symbol':
      out.put(`Symbol(${str(field(d, 'description')) ?? ''})`);
      return;
    case 'function': {
      const name = str(field(d, 'name')) || '(anonymous)';
      out.put(field(d, 'class') === true ? `[class ${name}]` : `[Function: ${name}]`);
      return;
    }
    case 'array': {
      const length = num(field(d, 'length')) ?? 0;
      const items = field(d, 'items');
      if (depthCut || !Array.isArray(items)) {
        out.put(`[${ELLIPSIS}]`);
        return;
      }
      if (items.length === 0 && more <= 0 && !isRecord(field(d, 'props'))) {
        out.put(length === 0 ? '[]' : `[ ${ELLIPSIS} ${length} more ]`);
        return;
      }
      out.put('[ ');
      list(out, items, (item) => render(out, item), more);
      const props = field(d, 'props');
      const moreProps = num(field(d, 'moreProps')) ?? 0;
      if ((isRecord(props) && Object.keys(props).length > 0) || moreProps > 0) {
        out.put(', ');
        renderProps(out, props, moreProps);
      }
      out.put(' ]');
      return;
    }
    case 'object': {
      const prefix = classPrefix(d, 'Object');
      if (depthCut) {
        out.put(`${prefix}{${ELLIPSIS}}`);
        return;
      }
      const props = field(d, 'props');
      if (!(isRecord(props) && Object.keys(props).length > 0) && more <= 0) {
        out.put(`${prefix}{}`);
        return;
      }
      out.put(`${prefix}{ `);
      renderProps(out, props, more);
      out.put(' }');
      return;
    }
    case 'circular':
      out.put(`<circular ${str(field(d, 'path')) ?? '$'}>`);
      return;
    case 'map':
    case 'set': {
      const plain = tag === 'map' ? 'Map' : 'Set';
      const cls = field(d, 'class');
      const name = typeof cls === 'string' && cls !== '' ? cls : plain;
      out.put(`${name}(${num(field(d, 'size')) ?? '?'}) `);
      const items = field(d, tag === 'map' ? 'entries' : 'values');
      if (depthCut || !Array.isArray(items)) {
        out.put(`{${ELLIPSIS}}`);
        return;
      }
      if (items.length === 0 && more <= 0) {
        out.put('{}');
        return;
      }
      out.put('{ ');
      list(out, items, (item) => {
        if (tag === 'map' && Array.isArray(item)) {
          render(out, item[0]);
          out.put(' => ');
          render(out, item[1]);
        } else render(out, item);
      }, more);
      out.put(' }');
      return;
    }
    case 'date':
      out.put(str(field(d, 'iso')) ?? 'Invalid Date');
      return;
    case 'regexp': {
      const source = field(d, 'source');
      out.put(`/${typeof source === 'string' ? source : isRecord(source) ? `${str(field(source, 'head')) ?? ''}${ELLIPSIS}` : ''}/${str(field(d, 'flags')) ?? ''}`);
      return;
    }
    case 'error': {
      const text = (v: unknown): string => (typeof v === 'string' ? v : isRecord(v) && field(v, '$') === 'string' ? `${str(field(v, 'head')) ?? ''}${ELLIPSIS}` : '');
      const cls = field(d, 'class');
      const name = text(field(d, 'name')) || (typeof cls === 'string' ? cls : '') || 'Error';
      const message = text(field(d, 'message'));
      out.put(message === '' ? name : `${name}: ${message}`);
      const props = field(d, 'props');
      const cause = field(d, 'cause');
      const hasProps = isRecord(props) && Object.keys(props).length > 0;
      if (hasProps || cause !== undefined || more > 0) {
        out.put(' { ');
        if (hasProps || more > 0) renderProps(out, props, more);
        if (cause !== undefined) {
          if (hasProps || more > 0) out.put(', ');
          out.put('[cause]: ');
          render(out, cause);
        }
        out.put(' }');
      }
      return;
    }
    case 'typedarray': {
      const items = field(d, 'items');
      const length = num(field(d, 'length')) ?? 0;
      out.put(`${str(field(d, 'class')) ?? 'TypedArray'}(${length}) `);
      const shown = Array.isArray(items) ? items : [];
      if (length === 0) {
        out.put('[]');
        return;
      }
      const big = (str(field(d, 'class')) ?? '').startsWith('Big');
      out.put('[ ');
      list(out, shown, (item) => (big && typeof item === 'string' ? out.put(`${item}n`) : render(out, item)), length - shown.length);
      out.put(' ]');
      return;
    }
    case 'buffer': {
      const hex = str(field(d, 'hex')) ?? '';
      const length = num(field(d, 'length')) ?? 0;
      const bytes: string[] = [];
      for (let i = 0; i + 1 < hex.length; i += 2) bytes.push(hex.slice(i, i + 2));
      const shown = bytes.join(' ');
      if (bytes.length >= length) out.put(`<Buffer${shown ? ` ${shown}` : ''}>`);
      else out.put(`<Buffer ${shown ? `${shown} ` : ''}${ELLIPSIS} (${length} bytes)>`);
      return;
    }
    case 'arraybuffer':
      out.put(`${str(field(d, 'class')) ?? 'ArrayBuffer'} { byteLength: ${num(field(d, 'byteLength')) ?? '?'} }`);
      return;
    case 'dataview':
      out.put(`DataView { byteLength: ${num(field(d, 'byteLength')) ?? '?'} }`);
      return;
    case 'promise':
      out.put(`Promise {${ELLIPSIS}}`);
      return;
    case 'generator':
      out.put('Object [Generator] {}');
      return;
    case 'boxed': {
      const value = field(d, 'value');
      const kind = typeof value === 'string' || (isRecord(value) && field(value, '$') === 'string') ? 'String'
        : typeof value === 'boolean' ? 'Boolean'
        : isRecord(value) && field(value, '$') === 'bigint' ? 'BigInt'
        : isRecord(value) && field(value, '$') === 'symbol' ? 'Symbol'
        : 'Number';
      out.put(`[${kind}: `);
      render(out, value);
      out.put(']');
      return;
    }
    case 'module': {
      const keys = field(d, 'keys');
      const names = Array.isArray(keys) ? keys.filter((k): k is string => typeof k === 'string') : [];
      if (names.length === 0 && more <= 0) {
        out.put('[Module] {}');
        return;
      }
      out.put('[Module] { ');
      list(out, names, (name) => out.put(renderKey(name)), more);
      out.put(' }');
      return;
    }
    case 'proxy':
      out.put('<proxy>');
      return;
    case 'hole':
      out.put('<empty>');
      return;
    case 'getter':
    case 'setter':
    case 'accessor':
      out.put(`<${tag}>`);
      return;
    case 'elided':
      out.put(more > 0 ? `${ELLIPSIS} ${more} more` : ELLIPSIS);
      return;
    case 'unserializable':
      out.put(`<unserializable${typeof field(d, 'error') === 'string' ? `: ${field(d, 'error') as string}` : ''}>`);
      return;
    default:
      out.put('<?>');
  }
}

function render(out: Out, d: unknown): void {
  if (out.full) return;
  if (typeof d === 'string') out.put(d === REDACTED ? REDACTED : quote(d));
  else if (typeof d === 'number') out.put(Object.is(d, -0) ? '-0' : String(d));
  else if (typeof d === 'boolean') out.put(String(d));
  else if (d === null) out.put('null');
  else if (Array.isArray(d)) {
    if (d.length === 0) out.put('[]');
    else {
      out.put('[ ');
      list(out, d, (item) => render(out, item), 0);
      out.put(' ]');
    }
  } else if (isRecord(d)) renderTagged(out, d);
  else out.put('<?>');
}

/** Cuts `text` to at most `maxChars` characters, marking the cut with "…". */
function bound(text: string, maxChars: number): string {
  const max = Math.max(1, Math.floor(maxChars));
  if (text.length <= max) return text;
  let cut = max - 1;
  const last = text.charCodeAt(cut - 1);
  if (last >= 0xd800 && last <= 0xdbff) cut -= 1; // do not split a surrogate pair
  return `${text.slice(0, Math.max(0, cut))}${ELLIPSIS}`;
}

/** One line, util.inspect-like, never longer than `maxChars`. */
export function renderValue(desc: ValueDesc, maxChars = 120): string {
  const out = new Out(Math.max(1, Math.floor(maxChars)) + 1);
  try {
    render(out, desc);
  } catch {
    out.put('<?>');
  }
  return bound(out.text, maxChars);
}

/** A call's arguments on one line: `user='ann', password=[redacted]`; values without a name stand alone. */
export function renderArgs(names: readonly string[], args: readonly ValueDesc[], maxChars = 120): string {
  const out = new Out(Math.max(1, Math.floor(maxChars)) + 1);
  try {
    for (let i = 0; i < args.length && !out.full; i++) {
      if (i > 0) out.put(', ');
      const name = names[i];
      if (name !== undefined && name !== '') out.put(`${name}=`);
      render(out, args[i]);
    }
  } catch {
    out.put('<?>');
  }
  return bound(out.text, maxChars);
}
