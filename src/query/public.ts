// recall's query library for tools and scripts: `import { openQuery } from 'recall/query'`.
// Open a trace (its index is built once and kept beside it) and ask the engine: the stack at a
// moment (physical or logical), one call with its values, the calls of a function, a call's
// subtree, a time range, every activation in order. docs/QUERY.md.

export { openQuery, hasCurrentIndex, DEFAULT_SEGMENT_RECORDS, type OpenQueryOptions, type QueryTrace, type IndexStatus } from './open.js';
export { QueryEngine, type ActivationVisitor } from './engine.js';
export type { CallAnswer, CallBrief, CallFilter, CallsPage, DetailValue, FoldedChild, Frame, FunctionStats, LogicalFrame, LogicalStackAnswer, StackAnswer, SubtreeAnswer } from './answers.js';
export { callId, parseCallId, type CallRef } from './ids.js';
