// Callees of one call folded by function path (a call's children, their children, ...): the
// counts and times the engine's call() and subtree() answer with. No Node-only imports.

import type { FoldedChild } from './answers.js';
import { NO_PARENT, type ThreadIndex } from './thread-index.js';

/** Callees folded by function path: node 0 is the call itself. */
export class Fold {
  private parent: number[] = [-1];
  private fn: number[] = [-1];
  private depthOf: number[] = [0];
  private calls: number[] = [0];
  private total: number[] = [0];
  private self: number[] = [0];
  private throws: number[] = [0];
  private readonly byKey = new Map<number, number>();
  private readonly kids: number[][] = [[]];

  constructor(private readonly nameOf: (fn: number) => string) {}

  depth(node: number): number {
    return this.depthOf[node] as number;
  }

  /** The node for a call of `fn` under `parent`. */
  child(parent: number, fn: number): number {
    const key = parent * 0x10000000 + fn;
    let node = this.byKey.get(key);
    if (node === undefined) {
      node = this.parent.length;
      this.parent.push(parent);
      this.fn.push(fn);
      this.depthOf.push((this.depthOf[parent] as number) + 1);
      this.calls.push(0);
      this.total.push(0);
      this.self.push(0);
      this.throws.push(0);
      this.kids.push([]);
      (this.kids[parent] as number[]).push(node);
      this.byKey.set(key, node);
    }
    return node;
  }

  /** Add a row's folded callees (thread-index.ts's trie) under the call itself, `levels` deep. */
  addTrie(index: ThreadIndex, row: number, levels: number): void {
    const start = index.kStart[row] as number;
    const end = index.kStart[row + 1] as number;
    const mine = new Int32Array(end - start).fill(-1); // trie node -> fold node (-1: deeper than asked)
    for (let k = start; k < end; k++) {
      const parent = index.kParent[k] as number;
      const under = parent === NO_PARENT ? 0 : (mine[parent - start] as number);
      if (under < 0 || (this.depthOf[under] as number) >= levels) continue;
      const node = this.child(under, index.kFn[k] as number);
      mine[k - start] = node;
      this.calls[node] = (this.calls[node] as number) + (index.kCalls[k] as number);
      this.total[node] = (this.total[node] as number) + (index.kTotal[k] as number);
      this.self[node] = (this.self[node] as number) + (index.kSelf[k] as number);
      this.throws[node] = (this.throws[node] as number) + (index.kThrows[k] as number);
    }
  }

  entered(node: number): void {
    this.calls[node] = (this.calls[node] as number) + 1;
  }

  ended(node: number, total: number, self: number, threw: boolean): void {
    this.total[node] = (this.total[node] as number) + total;
    this.self[node] = (this.self[node] as number) + self;
    if (threw) this.throws[node] = (this.throws[node] as number) + 1;
  }

  /** The folded children of `node`, `levels` deep, the most time first. */
  children(node: number, levels: number): FoldedChild[] {
    if (levels <= 0) return [];
    return (this.kids[node] as number[])
      .map((k) => ({
        fn: this.fn[k] as number,
        name: this.nameOf(this.fn[k] as number),
        calls: this.calls[k] as number,
        totalNs: Math.round((this.total[k] as number) * 1e6),
        selfNs: Math.round((this.self[k] as number) * 1e6),
        throws: this.throws[k] as number,
        children: this.children(k, levels - 1),
      }))
      // A node with nothing in it: only resumes of calls begun before the trace, still open.
      .filter((c) => c.calls > 0 || c.totalNs !== 0 || c.selfNs !== 0 || c.throws > 0)
      .sort((a, b) => b.totalNs - a.totalNs || b.calls - a.calls || a.name.localeCompare(b.name));
  }
}
