// The instrumenter's AST rewrite: parse a module with oxc-parser and insert probes into every
// function through the edit buffer (edits.ts), so that behaviour is unchanged (same results,
// this, arguments, new.target, exceptions, .length, .name) and stack traces still point at the
// original file:line:column through a chained, inline source map. TypeScript is first stripped of types
// with oxc-transform; its source map is chained with ours.
//
// What a function becomes (B = the module's function-id base, k = the function's index):
//   sync:   { [directives] var $x=1,$v,$t=__recall.en(B+k);try{ BODY ;$x=0}finally{__recall.ex(B+k,$x,$t)} }
//           with every `return X` of the function as `return $v=(X),$x=0,$v`: $x says whether the
//           frame ended by a throw, without a catch-and-rethrow (which would change where V8
//           reports an uncaught error as coming from).
//   async / generator: a frame serial `$f` from __recall.ea, and every await/yield owned by the
//   function records suspend before and resume after; a flag `$a` makes every catch/finally the
//   function owns record the resume that a rejected await or gen.throw()/return() skipped.
// The try block makes a body's top-level function declarations block-scoped. Where that could
// show (a var or parameter of the same name, duplicates, Annex B, direct eval: see
// functionLevelPlan) they are moved in front of the try, back to function level; where even
// that could show, the function alone is left uninstrumented.
// The module registers its function table at the top (`var B=...`). In an ES module a top-level
// function declaration can be called through an import cycle before that line runs, so those
// functions' entry probes register on demand: `(B??__recall$r())+k`.
// Values for the detail lane: the exit probe returns 1 when the runtime wants this call's values
// (it threw, it was slow, a window is open), and only then does `&&__recall.dv(id,how,value,this,
// [params])` run: the parameter array is built on that path alone, so an untriggered call pays a
// branch. A catch clause calls `__recall.ca(id,error)` (where an exception was caught) the same
// way; `throw X` becomes `throw __recall.th(X)` so the thrown value is known where it starts.
// Functions whose names match InstrumentOptions.capture also capture their arguments on entry.
// No newline is ever inserted, so lines never move (except where declarations are moved);
// columns move only after an insertion on the same line, and the source map covers that.

import { lineOf, SourceEdits } from './edits.js';
import { parseSync, rawTransferSupported, visitorKeys, type ParserOptions } from 'oxc-parser';
import { transformSync } from 'oxc-transform';
import remapping from '@jridgewell/remapping';
import { TraceMap, originalPositionFor } from '@jridgewell/trace-mapping';
import { basename } from 'node:path';
import picomatch from 'picomatch';
import { PROBES_GLOBAL, RECALL_MAP_MARKER, RECALL_MAP_SPARSE } from './markers.js';

export type ModuleFormat = 'module' | 'commonjs';

export interface InstrumentOptions {
  filename: string; // absolute path
  format: ModuleFormat;
  typescript: boolean;
  /**
   * The transform-cache key of this source. Given one, a large module's source map is returned
   * in `map` for the cache to keep beside the code, instead of inline: Node would otherwise
   * decode the whole map at load (hundreds of MB for a bundle like typescript.js).
   */
  mapKey?: string;
  /** Function-name globs whose calls capture their arguments on entry (detail lane). */
  capture?: readonly string[];
  /** Emit the detail lane's value probes (default true); false (--no-detail): the leaner exit form. */
  detail?: boolean;
  /**
   * The file's format is not known (a .js file in a package without a "type"): `format` is
   * tried first and, if the source does not parse that way but does as an ES module, it is an
   * ES module, as Node's syntax detection decides. The result says which it was.
   */
  detectModule?: boolean;
  /** Parse through oxc-parser's raw transfer (default: where supported, RAW_TRANSFER); false: its JSON path. */
  rawTransfer?: boolean;
}

/** A character that can continue an identifier or keyword. */
const IDENTIFIER_PART = /[\p{ID_Continue}$\u200c\u200d]/u;

/** Sources larger than this (UTF-16 units) get their source map out of line when they can. */
export const INLINE_MAP_LIMIT = 1 << 20;

/**
 * oxc-parser's raw transfer (Node 22+ on 64-bit little-endian): the parser's AST buffer is read
 * in JS directly instead of going through JSON, about twice as fast on large files
 * (TypeScript's 9 MB _tsc.js: 0.45-0.85 s instead of 0.9-1.7 s on Node 22/24). Same ESTree
 * shape; Node 20 keeps the JSON path.
 */
export const RAW_TRANSFER = rawTransferSupported();

/** parseSync's options; experimentalRawTransfer is handled by its JS entry, not in its typings. */
function parserOptions(sourceType: 'module' | 'commonjs', rawTransfer: boolean): ParserOptions {
  return { sourceType, experimentalRawTransfer: rawTransfer } as ParserOptions;
}

export interface InstrumentResult {
  code: string;
  /** Functions instrumented. */
  functions: number;
  /** Set when the source could not be parsed: code is then the (type-stripped) input, uninstrumented. */
  parseError?: string;
  /** The format the code was instrumented as (differs from the option's after detectModule). */
  format?: ModuleFormat;
  /** The source map (JSON), when it is kept out of line (see InstrumentOptions.mapKey). */
  map?: string;
}

const R = PROBES_GLOBAL;

/**
 * The local names the rewrite introduces in a module: `$r_` and a letter where the module's
 * text has no `$r_` anywhere, else `__recall$` and the letter (chosen so they cannot collide
 * with sane user code). The short form makes instrumented code smaller (TypeScript's _tsc.js:
 * 9.0 MB instead of 10.1), so less of it is read, hashed and compiled at every traced start.
 */
export interface LocalNames {
  /** The module's function-id base. */
  base: string;
  /** The function that registers the module on demand (early functions of ES modules). */
  register: string;
  /** An async or generator frame's serial. */
  frame: string;
  /** 1 while an async/generator frame is suspended at an await or yield. */
  awaiting: string;
  /** The binding given to `catch {` (and generators' rethrowing catch). */
  err: string;
  /** 1 until the function completes normally: the finally then records exit or throw. */
  threw: string;
  /** The enter time of a sync call, or -1 when it is not timed. */
  entered: string;
  /** A return value, held while `threw` is cleared. */
  value: string;
  /** Prefix of the per-finally save of `threw`. */
  saved: string;
}

const SHORT_PREFIX = '$r_';
const LONG_PREFIX = `${PROBES_GLOBAL}$`;

export function localNames(source: string): LocalNames {
  const p = source.includes(SHORT_PREFIX) ? LONG_PREFIX : SHORT_PREFIX;
  return { base: `${p}B`, register: `${p}r`, frame: `${p}f`, awaiting: `${p}a`, err: `${p}e`, threw: `${p}x`, entered: `${p}t`, value: `${p}v`, saved: `${p}s` };
}

// oxc's ESTree nodes, typed loosely: we read type, start, end and the fields of the kinds we rewrite.
interface Node {
  type: string;
  start: number;
  end: number;
  [key: string]: unknown;
}

interface FnInfo {
  node: Node;
  index: number;
  name: string;
  kind: string;
  async: boolean;
  generator: boolean;
  /** Position (0-based offset) reported as the function's location. */
  at: number;
  /** Can run before the module body does (see Rewriter.walk): its ids register the module on demand. */
  early: boolean;
  /** See functionLevelPlan: null for the usual wrapping; 'skip' leaves the function as it is. */
  plan: FunctionLevelPlan | 'skip' | null;
  /** Names the parameters bind, in order (destructured parameters contribute each name). */
  params: string[];
  /** What the detail probes get as `this`: 'this', or 'void 0' (arrows; derived constructors, where `this` can be unbound). */
  self: string;
  /**
   * Parameters a catch clause may name: those no block inside the function redeclares (a shadow
   * or its TDZ would show). Found at the function's first catch clause (catchParamsOf): it takes
   * a walk of the body, and most functions catch nothing.
   */
  catchParams: string[] | null;
  /** Arguments are captured on entry (InstrumentOptions.capture matched the name). */
  capture: boolean;
}

const FUNCTION_TYPES = new Set(['FunctionDeclaration', 'FunctionExpression', 'ArrowFunctionExpression']);

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && typeof (value as Node).type === 'string';
}

/**
 * A node with nothing inside that any walk of the instrumenter looks for: a name (with no
 * decorators), a literal, `this`. About half of all nodes; walks skip them (Rewriter.walkChild
 * makes the same test inline, with the type it has read).
 */
function isLeaf(node: Node): boolean {
  const type = node.type;
  return type === 'Literal' || type === 'ThisExpression' || (type === 'Identifier' && !hasDecorators(node));
}

/** An identifier with decorators (a decorated parameter) is no leaf: the decorators are code. */
function hasDecorators(node: Node): boolean {
  return Array.isArray(node.decorators) && node.decorators.length > 0;
}

/**
 * The keys that hold a node's children, per node type, in source order: oxc's own table
 * (visitorKeys), read instead of a `for in` over every field of every node.
 */
const CHILD_KEYS: Record<string, readonly string[] | undefined> = visitorKeys;

/** The keys of `node` that can hold children: its type's from CHILD_KEYS, or all of them for a type the table lacks. */
function childKeys(node: Node, type: string = node.type): readonly string[] {
  const keys = CHILD_KEYS[type];
  if (keys !== undefined) return keys;
  return Object.keys(node).filter((key) => key !== 'type' && key !== 'start' && key !== 'end');
}

/** Call `visit` on each child node of `node`, in source order, but for leaves (isLeaf). */
function forEachChild(node: Node, visit: (child: Node) => void): void {
  const keys = childKeys(node);
  for (let k = 0; k < keys.length; k++) {
    const value = node[keys[k] as string];
    if (Array.isArray(value)) {
      for (let i = 0; i < value.length; i++) {
        const child: unknown = value[i];
        if (isNode(child) && !isLeaf(child)) visit(child);
      }
    } else if (isNode(value) && !isLeaf(value)) visit(value);
  }
}

/** The function's catchParams, found on first use. */
function catchParamsOf(fn: FnInfo): string[] {
  if (fn.catchParams === null) {
    const shadowed = fn.params.length > 0 ? blockScopedNames(fn.node) : null;
    fn.catchParams = shadowed ? fn.params.filter((name) => !shadowed.has(name)) : fn.params;
  }
  return fn.catchParams;
}

/**
 * A JS string literal for `text` in ASCII only (\uXXXX escapes), the same string at run time. An
 * ASCII source stays ASCII instrumented: one non-ASCII character (the "…" of a shortened name)
 * made V8 hold TypeScript's 10 MB module as a two-byte string, and reading it from the cache
 * took 55-60 ms instead of 13-16.
 */
function asciiLiteral(text: string): string {
  const json = JSON.stringify(text);
  // Already ASCII, as nearly every table is: a native count (typescript.js's 1.5 MB table:
  // well under 1 ms) instead of the regex's scan (~6 ms).
  if (Buffer.byteLength(json, 'utf8') === json.length && !json.includes('\u007f')) return json;
  return json.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** A short piece of source for a name, on one line. */
function snippet(source: string, node: Node): string {
  return source.slice(node.start, Math.min(node.end, node.start + 40)).replace(/\s+/g, ' ');
}

function keyName(key: unknown, computed: boolean, source: string): string {
  if (!isNode(key)) return '(anonymous)';
  if (!computed && key.type === 'Identifier') return String(key.name);
  if (key.type === 'PrivateIdentifier') return '#' + String(key.name);
  if (key.type === 'Literal') return String(key.value);
  return '[' + snippet(source, key) + ']';
}

function memberName(node: unknown, source: string): string {
  if (!isNode(node)) return '(anonymous)';
  if (node.type === 'Identifier') return String(node.name);
  if (node.type === 'MemberExpression') {
    return memberName(node.object, source) + '.' + keyName(node.property, node.computed === true, source);
  }
  if (node.type === 'ThisExpression') return 'this';
  return snippet(source, node);
}

/** Name a function the way a reader of the source would, from its own id or where it stands. */
function inferName(fn: Node, parent: Node | null, className: string | null, source: string): { name: string; kind: string; at: number } {
  const id = fn.id;
  const base = fn.type === 'ArrowFunctionExpression' ? 'arrow' : 'function';
  if (parent && parent.type === 'MethodDefinition') {
    const key = keyName(parent.key, parent.computed === true, source);
    const owner = className ?? '(class)';
    const kind = String(parent.kind);
    if (kind === 'constructor') return { name: `${owner}`, kind: 'constructor', at: parent.start };
    const sep = parent.static === true ? '.' : '.prototype.';
    const prefix = kind === 'get' ? 'get ' : kind === 'set' ? 'set ' : '';
    return { name: `${prefix}${owner}${sep}${key}`, kind: kind === 'method' ? 'method' : kind, at: parent.start };
  }
  if (parent && parent.type === 'PropertyDefinition' && parent.value === fn) {
    const key = keyName(parent.key, parent.computed === true, source);
    return { name: `${className ?? '(class)'}.${key}`, kind: 'field ' + base, at: parent.start };
  }
  if (parent && parent.type === 'Property' && parent.value === fn) {
    const key = keyName(parent.key, parent.computed === true, source);
    const kind = String(parent.kind);
    if (kind === 'get' || kind === 'set') return { name: `${kind} ${key}`, kind, at: parent.start };
    return { name: isNode(id) ? String(id.name) : key, kind: parent.method === true ? 'method' : base, at: parent.method === true ? parent.start : fn.start };
  }
  if (isNode(id)) return { name: String(id.name), kind: base, at: fn.start };
  if (parent && parent.type === 'VariableDeclarator' && isNode(parent.id) && parent.id.type === 'Identifier') {
    return { name: String(parent.id.name), kind: base, at: fn.start };
  }
  if (parent && parent.type === 'AssignmentExpression' && parent.right === fn) {
    return { name: memberName(parent.left, source), kind: base, at: fn.start };
  }
  if (parent && parent.type === 'AssignmentPattern' && parent.right === fn && isNode(parent.left) && parent.left.type === 'Identifier') {
    return { name: String(parent.left.name), kind: base, at: fn.start };
  }
  if (parent && parent.type === 'ExportDefaultDeclaration') return { name: 'default', kind: base, at: fn.start };
  if (parent && (parent.type === 'CallExpression' || parent.type === 'NewExpression') && parent.callee !== fn) {
    const callee = memberName(parent.callee, source);
    const shown = callee.length > 30 ? callee.slice(0, 30) + '…' : callee;
    return { name: `(anonymous in ${parent.type === 'NewExpression' ? 'new ' : ''}${shown})`, kind: base, at: fn.start };
  }
  return { name: '(anonymous)', kind: base, at: fn.start };
}

/** Offset just after the `{` of a block body, past its directive prologue ('use strict' etc.). */
function bodyInsertPoint(body: Node): number {
  return afterDirectives((body.body as Node[] | undefined) ?? [], body.start + 1);
}

/** Past a directive prologue; the caller's insertion then starts with ';' when a directive lacks one. */
function afterDirectives(statements: Node[], from: number): number {
  let at = from;
  for (const st of statements) {
    if (st.type === 'ExpressionStatement' && typeof st.directive === 'string') at = st.end;
    else break;
  }
  return at;
}

function isDirective(st: Node): boolean {
  return st.type === 'ExpressionStatement' && typeof st.directive === 'string';
}

/** A statement that declares a function at the top level of a body: `function g(){}`, also labelled. */
function hoistedFunctionName(st: Node): string | null {
  let node: unknown = st;
  while (isNode(node) && node.type === 'LabeledStatement') node = node.body;
  if (!isNode(node) || node.type !== 'FunctionDeclaration' || !isNode(node.id)) return null;
  return String(node.id.name);
}

/** Names a binding pattern (parameter or declarator) binds. */
function boundNames(pattern: unknown, out: { add(name: string): unknown }): void {
  if (!isNode(pattern)) return;
  switch (pattern.type) {
    case 'Identifier':
      out.add(String(pattern.name));
      return;
    case 'AssignmentPattern':
      boundNames(pattern.left, out);
      return;
    case 'RestElement':
      boundNames(pattern.argument, out);
      return;
    case 'ArrayPattern':
      for (const element of (pattern.elements as unknown[]) ?? []) boundNames(element, out);
      return;
    case 'ObjectPattern':
      for (const property of (pattern.properties as Node[]) ?? []) boundNames(property.type === 'Property' ? property.value : property, out);
      return;
    default:
      return;
  }
}

/** A function's parameter names in order, without duplicates. */
function parameterNames(fn: Node): string[] {
  const names: string[] = [];
  const seen = new Set<string>();
  const add = (name: string): void => {
    if (!seen.has(name)) {
      seen.add(name);
      names.push(name);
    }
  };
  for (const param of (fn.params as unknown[]) ?? []) boundNames(param, { add });
  return names;
}

/**
 * Names declared in some block inside the function body (not its top level, not nested
 * functions): let/const/class, block-level function declarations and catch parameters. A catch
 * clause that mentioned a parameter of such a name could see the shadow, or its temporal dead zone.
 */
function blockScopedNames(fn: Node): Set<string> {
  const names = new Set<string>();
  const body = fn.body;
  if (!isNode(body) || body.type !== 'BlockStatement') return names;
  const visit = (node: Node, top: boolean): void => {
    if (FUNCTION_TYPES.has(node.type)) {
      if (node.type === 'FunctionDeclaration' && !top && isNode(node.id)) names.add(String(node.id.name));
      return;
    }
    if (node.type === 'VariableDeclaration' && node.kind !== 'var') {
      for (const declarator of (node.declarations as Node[]) ?? []) boundNames(declarator.id, names);
    } else if ((node.type === 'ClassDeclaration' || node.type === 'ClassExpression') && isNode(node.id)) {
      names.add(String(node.id.name));
    } else if (node.type === 'CatchClause') {
      boundNames(node.param, names);
    }
    forEachChild(node, (child) => visit(child, false));
  };
  for (const st of (body.body as Node[]) ?? []) {
    // Top-level let/const/class of the body cannot share a parameter's name (a SyntaxError).
    if (st.type === 'FunctionDeclaration') continue;
    forEachChild(st, (child) => visit(child, false));
    if (st.type === 'ClassDeclaration' && isNode(st.id)) names.add(String(st.id.name));
  }
  return names;
}

interface FunctionLevelPlan {
  /** Where `try{` goes: the first statement that is not a function declaration (or the body's end). */
  tryAt: number;
  /** Function declarations after that statement, moved in front of the try. */
  moved: Node[];
}

/**
 * The wrapping try block turns a body's top-level function declarations from function-scoped
 * into block-scoped ones. Usually nobody can tell, but some programs can: a `var` of the same
 * name (a SyntaxError in a block), two declarations of one name (a SyntaxError in a strict
 * block), a parameter of that name (sloppy `arguments` no longer sees the function), a sloppy
 * block-level function of that name (Annex B no longer assigns it), a direct eval declaring it.
 * For those bodies the declarations are moved in front of the try, back to function level
 * (where their position is immaterial: they are instantiated on entry). But there they no
 * longer see the body's top-level let/const/class, which stay inside the try: when one of the
 * declarations mentions such a name, the function is left uninstrumented ('skip') rather than
 * changed. Returns where the try starts and what to move, 'skip', or null when the body needs
 * nothing moved.
 */
function functionLevelPlan(fn: Node, statements: Node[], bodyEnd: number): FunctionLevelPlan | 'skip' | null {
  const names: string[] = [];
  let first = -1; // the first statement that is neither a directive nor a function declaration
  for (let i = 0; i < statements.length; i++) {
    const st = statements[i] as Node;
    if (first < 0 && isDirective(st)) continue;
    const name = hoistedFunctionName(st);
    if (name !== null) names.push(name);
    else if (first < 0) first = i;
  }
  if (names.length === 0) return null;
  const declared = new Set(names);
  let conflict = declared.size !== names.length;
  if (!conflict) {
    const others = new Set<string>();
    for (const param of (fn.params as unknown[]) ?? []) boundNames(param, others);
    // The body's own code: var names, nested function declarations, direct eval.
    const visit = (node: Node, top: boolean): void => {
      if (conflict) return;
      if (node.type === 'VariableDeclaration' && node.kind === 'var') {
        for (const declarator of (node.declarations as Node[]) ?? []) boundNames(declarator.id, others);
      } else if (node.type === 'FunctionDeclaration') {
        if (!top && isNode(node.id)) others.add(String(node.id.name));
        return;
      } else if (FUNCTION_TYPES.has(node.type) || node.type === 'StaticBlock') {
        return;
      } else if (node.type === 'CallExpression' && isNode(node.callee) && node.callee.type === 'Identifier' && node.callee.name === 'eval') {
        conflict = true;
        return;
      }
      forEachChild(node, (child) => visit(child, false));
    };
    for (const st of statements) {
      let node: Node = st;
      while (node.type === 'LabeledStatement' && isNode(node.body)) node = node.body;
      visit(node, true);
    }
    for (const name of declared) if (others.has(name)) conflict = true;
  }
  if (!conflict) return null;
  const lexical = new Set<string>();
  for (const st of statements) {
    if (st.type === 'VariableDeclaration' && st.kind !== 'var') {
      for (const declarator of (st.declarations as Node[]) ?? []) boundNames(declarator.id, lexical);
    } else if (st.type === 'ClassDeclaration' && isNode(st.id)) {
      lexical.add(String(st.id.name));
    }
  }
  if (lexical.size > 0) {
    // Any mention counts (shadowing is ignored): being cautious only costs instrumentation.
    const mentions = (node: Node): boolean => {
      if (node.type === 'Identifier' && lexical.has(String(node.name))) return true;
      for (const key in node) {
        if (key === 'type' || key === 'start' || key === 'end') continue;
        const value = node[key];
        if (Array.isArray(value)) {
          for (const child of value) if (isNode(child) && mentions(child)) return true;
        } else if (isNode(value) && mentions(value)) return true;
      }
      return false;
    };
    if (statements.some((st) => hoistedFunctionName(st) !== null && mentions(st))) return 'skip';
  }
  const rest = first < 0 ? [] : statements.slice(first + 1);
  return {
    tryAt: first < 0 ? bodyEnd - 1 : (statements[first] as Node).start,
    moved: rest.filter((st) => hoistedFunctionName(st) !== null),
  };
}

class Rewriter {
  readonly s: SourceEdits;
  /** The local names of this module's probes. */
  readonly n: LocalNames;
  readonly fns: FnInfo[] = [];
  /** Some function can run before the module body: registration must be possible on demand. */
  anyEarly = false;
  private readonly source: string;
  private readonly format: ModuleFormat;
  private readonly capture: ((name: string) => boolean) | null;
  /** Inside the body of a class that extends another (its constructor's `this` may be unbound). */
  private derivedClass = false;

  private readonly detail: boolean;

  constructor(source: string, format: ModuleFormat, capture: readonly string[] = [], detail = true) {
    this.detail = detail;
    this.source = source;
    this.format = format;
    this.s = new SourceEdits(source);
    this.n = localNames(source);
    this.capture = capture.length > 0 ? picomatch(capture as string[]) : null;
  }

  /**
   * Walk the tree; `owner` is the innermost function whose awaits/yields/catches we are inside.
   * `early`: inside a top-level function declaration of an ES module, which a module earlier in
   * an import cycle can call before this module's body (and its registration) has run.
   */
  walk(node: Node, parent: Node | null, owner: FnInfo | null, className: string | null, early = false): void {
    this.walkNode(node, node.type, parent, owner, className, early);
  }

  /**
   * walk() with the node's type read once: nodes come in many shapes, so each `node.type` is a
   * megamorphic load, and a node's type was read a dozen times on its way through.
   */
  private walkNode(node: Node, type: string, parent: Node | null, owner: FnInfo | null, className: string | null, early: boolean): void {
    let fn: FnInfo | null = null;
    let cls = className;
    if (!early && type === 'FunctionDeclaration' && this.format === 'module' && parent) {
      early = parent.type === 'Program' || parent.type === 'ExportNamedDeclaration' || parent.type === 'ExportDefaultDeclaration';
    }
    if (type === 'FunctionDeclaration' || type === 'FunctionExpression' || type === 'ArrowFunctionExpression') {
      const inferred = inferName(node, parent, className, this.source);
      const arrow = type === 'ArrowFunctionExpression';
      const derivedConstructor = inferred.kind === 'constructor' && this.derivedClass;
      const params = parameterNames(node);
      const shortName = inferred.name.slice(inferred.name.lastIndexOf('.') + 1);
      fn = {
        node,
        params,
        self: arrow || derivedConstructor ? 'void 0' : 'this',
        catchParams: null,
        capture: this.capture !== null && (this.capture(inferred.name) || this.capture(shortName)),
        index: this.fns.length,
        name: inferred.name,
        kind: (node.async === true ? 'async ' : '') + (node.generator === true ? 'generator ' : '') + inferred.kind,
        async: node.async === true,
        generator: node.generator === true,
        at: inferred.at,
        early,
        plan: isNode(node.body) && node.body.type === 'BlockStatement' ? functionLevelPlan(node, (node.body.body as Node[] | undefined) ?? [], node.body.end) : null,
      };
      if (early) this.anyEarly = true;
      this.fns.push(fn);
    } else if (type === 'ClassDeclaration' || type === 'ClassExpression') {
      const id = node.id;
      cls = isNode(id) ? String(id.name) : parent && parent.type === 'VariableDeclarator' && isNode(parent.id) ? String(parent.id.name) : '(class)';
    }
    if (type === 'LabeledStatement') {
      // Each labelled statement's end maps to the outermost label sharing that end (L1: L2: for
      // await ...), noted on the way down, before the loop's rewrite looks it up.
      this.labelStarts.set(node.end, parent && parent.type === 'LabeledStatement' ? this.outermostLabel(parent) : node);
    }
    const inner = fn ?? owner;
    const wasDerived = this.derivedClass;
    if (type === 'ClassBody' && parent) this.derivedClass = isNode(parent.superClass);
    // Children first (post-order), so that insertions at shared offsets nest correctly:
    // prefixes use prependRight (later = outer = earlier in text), suffixes appendLeft (later = outer = after).
    this.walkChildren(node, type, inner, cls, early);
    this.derivedClass = wasDerived;
    if (fn) {
      if (fn.plan !== 'skip') this.rewriteFunction(fn);
    } else if (owner && owner.plan !== 'skip') {
      if (!owner.generator) this.rewriteCompletion(node, type);
      if (owner.async || owner.generator) this.rewriteSuspendPoint(node, type, parent, owner);
      this.rewriteExceptionPoint(node, type, owner);
    } else if (owner === null) {
      this.rewriteExceptionPoint(node, type, null);
    }
  }

  /**
   * walk() each child of `node` but leaves, in source order. The commonest kinds (four in five
   * inner nodes of TypeScript's typescript.js) read their fields by name, the rest through
   * CHILD_KEYS: a bare traversal of that file's 465 K inner nodes took 38 ms so, against 55 ms
   * through the table alone and more with `for in`.
   */
  private walkChildren(node: Node, type: string, owner: FnInfo | null, cls: string | null, early: boolean): void {
    switch (type) {
      case 'MemberExpression':
        this.walkChild(node.object, node, owner, cls, early);
        if (node.computed === true) this.walkChild(node.property, node, owner, cls, early);
        return;
      case 'CallExpression':
        this.walkChild(node.callee, node, owner, cls, early);
        this.walkList(node.arguments, node, owner, cls, early);
        return;
      case 'ExpressionStatement':
        this.walkChild(node.expression, node, owner, cls, early);
        return;
      case 'BlockStatement':
        this.walkList(node.body, node, owner, cls, early);
        return;
      case 'BinaryExpression':
      case 'LogicalExpression':
      case 'AssignmentExpression':
        this.walkChild(node.left, node, owner, cls, early);
        this.walkChild(node.right, node, owner, cls, early);
        return;
      case 'VariableDeclaration':
        this.walkList(node.declarations, node, owner, cls, early);
        return;
      case 'VariableDeclarator':
        this.walkChild(node.id, node, owner, cls, early);
        this.walkChild(node.init, node, owner, cls, early);
        return;
      case 'ReturnStatement':
        this.walkChild(node.argument, node, owner, cls, early);
        return;
      case 'IfStatement':
        this.walkChild(node.test, node, owner, cls, early);
        this.walkChild(node.consequent, node, owner, cls, early);
        this.walkChild(node.alternate, node, owner, cls, early);
        return;
    }
    const keys = childKeys(node, type);
    for (let k = 0; k < keys.length; k++) {
      const value = node[keys[k] as string];
      if (Array.isArray(value)) this.walkList(value, node, owner, cls, early);
      else this.walkChild(value, node, owner, cls, early);
    }
  }

  /** walk() `value` when it is a node and not a leaf (isLeaf's test, inline: its type read once). */
  private walkChild(value: unknown, parent: Node, owner: FnInfo | null, cls: string | null, early: boolean): void {
    if (typeof value !== 'object' || value === null) return;
    const type = (value as Node).type;
    if (typeof type !== 'string' || type === 'Literal' || type === 'ThisExpression') return;
    if (type === 'Identifier' && !hasDecorators(value as Node)) return;
    this.walkNode(value as Node, type, parent, owner, cls, early);
  }

  private walkList(list: unknown, parent: Node, owner: FnInfo | null, cls: string | null, early: boolean): void {
    if (!Array.isArray(list)) return;
    for (let i = 0; i < list.length; i++) this.walkChild(list[i], parent, owner, cls, early);
  }

  /** The detail probes' arguments after the id: `this` and the parameters as an array. */
  private values(fn: FnInfo, params = fn.params): string {
    return `${fn.self},[${params.join(',')}]`;
  }

  /** Catch clauses say where an exception was caught; `throw X` hands X to the runtime. */
  private rewriteExceptionPoint(node: Node, type: string, owner: FnInfo | null): void {
    if (type !== 'CatchClause' && type !== 'ThrowStatement') return;
    const s = this.s;
    if (type === 'CatchClause') {
      const body = node.body as Node;
      // `catch {` has no binding for the error: give it one (n.err: no user code names it; it
      // shadows nothing the body can see), so the runtime still learns what was caught.
      if (!isNode(node.param)) s.appendLeft(body.start, `(${this.n.err})`);
      const param = isNode(node.param) ? (node.param.type === 'Identifier' ? String(node.param.name) : 'void 0') : this.n.err;
      if (!this.detail) {
        // No detail lane: only where it was caught (function id 0 at top level).
        s.appendLeft(body.start + 1, `${R}.ca(${owner === null ? '0' : this.id(owner)},${param});`);
        return;
      }
      if (owner === null) {
        // Module top level: where it was caught and the error (no function, no parameters).
        s.appendLeft(body.start + 1, `${R}.ca(0,${param})&&${R}.dv(0,2,${param},void 0,[]);`);
        return;
      }
      const params = catchParamsOf(owner).filter((name) => name !== param);
      const id = this.id(owner);
      // After the resume check an async owner inserted at the same point.
      s.appendLeft(body.start + 1, `${R}.ca(${id},${param})&&${R}.dv(${id},2,${param},${this.values(owner, params)});`);
    } else if (type === 'ThrowStatement' && isNode(node.argument) && this.detail) {
      this.spaceAfterWord(node.argument.start);
      s.prependRight(node.argument.start, `${R}.th(`);
      s.appendLeft(node.argument.end, ')');
    }
  }

  /** The function's id; on entry, an early function registers the module if nothing has yet. */
  private id(fn: FnInfo, entry = false): string {
    return entry && fn.early ? `(${this.n.base}??${this.n.register}())+${fn.index}` : `${this.n.base}+${fn.index}`;
  }

  private resumeCheck(fn: FnInfo): string {
    return `${this.n.awaiting}&&${R}.rr(${this.id(fn)},${this.n.frame},${this.n.awaiting}=0);`;
  }

  private finallyCount = 0;

  /**
   * Minified code writes `return!x`, `throw"e"`, `await(p)`, `of(list)`: a probe inserted right
   * after such a keyword must not join it into one identifier (`return__recall$v`).
   */
  private spaceAfterWord(at: number): void {
    if (IDENTIFIER_PART.test(this.source.charAt(at - 1))) this.s.appendLeft(at, ' ');
  }

  /**
   * Non-generator functions tell a normal exit from a throw without catching (a rethrow would
   * move V8's idea of where an uncaught error came from): THREW starts at 1 and every way of
   * completing normally clears it. `return X` becomes `return V=(X),THREW=0,V` (X is evaluated
   * first, so a throwing X still counts as a throw). A user's finally block may replace the
   * completion in flight (throw, return, break), so it sets THREW while it runs and restores
   * it if it completes normally.
   */
  private rewriteCompletion(node: Node, type: string): void {
    if (type !== 'ReturnStatement' && type !== 'TryStatement') return;
    const s = this.s;
    if (type === 'ReturnStatement') {
      const arg = node.argument;
      if (isNode(arg)) {
        this.spaceAfterWord(arg.start);
        s.prependRight(arg.start, `${this.n.value}=(`);
        s.appendLeft(arg.end, `),${this.n.threw}=0,${this.n.value}`);
      } else {
        s.appendLeft(node.start + 'return'.length, ` ${this.n.threw}=0,void 0`);
      }
    } else if (type === 'TryStatement' && isNode(node.finalizer)) {
      const finalizer = node.finalizer;
      const saved = `${this.n.saved}${this.finallyCount++}`;
      s.appendLeft(finalizer.start + 1, `var ${saved}=${this.n.threw};${this.n.threw}=1;`);
      s.appendLeft(finalizer.end - 1, `;${this.n.threw}=${saved}`);
    }
  }

  private rewriteSuspendPoint(node: Node, type: string, parent: Node | null, fn: FnInfo): void {
    const s = this.s;
    switch (type) {
      case 'AwaitExpression':
      case 'YieldExpression': {
        const id = this.id(fn);
        const arg = node.argument;
        const keywordEnd = type === 'AwaitExpression' ? node.start + 5 : isNode(arg) ? arg.start : node.end;
        s.prependRight(node.start, `${R}.rs(${id},${this.n.frame},`);
        if (isNode(arg)) {
          this.spaceAfterWord(arg.start);
          s.prependRight(arg.start, `${R}.sp(${id},${this.n.frame},`);
          s.appendLeft(arg.end, `,${this.n.awaiting}=1)`);
        } else {
          s.appendLeft(keywordEnd, ` ${R}.sp(${id},${this.n.frame},void 0,${this.n.awaiting}=1)`);
        }
        s.appendLeft(node.end, `,${this.n.awaiting}=0)`);
        return;
      }
      case 'CatchClause': {
        const body = node.body as Node;
        s.appendLeft(body.start + 1, this.resumeCheck(fn));
        return;
      }
      case 'TryStatement': {
        const finalizer = node.finalizer;
        if (isNode(finalizer)) s.appendLeft(finalizer.start + 1, this.resumeCheck(fn));
        return;
      }
      case 'ForOfStatement': {
        if (node.await !== true) return;
        const id = this.id(fn);
        const right = node.right as Node;
        this.spaceAfterWord(right.start);
        s.prependRight(right.start, `${R}.sp(${id},${this.n.frame},`);
        s.appendLeft(right.end, `,${this.n.awaiting}=1)`);
        const body = node.body as Node;
        const check = this.resumeCheck(fn);
        // The finally records the resume an abrupt exit skipped (rejected await, gen.return()
        // at a yield in the body) before the suspend of the loop's next step or iterator close.
        const suspend = `}finally{${check}${R}.sp(${id},${this.n.frame},0,${this.n.awaiting}=1)}`;
        if (body.type === 'BlockStatement') {
          s.appendLeft(body.start + 1, `${check}try{`);
          s.appendLeft(body.end - 1, suspend);
        } else {
          s.prependRight(body.start, `{${check}try{`);
          s.appendLeft(body.end, `${suspend}}`);
        }
        // The statement (with its labels) is wrapped so the resume after the loop's last await is recorded.
        const outer = parent && parent.type === 'LabeledStatement' ? this.outermostLabel(parent) : node;
        s.prependRight(outer.start, '{');
        s.appendLeft(outer.end, `;${check}}`);
        return;
      }
      default:
        return;
    }
  }

  private labelStarts = new Map<number, Node>();

  /** Labels are noted on the way down (walk); the outermost label of a chain. */
  private outermostLabel(label: Node): Node {
    return this.labelStarts.get(label.end) ?? label;
  }

  private rewriteFunction(fn: FnInfo): void {
    const s = this.s;
    const node = fn.node;
    const body = node.body as Node;
    const id = this.id(fn);
    const suspending = fn.async || fn.generator;
    const entryId = this.id(fn, true);
    const locals = fn.generator ? `${this.n.threw}=0` : `${this.n.threw}=1,${this.n.value}`;
    const captureEntry = fn.capture ? `${R}.de(${id},${this.values(fn)});` : '';
    const entered = (suspending ? `var ${this.n.frame}=${R}.ea(${entryId}),${this.n.awaiting}=0,${locals};` : `var ${locals},${this.n.entered}=${R}.en(${entryId});`) + captureEntry;
    const detail = this.detail ? `&&${R}.dv(${id},${this.n.threw},${fn.generator ? 'void 0' : this.n.value},${this.values(fn)})` : '';
    // Async frames pass their serial (the slow trigger times them); generators' lifetimes are not calls.
    const exit = (suspending ? `${R}.xa(${id},${this.n.threw},${fn.generator ? 0 : this.n.frame})` : `${R}.ex(${id},${this.n.threw},${this.n.entered})`) + detail;
    const enter = `${entered}try{`;
    const check = suspending ? this.resumeCheck(fn) : '';
    // Generators can end by gen.return() at a yield, which no return statement sees: they keep
    // a catch that marks throws. Every other function marks normal completion instead.
    const leave = fn.generator
      ? `}catch(${this.n.err}){${check}${this.n.threw}=1;throw ${this.n.err}}finally{${check}${exit}}`
      : `;${this.n.threw}=0}finally{${check}${exit}}`;
    if (body.type === 'BlockStatement') {
      const at = bodyInsertPoint(body);
      const plan = fn.plan;
      if (plan && plan !== 'skip') {
        // { [directives] enter; [declarations, moved here] try{ BODY }catch...finally... }
        // The leave goes to the right of body.end-1 so that it stays put when the body's last
        // statement is moved; moved chunks land after the enter and before the `try{`.
        s.appendLeft(at, (at > body.start + 1 ? ';' : '') + entered);
        s.prependRight(body.end - 1, leave);
        for (const declaration of plan.moved) {
          s.appendLeft(declaration.start, ';'); // what stood on either side must not join up
          s.move(declaration.start, declaration.end, plan.tryAt);
        }
        s.prependRight(plan.tryAt, 'try{');
      } else {
        s.appendLeft(at, (at > body.start + 1 ? ';' : '') + enter);
        s.appendLeft(body.end - 1, leave);
      }
    } else {
      // Arrow with an expression body: give it a block body that returns the expression.
      s.prependRight(body.start, `{${enter}return ${this.n.value}=(`);
      s.appendLeft(node.end, `),${this.n.threw}=0,${this.n.value}${leave}}`);
    }
  }
}

/** 1-based line and 0-based column of `offset`. */
function positionOf(starts: readonly number[], offset: number): { line: number; column: number } {
  const line = lineOf(starts, offset);
  return { line: line + 1, column: offset - (starts[line] as number) };
}

/** Where the module-level registration statement goes: after a hashbang and the directive prologue. */
function programInsertPoint(program: Node, source: string): number {
  let at = 0;
  if (source.startsWith('#!')) {
    const nl = source.indexOf('\n');
    at = nl === -1 ? source.length : nl + 1;
  }
  return afterDirectives((program.body as Node[]) ?? [], at);
}

/** Strip TypeScript types; returns JS and the TS→JS source map. */
function stripTypes(source: string, filename: string): { code: string; map: unknown } {
  const result = transformSync(filename, source, { sourcemap: true, target: 'esnext' });
  if (result.errors.length > 0) {
    const first = result.errors[0];
    throw new SyntaxError(`${filename}: ${first ? first.message : 'TypeScript transform failed'}`);
  }
  return { code: result.code, map: result.map };
}

type RemapInput = Exclude<Parameters<typeof remapping>[0], unknown[]>;

function inlineMap(map: object): string {
  return '\n//# sourceMappingURL=data:application/json;charset=utf-8;base64,' + Buffer.from(JSON.stringify(map)).toString('base64');
}

/**
 * Instrument one module. Never throws for bad user code: a parse failure returns the source
 * unchanged (Node then reports the syntax error itself, exactly as untraced).
 */
export function instrumentSource(source: string, options: InstrumentOptions): InstrumentResult {
  const { filename } = options;
  let js = source;
  let tsMap: unknown = null;
  if (options.typescript) {
    try {
      const stripped = stripTypes(source, filename);
      js = stripped.code;
      tsMap = stripped.map;
    } catch (error) {
      return { code: source, functions: 0, parseError: (error as Error).message };
    }
  }
  const parseName = filename.replace(/\.[cm]?tsx?$/, '.js');
  const rawTransfer = options.rawTransfer ?? RAW_TRANSFER;
  let format = options.format;
  let parsed = parseSync(parseName, js, parserOptions(format === 'module' ? 'module' : 'commonjs', rawTransfer));
  if (parsed.errors.length > 0 && options.detectModule === true && format === 'commonjs') {
    // Node's detection: source that fails as CommonJS but compiles as an ES module is one.
    const asModule = parseSync(parseName, js, parserOptions('module', rawTransfer));
    if (asModule.errors.length === 0) {
      parsed = asModule;
      format = 'module';
    }
  }
  if (parsed.errors.length > 0) {
    const first = parsed.errors[0];
    const fallback = tsMap ? js + inlineMap(tsMap as object) : source;
    return { code: fallback, functions: 0, parseError: first ? first.message : 'parse error' };
  }
  const program = parsed.program as unknown as Node;
  const rewriter = new Rewriter(js, format, options.capture, options.detail !== false);
  rewriter.walk(program, null, null, null);
  const fns = rewriter.fns;
  const s = rewriter.s;
  const names = rewriter.n;
  const file = basename(filename);

  // Function table: [name, line, column, kind, params] per function, positions in the original source.
  const starts = s.lineStarts();
  const tsTrace = tsMap ? new TraceMap(tsMap as ConstructorParameters<typeof TraceMap>[0]) : null;
  const table = fns.map((fn) => {
    const pos = positionOf(starts, fn.at);
    let line = pos.line;
    let column = pos.column;
    if (tsTrace) {
      const original = originalPositionFor(tsTrace, { line, column });
      if (original.line !== null) {
        line = original.line;
        column = original.column ?? 0;
      }
    }
    return [fn.name, line, column + 1, fn.kind, fn.params];
  });
  const external = options.mapKey !== undefined && source.length > INLINE_MAP_LIMIT;
  // With its map out of line the module ends with no map comment of ours, so Node (run with
  // --enable-source-maps) would take the module's own `//# sourceMappingURL=` comment: read and
  // decode a map of the original file (wrong for the instrumented one), and split the source
  // into lines at load (~0.1 s for TypeScript's 6 MB _tsc.js). Recall maps those frames itself.
  if (external) {
    for (const comment of parsed.comments) {
      const at = /^[#@]\s+sourceMappingURL=/.test(comment.value) ? comment.value.indexOf('sourceMappingURL') : -1;
      if (at >= 0) s.appendLeft(comment.start + 2 + at, 'recall-original-');
    }
  }
  if (fns.length > 0) {
    const mapKey = external ? `,${JSON.stringify(options.mapKey)}` : '';
    const register = `${R}.m(${asciiLiteral(filename)},${fns.length},${asciiLiteral(JSON.stringify(table))}${mapKey})`;
    // With early functions, a hoisted function registers on first use, whichever comes first.
    const registration = rewriter.anyEarly
      ? `var ${names.base}=${names.base}??${names.register}();function ${names.register}(){return ${names.base}=${register}}`
      : `var ${names.base}=${register};`;
    const registrationAt = programInsertPoint(program, js);
    s.appendLeft(registrationAt, (registrationAt > 0 && js[registrationAt - 1] !== '\n' ? ';' : '') + registration);
  }

  // An out-of-line map is read by recall alone (runtime/stack-traces.ts), which adds the column
  // offset within a segment: one segment where each piece of the original text begins (pieces
  // are split at every edit) and at each line start is exact there, and costs a fraction of a
  // segment per word (TypeScript's 9 MB typescript.js: 0.65 s of maps against ~0.1 s). Maps
  // Node reads (inline) keep a segment per word, since Node takes a segment's column as is.
  const sparse = external && !tsMap;
  const ourMap = s.generateMap({ hires: sparse ? false : 'boundary', source: file, includeContent: !external });
  const finalMap = tsMap
    ? remapping([ourMap as unknown as RemapInput, tsMap as RemapInput], () => null)
    : ourMap;
  if (tsMap) {
    finalMap.sources = [file];
    finalMap.sourcesContent = external ? [] : [source];
  }
  (finalMap as unknown as Record<string, unknown>)[RECALL_MAP_MARKER] = sparse ? RECALL_MAP_SPARSE : true;
  if (external && fns.length > 0) return { code: s.toString(), map: JSON.stringify(finalMap), functions: fns.length, format };
  return { code: s.toString() + inlineMap(finalMap as object), functions: fns.length, format };
}

/** Only strip TypeScript types (for .ts files excluded from instrumentation). */
export function stripTypesOnly(source: string, filename: string): string {
  try {
    const stripped = stripTypes(source, filename);
    const map = stripped.map as { sources?: string[] };
    map.sources = [basename(filename)];
    return stripped.code + inlineMap(map);
  } catch {
    return source; // let Node report the syntax error
  }
}
