// The instrumenter's edit buffer: insertions at offsets of the original source and moves of
// original ranges, applied all at once to give the instrumented code and its source map.
//
// It does what the instrumenter used of magic-string, with magic-string's semantics, and its
// output is byte-identical: text appended on the left of an offset (appendLeft) stays with the
// original text that ends there, text prepended on the right (prependRight) with the text that
// begins there, and both travel with a moved range. magic-string splits a linked list of chunks
// at every edit as it comes, finding each offset by a walk from the last one it found; the
// instrumenter edits in post-order (a function's own probes after everything inside it), so on a
// large module those walks crossed the chunks of whole functions again and again (~20% of
// instrumenting TypeScript's 9 MB typescript.js, with its garbage). Here every edit is one entry
// in flat arrays; the pieces of original text are cut once, when the output is asked for.
//
// Maps: `hires: 'boundary'` has a segment at each word and at every other character, as
// magic-string's; `hires: false` has one where each piece of original text and each of its lines
// begins (the sparse maps recall reads itself: runtime/stack-traces.ts). Their mappings are
// written straight to bytes (MappingsWriter), with no array per segment.

/** A version 3 source map, with its keys in the order magic-string's has them. */
export interface EditsSourceMap {
  version: 3;
  file: undefined;
  sources: string[];
  sourcesContent: string[] | undefined;
  names: string[];
  mappings: string;
}

export interface MapOptions {
  /** 'boundary': a segment per word and per other character; false: per piece and line. */
  hires: 'boundary' | false;
  /** The name of the original source, as `sources[0]`. */
  source: string;
  /** Include the original source as `sourcesContent[0]`. */
  includeContent: boolean;
}

const LEFT = 0;
const RIGHT = 1;
const NEWLINE = 10;

function isWordCode(code: number): boolean {
  return (code >= 97 && code <= 122) || (code >= 65 && code <= 90) || (code >= 48 && code <= 57) || code === 95;
}

/** The pieces of original text in output order, each with the text inserted before and after it. */
interface Layout {
  /** Text before the first piece (appended on the left of offset 0). */
  intro: string;
  /** Text after the last piece (prepended on the right of the source's end). */
  outro: string;
  /** Piece k is original [cuts[k], cuts[k + 1]). */
  cuts: number[];
  /** Piece indexes in output order. */
  order: number[];
  pieceIntro: string[];
  pieceOutro: string[];
}

export class SourceEdits {
  readonly original: string;
  private readonly at: number[] = [];
  private readonly side: number[] = [];
  private readonly texts: string[] = [];
  /** Moves in the order made: start, end, to. */
  private readonly moves: number[] = [];
  private layoutCache: Layout | null = null;
  private lineStartsCache: number[] | null = null;

  constructor(original: string) {
    this.original = original;
  }

  /** Insert `text` at `index`, with the original text that ends there; after earlier such insertions. */
  appendLeft(index: number, text: string): void {
    this.insert(index, LEFT, text);
  }

  /** Insert `text` at `index`, with the original text that begins there; before earlier such insertions. */
  prependRight(index: number, text: string): void {
    this.insert(index, RIGHT, text);
  }

  /**
   * Move original [start, end), with what is inserted in it and on its inner sides, to `index`
   * (outside the range). Ranges moved must not overlap, nor one be moved into another.
   */
  move(start: number, end: number, index: number): void {
    this.checkIndex(start);
    this.checkIndex(end);
    this.checkIndex(index);
    if (start === end) return;
    if (start > end || (index >= start && index <= end)) throw new RangeError(`cannot move ${start}-${end} to ${index}`);
    this.moves.push(start, end, index);
    this.layoutCache = null;
  }

  /** Where each line of the original begins (computed once). */
  lineStarts(): readonly number[] {
    if (this.lineStartsCache === null) {
      const starts = [0];
      const text = this.original;
      for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
      this.lineStartsCache = starts;
    }
    return this.lineStartsCache;
  }

  toString(): string {
    const { intro, outro, cuts, order, pieceIntro, pieceOutro } = this.layout();
    // Concatenated (a rope V8 flattens once, on first use): twice as fast as an array join here.
    let code = intro;
    for (const k of order) {
      const before = pieceIntro[k] as string;
      const after = pieceOutro[k] as string;
      if (before) code += before;
      code += this.original.slice(cuts[k], cuts[k + 1]);
      if (after) code += after;
    }
    return code + outro;
  }

  generateMap(options: MapOptions): EditsSourceMap {
    const { intro, outro, cuts, order, pieceIntro, pieceOutro } = this.layout();
    const original = this.original;
    const lineStarts = this.lineStarts();
    const out = new MappingsWriter();
    const advance = (text: string): void => {
      if (!text) return;
      let newline = text.indexOf('\n');
      if (newline === -1) {
        out.column += text.length;
        return;
      }
      const last = text.lastIndexOf('\n');
      for (; newline !== -1; newline = text.indexOf('\n', newline + 1)) out.nextLine();
      out.column += text.length - last - 1;
    };
    const boundary = options.hires === 'boundary';
    advance(intro);
    for (const k of order) {
      advance(pieceIntro[k] as string);
      const start = cuts[k] as number;
      const end = cuts[k + 1] as number;
      let line = lineOf(lineStarts, start);
      let column = start - (lineStarts[line] as number);
      if (boundary) {
        let inWord = false;
        for (let i = start; i < end; i++) {
          const code = original.charCodeAt(i);
          if (code === NEWLINE) {
            line++;
            column = 0;
            out.nextLine();
            inWord = false;
            continue;
          }
          if (!isWordCode(code)) {
            out.segment(line, column);
            inWord = false;
          } else if (!inWord) {
            out.segment(line, column);
            inWord = true;
          }
          column++;
          out.column++;
        }
      } else {
        let i = start;
        while (i < end) {
          let newline = original.indexOf('\n', i);
          if (newline === -1 || newline > end) newline = end;
          if (newline > i) out.segment(line, column);
          column += newline - i;
          out.column += newline - i;
          if (newline === end) break;
          line++;
          column = 0;
          out.nextLine();
          i = newline + 1;
        }
      }
      advance(pieceOutro[k] as string);
    }
    advance(outro);
    return {
      version: 3,
      file: undefined,
      sources: [options.source.split(/[/\\]/).join('/')],
      sourcesContent: options.includeContent ? [original] : undefined,
      names: [],
      mappings: out.finish(),
    };
  }

  private checkIndex(index: number): void {
    if (!(index >= 0 && index <= this.original.length)) throw new RangeError(`index ${index} is out of bounds`);
  }

  private insert(index: number, side: number, text: string): void {
    this.checkIndex(index);
    this.at.push(index);
    this.side.push(side);
    this.texts.push(text);
    this.layoutCache = null;
  }

  /** Cut the original at every offset an edit names, attach the insertions, apply the moves. */
  private layout(): Layout {
    if (this.layoutCache) return this.layoutCache;
    const length = this.original.length;
    // Offsets are below 2^31 (a string's length): a typed array sorts them without a comparator.
    const offsets = new Int32Array(2 + this.at.length + this.moves.length);
    offsets[1] = length;
    offsets.set(this.at, 2);
    offsets.set(this.moves, 2 + this.at.length);
    offsets.sort();
    const cuts: number[] = [];
    for (const offset of offsets) if (cuts.length === 0 || cuts[cuts.length - 1] !== offset) cuts.push(offset);
    if (cuts.length === 1) cuts.push(length); // an empty source: one empty piece
    const pieces = cuts.length - 1;
    const pieceAt = (offset: number): number => {
      let lo = 0;
      let hi = cuts.length - 1;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if ((cuts[mid] as number) < offset) lo = mid + 1;
        else hi = mid;
      }
      return lo;
    };
    const pieceIntro: string[] = new Array<string>(pieces).fill('');
    const pieceOutro: string[] = new Array<string>(pieces).fill('');
    let intro = '';
    let outro = '';
    for (let e = 0; e < this.at.length; e++) {
      const offset = this.at[e] as number;
      const text = this.texts[e] as string;
      const k = pieceAt(offset);
      if (length === 0) {
        // The one (empty) piece both ends and begins here.
        if (this.side[e] === LEFT) pieceOutro[0] += text;
        else pieceIntro[0] = text + pieceIntro[0];
      } else if (this.side[e] === LEFT) {
        // With the piece that ends here, after what is already there.
        if (k === 0) intro += text;
        else pieceOutro[k - 1] += text;
      } else if (offset === length) {
        outro = text + outro;
      } else {
        // With the piece that begins here, before what is already there.
        pieceIntro[k] = text + pieceIntro[k];
      }
    }
    // The pieces as a doubly linked list, to splice moved runs in as magic-string does.
    const next = new Int32Array(pieces);
    const previous = new Int32Array(pieces);
    for (let k = 0; k < pieces; k++) {
      next[k] = k + 1 < pieces ? k + 1 : -1;
      previous[k] = k - 1;
    }
    let first = 0;
    let last = pieces - 1;
    for (let m = 0; m < this.moves.length; m += 3) {
      const from = pieceAt(this.moves[m] as number);
      const through = pieceAt(this.moves[m + 1] as number) - 1;
      const toOffset = this.moves[m + 2] as number;
      const newRight = toOffset === length ? -1 : pieceAt(toOffset);
      if (newRight === -1 ? through === last : previous[newRight] === through) continue; // already there
      const newLeft = newRight === -1 ? last : (previous[newRight] as number);
      const oldLeft = previous[from] as number;
      const oldRight = next[through] as number;
      if (oldLeft !== -1) next[oldLeft] = oldRight;
      if (oldRight !== -1) previous[oldRight] = oldLeft;
      if (newLeft !== -1) next[newLeft] = from;
      if (newRight !== -1) previous[newRight] = through;
      if (oldLeft === -1) first = oldRight;
      if (oldRight === -1) {
        last = oldLeft;
        next[last] = -1;
      }
      previous[from] = newLeft;
      next[through] = newRight;
      if (newLeft === -1) first = from;
      if (newRight === -1) last = through;
    }
    const order: number[] = [];
    for (let k = first; k !== -1; k = next[k] as number) order.push(k);
    this.layoutCache = { intro, outro, cuts, order, pieceIntro, pieceOutro };
    return this.layoutCache;
  }
}

/** The 0-based line of `offset`, given where lines begin. */
export function lineOf(lineStarts: readonly number[], offset: number): number {
  let lo = 0;
  let hi = lineStarts.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (offset < (lineStarts[mid] as number)) hi = mid;
    else lo = mid + 1;
  }
  return lo - 1;
}

const BASE64 = new TextEncoder().encode('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/');
const COMMA = 44;
const SEMICOLON = 59;

/**
 * A source map's `mappings`, written as its segments come (generated line by line, in column
 * order), in base64 VLQ, each field relative to the one before it; one source, no names.
 */
class MappingsWriter {
  /** The generated column the next segment is at. */
  column = 0;
  private bytes = new Uint8Array(1 << 16);
  private length = 0;
  private lineHasSegment = false;
  private previousColumn = 0;
  private previousLine = 0;
  private previousOriginalColumn = 0;

  segment(line: number, column: number): void {
    if (this.length + 32 > this.bytes.length) this.grow();
    if (this.lineHasSegment) this.bytes[this.length++] = COMMA;
    this.lineHasSegment = true;
    this.vlq(this.column - this.previousColumn);
    this.previousColumn = this.column;
    this.vlq(0); // the one source
    this.vlq(line - this.previousLine);
    this.previousLine = line;
    this.vlq(column - this.previousOriginalColumn);
    this.previousOriginalColumn = column;
  }

  nextLine(): void {
    if (this.length + 1 > this.bytes.length) this.grow();
    this.bytes[this.length++] = SEMICOLON;
    this.lineHasSegment = false;
    this.previousColumn = 0;
    this.column = 0;
  }

  finish(): string {
    return Buffer.from(this.bytes.buffer, 0, this.length).toString('latin1');
  }

  private vlq(value: number): void {
    let rest = value < 0 ? (-value << 1) | 1 : value << 1;
    do {
      let digit = rest & 31;
      rest >>>= 5;
      if (rest > 0) digit |= 32;
      this.bytes[this.length++] = BASE64[digit] as number;
    } while (rest > 0);
  }

  private grow(): void {
    const bigger = new Uint8Array(this.bytes.length * 2);
    bigger.set(this.bytes.subarray(0, this.length));
    this.bytes = bigger;
  }
}
