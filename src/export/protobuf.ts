// A minimal protobuf encoder for the binary exports (Perfetto, OTLP): varints, fixed64,
// length-delimited fields (strings, bytes) and nested messages, written into one growable byte
// buffer. Only what those messages need; field numbers come from each format's protos (see
// perfetto.ts, otlp-encode.ts). No Node-only imports.

const WIRE_VARINT = 0;
const WIRE_FIXED64 = 1;
const WIRE_LENGTH = 2;

export class ProtoWriter {
  bytes = new Uint8Array(1 << 16);
  length = 0;
  private readonly encoder = new TextEncoder();

  private room(n: number): void {
    if (this.length + n <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < this.length + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.bytes.subarray(0, this.length));
    this.bytes = next;
  }

  /** A varint of a non-negative integer up to 2^53. */
  varint(value: number): void {
    this.room(10);
    let v = value;
    while (v >= 0x80) {
      this.bytes[this.length++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.bytes[this.length++] = v;
  }

  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }

  uint(field: number, value: number): void {
    this.tag(field, WIRE_VARINT);
    this.varint(value);
  }

  bool(field: number, value: boolean): void {
    this.uint(field, value ? 1 : 0);
  }

  string(field: number, value: string): void {
    this.tag(field, WIRE_LENGTH);
    // Short ASCII (most names) byte by byte; the rest through the encoder.
    const n = value.length;
    if (n < 128) {
      this.room(n + 1);
      const at = this.length + 1;
      let i = 0;
      for (; i < n; i++) {
        const c = value.charCodeAt(i);
        if (c >= 0x80) break;
        this.bytes[at + i] = c;
      }
      if (i === n) {
        this.bytes[this.length] = n;
        this.length = at + n;
        return;
      }
    }
    const encoded = this.encoder.encode(value);
    this.varint(encoded.length);
    this.room(encoded.length);
    this.bytes.set(encoded, this.length);
    this.length += encoded.length;
  }

  /** A fixed64 (little-endian 8 bytes) of a non-negative integer: a number up to 2^53, or a bigint below 2^64. */
  fixed64(field: number, value: number | bigint): void {
    this.tag(field, WIRE_FIXED64);
    this.room(8);
    if (typeof value === 'number') {
      const low = value % 0x100000000;
      const high = Math.floor(value / 0x100000000);
      for (let i = 0; i < 4; i++) this.bytes[this.length++] = (low >>> (8 * i)) & 0xff;
      for (let i = 0; i < 4; i++) this.bytes[this.length++] = (high >>> (8 * i)) & 0xff;
      return;
    }
    let v = BigInt.asUintN(64, value);
    for (let i = 0; i < 8; i++) {
      this.bytes[this.length++] = Number(v & 0xffn);
      v >>= 8n;
    }
  }

  /** A length-delimited field of raw bytes. */
  raw(field: number, value: Uint8Array): void {
    this.tag(field, WIRE_LENGTH);
    this.varint(value.length);
    this.room(value.length);
    this.bytes.set(value, this.length);
    this.length += value.length;
  }

  /** A double (fixed64 wire type, IEEE 754 little-endian). */
  double(field: number, value: number): void {
    this.tag(field, WIRE_FIXED64);
    this.room(8);
    new DataView(this.bytes.buffer, this.bytes.byteOffset).setFloat64(this.length, value, true);
    this.length += 8;
  }

  /** Bytes already encoded (fields of the message being written), copied in as they are. */
  appendBytes(encoded: Uint8Array): void {
    this.room(encoded.length);
    this.bytes.set(encoded, this.length);
    this.length += encoded.length;
  }

  /** A nested message: `write` fills it; its length is put in front afterwards. */
  message(field: number, write: () => void): void {
    this.tag(field, WIRE_LENGTH);
    // Reserve 5 bytes for the length (messages here are far under 2^35), then close the gap.
    this.room(5);
    const at = this.length;
    this.length += 5;
    write();
    const size = this.length - at - 5;
    const head: number[] = [];
    let v = size;
    while (v >= 0x80) {
      head.push((v & 0x7f) | 0x80);
      v >>>= 7;
    }
    head.push(v);
    this.bytes.copyWithin(at + head.length, at + 5, this.length);
    for (let i = 0; i < head.length; i++) this.bytes[at + i] = head[i] as number;
    this.length -= 5 - head.length;
  }

  /** The bytes written so far, then start again (the buffer is kept). */
  take(): Uint8Array {
    const out = this.bytes.subarray(0, this.length);
    this.length = 0;
    return out;
  }
}
