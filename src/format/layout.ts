// Binary layout constants of the trace format (docs/FORMAT.md, version 3), shared by the
// recorder (runtime) and the reader (analysis). Pure constants: no Node-only imports.

/**
 * 2: index-lane chunks may be compressed (the chunk header's encoding word, CH_ENCODING).
 * 3: detail-lane chunks may be too (LAYOUT_BYTES). Version 1 files (every chunk stored as plain
 * records, encoding word 0) and version 2 files still read.
 */
export const FORMAT_VERSION = 3;

/** One index-lane event is 16 bytes: [u32 head][u32 aux][f64 time]. Same layout in rings and files. */
export const RECORD_BYTES = 16;
export const RECORD_WORDS = 4;

/** head = [untimed:1][kind:3][functionId:28]: kind << KIND_SHIFT | functionId, plus UNTIMED_FLAG. */
export const KIND_SHIFT = 28;
export const KIND_MASK = 7;
/**
 * Set on enter/exit/throw records whose time is not a clock read of their own (adaptive timing
 * demoted the function, or --timing none): the time field then repeats the thread's last clock
 * read (0 when there was none), and readers estimate or omit the call's duration.
 */
export const UNTIMED_FLAG = 0x80000000;
export const FN_MASK = 0x0fffffff;
export const MAX_FUNCTION_ID = FN_MASK;

/** Event kinds (4 bits). */
export const EV_ENTER = 1; // a call of fn began (generators: on first resume)
export const EV_EXIT = 2; // fn returned normally
export const EV_THROW = 3; // fn's frame ended by an exception
export const EV_SUSPEND = 4; // async fn / generator frame suspended at await or yield; aux = frame serial
export const EV_RESUME = 5; // that frame resumed; aux = frame serial
export const EV_DROPPED = 6; // the ring was full: aux = number of events lost just before this record
export const EV_EXT = 7; // a runtime event: the function-id field holds its EXT_* type, aux its argument

/**
 * Runtime event types (EV_EXT records): head = EV_EXT << KIND_SHIFT | type, aux = argument.
 * Always timed (a clock read of their own) unless the trace is --timing none.
 */
export const EXT_MARK = 1; // recall.mark(label, data): aux = serial of its detail record
export const EXT_CATCH = 2; // a catch clause of an instrumented function began: aux = that function's id (0: module top level)
export const EXT_DETAIL = 3; // a detail-lane snapshot belongs here: aux = its serial (detail records, FORMAT.md section 7)
export const EXT_SCHEDULE = 4; // the running call scheduled a callback (timer, immediate, nextTick, microtask): aux = link id
export const EXT_CALLBACK = 5; // a scheduled callback begins: aux = the link id of its EXT_SCHEDULE
export const EXT_CALLBACK_END = 6; // that callback returned or threw: aux = link id
export const EXT_MSG_SEND = 7; // postMessage: aux = message id (see FORMAT.md)
export const EXT_MSG_RECV = 8; // a message was delivered to a listener: aux = message id
export const EXT_WORKER_START = 9; // this thread started a worker: aux = its threadId
export const EXT_WORKER_EXIT = 10; // a worker this thread started ended: aux = its threadId
export const EXT_SPAWN = 11; // this thread started a child process: aux = its pid
export const EXT_SPAN_BEGIN = 12; // a runtime span (http request, fetch, ...) began: aux = serial of the detail record naming it
export const EXT_SPAN_END = 13; // that span ended: aux = the same serial
export const EXT_GC = 14; // a garbage collection ended: aux = its duration in microseconds
export const EXT_NOTE = 15; // a point runtime event described by a detail record: aux = its serial
/**
 * A bounded trace (--max-size / --keep) lost its beginning: this is the first record of the kept
 * window, and the aux enter records after it re-open the frames that were open at that moment
 * (outermost first; window.ts). Written by the writer, never by a probe.
 */
export const EXT_WINDOW_START = 16;

export const EXT_NAMES: Record<number, string> = {
  [EXT_MARK]: 'mark',
  [EXT_CATCH]: 'catch',
  [EXT_DETAIL]: 'detail',
  [EXT_SCHEDULE]: 'schedule',
  [EXT_CALLBACK]: 'callback',
  [EXT_CALLBACK_END]: 'callback-end',
  [EXT_MSG_SEND]: 'message-send',
  [EXT_MSG_RECV]: 'message-receive',
  [EXT_WORKER_START]: 'worker-start',
  [EXT_WORKER_EXIT]: 'worker-exit',
  [EXT_SPAWN]: 'spawn',
  [EXT_SPAN_BEGIN]: 'span-begin',
  [EXT_SPAN_END]: 'span-end',
  [EXT_GC]: 'gc',
  [EXT_NOTE]: 'note',
  [EXT_WINDOW_START]: 'window-start',
};

export const KIND_NAMES: Record<number, string> = {
  [EV_ENTER]: 'enter',
  [EV_EXIT]: 'exit',
  [EV_THROW]: 'throw',
  [EV_SUSPEND]: 'suspend',
  [EV_RESUME]: 'resume',
  [EV_DROPPED]: 'dropped',
  [EV_EXT]: 'ext',
};

/** Thread file: 16-byte preamble then a JSON header padded to 8 bytes, then chunks. */
export const FILE_MAGIC = 0x544c4352; // "RCLT" little-endian
export const FILE_PREAMBLE_BYTES = 16;
/** Lane kinds of a thread file. */
export const LANE_INDEX = 1;
export const LANE_DETAIL = 2;

/** Chunk header, 48 bytes, followed by payloadBytes of records. */
export const CHUNK_MAGIC = 0x4b434352; // "RCCK" little-endian
export const CHUNK_HEADER_BYTES = 48;
export const CH_MAGIC = 0; // u32
export const CH_VERSION = 4; // u16
export const CH_LANE = 6; // u16
export const CH_SEQ = 8; // u32
export const CH_COUNT = 12; // u32 records in payload
export const CH_PAYLOAD_BYTES = 16; // u32
export const CH_CHECKSUM = 20; // u32, over header bytes [0,20) + [24,48) and the payload
export const CH_FIRST_TIME = 24; // f64 ms, lane clock
export const CH_LAST_TIME = 32; // f64 ms, lane clock
export const CH_FLAGS = 40; // u32
export const CH_RESERVED = 44; // u32: version 1, always 0; version 2, the encoding word
/**
 * The encoding word (version 2; 0 in version 1: plain records): codec in bits 0-7, payload
 * layout in bits 8-15, bytes of zero padding after the codec's output in bits 16-18 (the
 * stored payload stays a multiple of 8). Covered by the chunk checksum, as the whole header is.
 */
export const CH_ENCODING = CH_RESERVED;
/** Payload stored as is (records, or detail records). */
export const CODEC_NONE = 0;
/** A zstd frame (node:zlib zstdCompressSync: Node 22.15+, 23.8+). */
export const CODEC_ZSTD = 1;
/** Raw deflate (node:zlib deflateRawSync): what a Node line without zstd writes. */
export const CODEC_DEFLATE = 2;
/** Index-lane records as written: 16 bytes each, row after row. */
export const LAYOUT_ROWS = 0;
/**
 * Index-lane records split into columns before compression: every head word, then every aux
 * word, then every time (f64) — like values next to like values compress ~2.5× better, and
 * faster.
 */
export const LAYOUT_COLUMNS = 1;
/**
 * Bytes of any length compressed whole (version 3: detail-lane chunks): the stored payload is
 * their length (u32), four zero bytes, then the codec's output.
 */
export const LAYOUT_BYTES = 2;

export const CHUNK_FLAG_HAS_DROPS = 1;
