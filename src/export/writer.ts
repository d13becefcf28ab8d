// A buffered, synchronous text writer for exports: to a file (through a temporary name renamed
// into place when finished, so a failed export leaves no half file) or to stdout. Exports
// stream: memory stays bounded whatever the trace's size.

import { closeSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { RecallError } from '../format/errors.js';

const FLUSH_AT = 1 << 20;

export class ExportWriter {
  private parts: string[] = [];
  private pending = 0;
  private readonly fd: number;
  private readonly temporary: string | null;
  bytes = 0;

  /** `path` null: stdout. */
  constructor(private readonly path: string | null) {
    if (path === null) {
      this.fd = 1;
      this.temporary = null;
      return;
    }
    this.temporary = `${path}.${process.pid}.tmp`;
    try {
      this.fd = openSync(this.temporary, 'w');
    } catch (error) {
      throw new RecallError('E_USAGE', `export: cannot write ${path}: ${(error as Error).message}`);
    }
  }

  write(text: string): void {
    this.parts.push(text);
    this.pending += text.length;
    if (this.pending >= FLUSH_AT) this.flush();
  }

  /** Bytes (a binary format): what was written as text goes first. */
  writeBytes(bytes: Uint8Array): void {
    this.flush();
    let done = 0;
    while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done);
    this.bytes += bytes.length;
  }

  private flush(): void {
    if (this.parts.length === 0) return;
    const chunk = Buffer.from(this.parts.join(''), 'utf8');
    this.parts = [];
    this.pending = 0;
    let done = 0;
    while (done < chunk.length) done += writeSync(this.fd, chunk, done, chunk.length - done);
    this.bytes += chunk.length;
  }

  /** Flush, close and move the file into place. */
  finish(): void {
    this.flush();
    if (this.temporary === null || this.path === null) return;
    closeSync(this.fd);
    renameSync(this.temporary, this.path);
  }

  /** Give up: remove the temporary file. */
  abort(): void {
    if (this.temporary === null) return;
    try {
      closeSync(this.fd);
      unlinkSync(this.temporary);
    } catch {
      // already gone
    }
  }
}
