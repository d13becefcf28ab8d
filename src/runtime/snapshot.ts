// TEMPORARY STUB (replaced by the values branch)
import type { ValueDesc } from '../format/values.js';
export interface SnapshotLimits { depth: number; keys: number; items: number; string: number; bytes: number }
export const DEFAULT_SNAPSHOT_LIMITS: SnapshotLimits = { depth: 4, keys: 32, items: 32, string: 256, bytes: 4096 };
export const DEFAULT_REDACT_KEYS: readonly string[] = ['password', 'token'];
export interface Redaction { enabled: boolean; keys: string[] }
export class Snapshotter {
  constructor(_l?: Partial<SnapshotLimits>, private r: Partial<Redaction> = {}) {}
  value(v: unknown, _d?: number): ValueDesc { try { return typeof v === 'object' && v !== null ? JSON.parse(JSON.stringify(v, (k, x) => (this.redacts(k) ? '[redacted]' : x)) ?? 'null') : typeof v === 'undefined' ? { $: 'undefined' } : typeof v === 'function' || typeof v === 'bigint' || typeof v === 'symbol' ? String(v) : v; } catch (e) { return { $: 'unserializable', error: String(e) }; } }
  args(names: readonly string[], values: ArrayLike<unknown>): ValueDesc[] { const out: ValueDesc[] = []; for (let i = 0; i < values.length; i++) out.push(names[i] !== undefined && this.redacts(names[i] as string) ? '[redacted]' : this.value(values[i])); return out; }
  redacts(key: string): boolean { return this.r.enabled !== false && /password|token/i.test(key); }
}
