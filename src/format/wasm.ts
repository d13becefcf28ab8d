// A small WebAssembly assembler: functions written in the WebAssembly text format's flat
// instruction syntax (one instruction per line, `;;` comments), assembled into a module that
// imports its memory as env.memory. Only what recall's kernels use is supported (the summary's
// walk and checksum, analysis/kernel.ts; the drain's record settling, runtime/settle.ts): i32/f64
// locals and parameters, at most one result, loads and stores with offset=, block/loop/if with
// $labels, br/br_if to a $label, and the plain numeric instructions below. Kept in the source
// (no toolchain, no generated binary) so a kernel is read and changed like any code. It lives in
// format/ because both the runtime and the analysis layers use it and it depends on nothing.

export type ValueType = 'i32' | 'f64';

// The little of the WebAssembly JS API recall uses (the project's TypeScript libs do not declare it).
export interface WasmMemory {
  readonly buffer: ArrayBuffer;
  grow(pages: number): number;
}
export type WasmModule = { readonly __brand: 'WasmModule' };
interface WasmApi {
  Module: new (bytes: Uint8Array) => WasmModule;
  Instance: new (module: WasmModule, imports: object) => { exports: unknown };
  Memory: new (descriptor: { initial: number }) => WasmMemory;
}

/** The WebAssembly API, or null where there is none (node --jitless). */
function webAssembly(): WasmApi | null {
  const api = (globalThis as { WebAssembly?: WasmApi }).WebAssembly;
  return typeof api === 'object' && api !== null ? api : null;
}

/** `functions` assembled and compiled; null where WebAssembly is missing or refuses to compile (node --jitless): callers then run their JavaScript twin. */
export function compileModule(functions: WasmFunction[]): WasmModule | null {
  const api = webAssembly();
  if (api === null) return null;
  try {
    return new api.Module(assemble(functions));
  } catch {
    return null;
  }
}

/** An instance of a compiled module (so WebAssembly exists) on a fresh memory of `pages` 64 KiB pages, imported as env.memory. */
export function instantiate<Exports>(module: WasmModule, pages: number): { memory: WasmMemory; exports: Exports } {
  const api = webAssembly() as WasmApi;
  const memory = new api.Memory({ initial: pages });
  return { memory, exports: new api.Instance(module, { env: { memory } }).exports as Exports };
}

export interface WasmFunction {
  name: string;
  params: [string, ValueType][];
  result: ValueType | null;
  locals: [string, ValueType][];
  body: string;
}

const VALUE: Record<ValueType, number> = { i32: 0x7f, f64: 0x7c };

/** Instructions without immediates. */
const PLAIN: Record<string, number> = {
  return: 0x0f,
  drop: 0x1a,
  select: 0x1b,
  'i32.eqz': 0x45,
  'i32.eq': 0x46,
  'i32.ne': 0x47,
  'i32.lt_s': 0x48,
  'i32.lt_u': 0x49,
  'i32.gt_s': 0x4a,
  'i32.gt_u': 0x4b,
  'i32.le_s': 0x4c,
  'i32.le_u': 0x4d,
  'i32.ge_s': 0x4e,
  'i32.ge_u': 0x4f,
  'f64.eq': 0x61,
  'f64.ne': 0x62,
  'f64.lt': 0x63,
  'f64.gt': 0x64,
  'f64.le': 0x65,
  'f64.ge': 0x66,
  'i32.add': 0x6a,
  'i32.sub': 0x6b,
  'i32.mul': 0x6c,
  'i32.and': 0x71,
  'i32.or': 0x72,
  'i32.xor': 0x73,
  'i32.shl': 0x74,
  'i32.shr_s': 0x75,
  'i32.shr_u': 0x76,
  'f64.add': 0xa0,
  'f64.sub': 0xa1,
  'f64.mul': 0xa2,
  'f64.div': 0xa3,
  'f64.min': 0xa4,
  'f64.max': 0xa5,
  'i32.trunc_f64_s': 0xaa,
  'i32.trunc_f64_u': 0xab,
  'f64.convert_i32_s': 0xb7,
  'f64.convert_i32_u': 0xb8,
};

/** Loads and stores: opcode and natural alignment (log2). */
const MEMORY: Record<string, [number, number]> = {
  'i32.load': [0x28, 2],
  'f64.load': [0x2b, 3],
  'i32.store': [0x36, 2],
  'f64.store': [0x39, 3],
};

function unsigned(n: number): number[] {
  const out: number[] = [];
  let v = n >>> 0;
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v !== 0) byte |= 0x80;
    out.push(byte);
  } while (v !== 0);
  return out;
}

function signed(n: number): number[] {
  const out: number[] = [];
  let v = n | 0;
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    const done = (v === 0 && (byte & 0x40) === 0) || (v === -1 && (byte & 0x40) !== 0);
    out.push(done ? byte : byte | 0x80);
    if (done) return out;
  }
}

function name(text: string): number[] {
  const bytes = [...new TextEncoder().encode(text)];
  return [...unsigned(bytes.length), ...bytes];
}

function vector(items: number[][]): number[] {
  return [...unsigned(items.length), ...items.flat()];
}

function section(id: number, content: number[]): number[] {
  return [id, ...unsigned(content.length), ...content];
}

function f64Bytes(value: number): number[] {
  return [...new Uint8Array(new Float64Array([value]).buffer)];
}

function parseNumber(text: string, where: string): number {
  const value = text === 'nan' ? NaN : text === 'inf' ? Infinity : text === '-inf' ? -Infinity : Number(text.replace(/_/g, ''));
  if (Number.isNaN(value) && text !== 'nan') throw new Error(`wasm: bad number '${text}' in ${where}`);
  return value;
}

/** Assemble one function body into its code-section entry. */
function assembleFunction(fn: WasmFunction): number[] {
  const localIndex = new Map<string, number>();
  [...fn.params, ...fn.locals].forEach(([local], i) => {
    if (localIndex.has(local)) throw new Error(`wasm: ${fn.name}: local ${local} declared twice`);
    localIndex.set(local, i);
  });
  const code: number[] = [];
  const labels: (string | null)[] = []; // open blocks, innermost last
  const lines = fn.body.split('\n');
  lines.forEach((raw, lineNumber) => {
    const line = raw.replace(/;;.*$/, '').trim();
    if (line === '') return;
    const where = `${fn.name} line ${lineNumber + 1}: '${line}'`;
    const [op, ...args] = line.split(/\s+/) as [string, ...string[]];
    const local = (): number => {
      const index = localIndex.get(args[0] ?? '');
      if (index === undefined) throw new Error(`wasm: unknown local in ${where}`);
      return index;
    };
    if (op in PLAIN) {
      code.push(PLAIN[op] as number);
    } else if (op in MEMORY) {
      const [opcode, align] = MEMORY[op] as [number, number];
      let offset = 0;
      for (const arg of args) {
        const match = /^offset=(\d+)$/.exec(arg);
        if (!match) throw new Error(`wasm: bad memory argument in ${where}`);
        offset = Number(match[1]);
      }
      code.push(opcode, ...unsigned(align), ...unsigned(offset));
    } else if (op === 'local.get' || op === 'local.set' || op === 'local.tee') {
      code.push({ 'local.get': 0x20, 'local.set': 0x21, 'local.tee': 0x22 }[op], ...unsigned(local()));
    } else if (op === 'i32.const') {
      code.push(0x41, ...signed(parseNumber(args[0] ?? '', where)));
    } else if (op === 'f64.const') {
      code.push(0x44, ...f64Bytes(parseNumber(args[0] ?? '', where)));
    } else if (op === 'block' || op === 'loop' || op === 'if') {
      code.push({ block: 0x02, loop: 0x03, if: 0x04 }[op], 0x40);
      labels.push(args[0] ?? null);
    } else if (op === 'else') {
      code.push(0x05);
    } else if (op === 'end') {
      if (labels.length === 0) throw new Error(`wasm: unbalanced end in ${where}`);
      labels.pop();
      code.push(0x0b);
    } else if (op === 'br' || op === 'br_if') {
      const depth = labels.length - 1 - labels.lastIndexOf(args[0] ?? '');
      if (depth >= labels.length || !args[0]?.startsWith('$')) throw new Error(`wasm: unknown label in ${where}`);
      code.push(op === 'br' ? 0x0c : 0x0d, ...unsigned(depth));
    } else {
      throw new Error(`wasm: unknown instruction in ${where}`);
    }
  });
  if (labels.length > 0) throw new Error(`wasm: ${fn.name}: ${labels.length} block(s) not ended`);
  // Locals: one entry per local (the format allows runs; one each is simplest).
  const locals = vector(fn.locals.map(([, type]) => [1, VALUE[type]]));
  const body = [...locals, ...code, 0x0b];
  return [...unsigned(body.length), ...body];
}

/** Assemble a module of `functions` (all exported by name) importing env.memory. */
export function assemble(functions: WasmFunction[], minimumPages = 1): Uint8Array {
  const types = functions.map((fn) => [0x60, ...vector(fn.params.map(([, t]) => [VALUE[t]])), ...vector(fn.result ? [[VALUE[fn.result]]] : [])]);
  const imports = vector([[...name('env'), ...name('memory'), 0x02, 0x00, ...unsigned(minimumPages)]]);
  const bytes = [
    ...[0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00],
    ...section(1, vector(types)),
    ...section(2, imports),
    ...section(3, vector(functions.map((_, i) => unsigned(i)))),
    ...section(7, vector(functions.map((fn, i) => [...name(fn.name), 0x00, ...unsigned(i)]))),
    ...section(10, vector(functions.map(assembleFunction))),
  ];
  return Uint8Array.from(bytes);
}
