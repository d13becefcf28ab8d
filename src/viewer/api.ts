// The viewer's JSON API (`recall view`): routes a request to the file answering it. Every answer
// comes from the query engine over the trace's index, so the browser never holds the trace.
// The viewer shows every process of the trace (viewer-trace.ts): threads are numbered over all
// of them, call ids are `c<thread>.<position>` in the first process and `c<thread>.<position>@PID`
// in the others (ids.ts), times are on one axis (the first process's start as 0), and function
// ids (`fn`) are per process, so they come with `process` (a pid; default the first process).
// processes.ts routes each request to its process and merges the answers about all of them.
// Endpoints (GET, query parameters):
//   /api/overview                         the trace: command, processes (tree order), threads with time extents
//   /api/timeline?thread&from&to&width&axis   level of detail for one thread and a window of
//                                         time, or of record positions (axis=events) (timeline.ts)
//   /api/call?id                          one call: function, place, times, values, callers, process (call.ts)
//   /api/search?q                         functions by name (a glob, or a substring) with totals, each with its process
//   /api/calls?fn&process&thread&cursor&limit   calls of one function, a page at a time (search.ts)
//   /api/step?id&to=next|prev|parent|child|cause   the call a step leads to (null: none) (navigation.ts)
//   /api/jump?fn&process&to=first|slowest the first or slowest call of a function (navigation.ts)
//   /api/hotspots                         functions by self time with their calls (panels.ts)
//   /api/exceptions                       each throw: error, throwing call, how it ended (panels.ts)
//   /api/range?from&to                    the summary of a time range (panels.ts)
//   /api/runtime                          runtime-event tracks: GC, spans, workers, messages, spawns (runtime.ts)
//   /api/source?file&line&process         lines around a line of a file a function table names (source.ts)
// Errors the user can cause are RecallErrors; the server answers them with 400 and one line.

import { RecallError } from '../format/errors.js';
import { reopenAfterIndexDamage } from '../query/index-file.js';
import { axisParam, numberParam, processParam, required, threadParam, type Params } from './params.js';
import { call, calls, exceptions, hotspots, jumpTo, overview, range, runtime, search, source, stepFrom, timeline } from './processes.js';
import type { ViewerTrace } from './viewer-trace.js';

export { prepareTimelines, timeline, TimelineBuilder, LEVEL_CELLS, LEVEL_RECORDS, type TimelineSpan, type TimelineAnswer } from './timeline.js';

/**
 * Answer one API request as `answer` does; when a part of an index read on first use turns out
 * damaged (E_INDEX_DAMAGED), open the trace again, which rebuilds it, and answer once more, as
 * the MCP tools do (reopenAfterIndexDamage).
 */
export function answerReopening(v: ViewerTrace, path: string, params: Params): unknown {
  for (let attempt = 0; ; attempt++) {
    try {
      return answer(v, path, params);
    } catch (error) {
      if (!reopenAfterIndexDamage(error, attempt)) throw error;
      v.reopen();
    }
  }
}

/** Answer one API request (path under /api/); throws RecallError for bad requests. */
export function answer(v: ViewerTrace, path: string, params: Params): unknown {
  switch (path) {
    case 'overview':
      return overview(v);
    case 'timeline':
      return timeline(v, threadParam(v.threadCount, params), numberParam(params, 'from'), numberParam(params, 'to'), numberParam(params, 'width'), axisParam(params));
    case 'call':
      return call(v, required(params, 'id'));
    case 'search':
      return search(v, params.get('q') ?? '');
    case 'calls':
      return calls(v, numberParam(params, 'fn'), processParam(params), params.has('thread') ? threadParam(v.threadCount, params) : undefined, params.get('cursor') ?? undefined, numberParam(params, 'limit', 50));
    case 'step':
      return stepFrom(v, required(params, 'id'), required(params, 'to'));
    case 'jump':
      return jumpTo(v, numberParam(params, 'fn'), processParam(params), required(params, 'to'));
    case 'hotspots':
      return hotspots(v);
    case 'exceptions':
      return exceptions(v);
    case 'range':
      return range(v, numberParam(params, 'from'), numberParam(params, 'to'));
    case 'runtime':
      return runtime(v);
    case 'source':
      return source(v, required(params, 'file'), numberParam(params, 'line'), processParam(params));
    default:
      throw new RecallError('E_USAGE', `no API endpoint '${path}'`);
  }
}
