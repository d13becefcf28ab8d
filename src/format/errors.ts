// The one error hierarchy of recall. Every failure the user can cause or meet carries a stable
// string `code` and a message that says what is wrong and what to do instead. The CLI prints
// `recall: <message>` and exits non-zero; it never prints a stack trace of ours for these.

export type RecallErrorCode =
  | 'E_USAGE' // unknown flag, missing argument, bad value
  | 'E_UNKNOWN_COMMAND'
  | 'E_TRACE_NOT_FOUND' // no such trace directory
  | 'E_TRACE_UNREADABLE' // exists but cannot be read (permissions, not a directory)
  | 'E_INDEX_DAMAGED' // a part of the query index read on first use is damaged or changed (it is rebuilt on the next open)
  | 'E_TRACE_EMPTY' // directory with nothing recall wrote in it
  | 'E_FORMAT_VERSION' // written by a newer recall
  | 'E_CORRUPT' // manifest or file header cannot be decoded at all
  | 'E_NO_MATCH' // a glob or filter that matches nothing
  | 'E_SPAWN' // the target command could not be started
  | 'E_OUTSIDE_ROOT' // a path outside the directory the MCP server may read
  | 'E_SEND' // an export's receiver (an OTLP collector) refused it or could not be reached
  | 'E_NOT_RECORDING' // recall ctl: the recording has finished, or no recording process answers
  | 'E_CONTROL' // recall ctl: the recording process refused or failed the request
  | 'E_TOO_BIG' // an answer would hold more than a view keeps in memory: narrow the question
  | 'E_CODEC_UNAVAILABLE'; // the trace is compressed with a codec this Node's zlib lacks (zstd before Node 22.15)

export class RecallError extends Error {
  readonly code: RecallErrorCode;
  constructor(code: RecallErrorCode, message: string) {
    super(message);
    this.name = 'RecallError';
    this.code = code;
  }
}

export function isRecallError(value: unknown): value is RecallError {
  return value instanceof RecallError;
}
