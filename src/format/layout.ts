// Binary layout constants of the trace format (docs/FORMAT.md, version 1), shared by the
// recorder (runtime) and the reader (analysis). Pure constants: no Node-only imports.

export const FORMAT_VERSION = 1;

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
export const EV_MARK = 7; // explicit marker (detail lane issue); aux = marker id

export const KIND_NAMES: Record<number, string> = {
  [EV_ENTER]: 'enter',
  [EV_EXIT]: 'exit',
  [EV_THROW]: 'throw',
  [EV_SUSPEND]: 'suspend',
  [EV_RESUME]: 'resume',
  [EV_DROPPED]: 'dropped',
  [EV_MARK]: 'mark',
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
export const CH_RESERVED = 44; // u32

export const CHUNK_FLAG_HAS_DROPS = 1;
