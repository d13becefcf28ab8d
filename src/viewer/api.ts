// The viewer's JSON API (`recall view`): routes a request to the file answering it. Every answer
// comes from the query engine over the trace's index, so the browser never holds the trace.
// Endpoints (GET, query parameters):
//   /api/overview                         the trace: command, processes, threads with time extents
//   /api/timeline?thread&from&to&width&axis   level of detail for one thread and a window of
//                                         time, or of record positions (axis=events) (timeline.ts)
//   /api/call?id                          one call: function, place, times, values, callers (call.ts)
//   /api/search?q                         functions by name (a glob, or a substring) with totals
//   /api/calls?fn&thread&cursor&limit     calls of one function, a page at a time (search.ts)
//   /api/step?id&to=next|prev|parent|child|cause   the call a step leads to (null: none) (navigation.ts)
//   /api/jump?fn&to=first|slowest         the first or slowest call of a function (navigation.ts)
//   /api/hotspots                         functions by self time with their calls (panels.ts)
//   /api/exceptions                       each throw: error, throwing call, how it ended (panels.ts)
//   /api/range?from&to                    the summary of a time range (panels.ts)
//   /api/runtime                          runtime-event tracks: GC, spans, workers, messages (runtime.ts)
//   /api/source?file&line                 lines around a line of a file the function table names (source.ts)
// Errors the user can cause are RecallErrors; the server answers them with 400 and one line.

import { RecallError } from '../format/errors.js';
import type { QueryTrace } from '../query/open.js';
import { callDetails } from './call.js';
import { jump, step } from './navigation.js';
import { overview } from './overview.js';
import { exceptions, hotspots, rangeSummary } from './panels.js';
import { axisParam, numberParam, required, threadParam, type Params } from './params.js';
import { callsOf, search } from './search.js';
import { runtimeTracks } from './runtime.js';
import { sourceExcerpt } from './source.js';
import { timeline } from './timeline.js';

export { prepareTimelines, timeline, TimelineBuilder, LEVEL_CELLS, LEVEL_RECORDS, type TimelineSpan, type TimelineAnswer } from './timeline.js';

/** Answer one API request (path under /api/); throws RecallError for bad requests. */
export function answer(q: QueryTrace, path: string, params: Params): unknown {
  switch (path) {
    case 'overview':
      return overview(q);
    case 'timeline':
      return timeline(q, threadParam(q, params), numberParam(params, 'from'), numberParam(params, 'to'), numberParam(params, 'width'), axisParam(params));
    case 'call':
      return callDetails(q, required(params, 'id'));
    case 'search':
      return search(q, params.get('q') ?? '');
    case 'calls':
      return callsOf(q, numberParam(params, 'fn'), params.has('thread') ? threadParam(q, params) : undefined, params.get('cursor') ?? undefined, numberParam(params, 'limit', 50));
    case 'step':
      return step(q, required(params, 'id'), required(params, 'to'));
    case 'jump':
      return jump(q, numberParam(params, 'fn'), required(params, 'to'));
    case 'hotspots':
      return hotspots(q);
    case 'exceptions':
      return exceptions(q);
    case 'range':
      return rangeSummary(q, numberParam(params, 'from'), numberParam(params, 'to'));
    case 'runtime':
      return runtimeTracks(q);
    case 'source':
      return sourceExcerpt(q, required(params, 'file'), numberParam(params, 'line'));
    default:
      throw new RecallError('E_USAGE', `no API endpoint '${path}'`);
  }
}
