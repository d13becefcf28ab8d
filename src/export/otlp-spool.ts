// Request bodies waiting to be sent while the (synchronous) walk of the trace goes on: kept in
// memory up to a limit, then appended to a temporary file and read back one at a time when
// sent, so memory stays bounded whatever the number of spans. The file is removed when the
// spool is closed.

import { closeSync, mkdtempSync, openSync, readSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Bytes of bodies kept in memory before the rest go to a file. */
export const SPOOL_MEMORY = 64 << 20;

export class Spool {
  private readonly memory: Uint8Array[] = [];
  private held = 0;
  private dir: string | null = null;
  private fd = -1;
  private written = 0;
  /** Bodies in the file. */
  private spilled = 0;

  constructor(private readonly limit = SPOOL_MEMORY) {}

  push(body: Uint8Array): void {
    if (this.fd < 0 && this.held + body.length <= this.limit) {
      this.memory.push(body);
      this.held += body.length;
      return;
    }
    if (this.fd < 0) {
      this.dir = mkdtempSync(join(tmpdir(), 'recall-otlp-spool-'));
      this.fd = openSync(join(this.dir, 'bodies'), 'w+');
    }
    const head = new Uint8Array(4);
    new DataView(head.buffer).setUint32(0, body.length);
    this.write(head);
    this.write(body);
    this.spilled++;
  }

  private write(bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) done += writeSync(this.fd, bytes, done, bytes.length - done, this.written + done);
    this.written += bytes.length;
  }

  /** The bodies in the order pushed (each once; the memory ones are let go as they are taken). */
  *bodies(): Generator<Uint8Array> {
    for (let body = this.memory.shift(); body !== undefined; body = this.memory.shift()) yield body;
    let at = 0;
    for (let i = 0; i < this.spilled; i++) {
      const head = new Uint8Array(4);
      readSync(this.fd, head, 0, 4, at);
      const size = new DataView(head.buffer).getUint32(0);
      const body = new Uint8Array(size);
      let done = 0;
      while (done < size) {
        const n = readSync(this.fd, body, done, size - done, at + 4 + done);
        if (n === 0) break;
        done += n;
      }
      at += 4 + size;
      yield body;
    }
  }

  /** Remove the file (if one was made). */
  close(): void {
    if (this.fd >= 0) closeSync(this.fd);
    this.fd = -1;
    if (this.dir !== null) rmSync(this.dir, { recursive: true, force: true });
    this.dir = null;
  }
}
