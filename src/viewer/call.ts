// The viewer's details of one call: function, place, times, recorded values (arguments,
// `this`, return, error), callers innermost first across awaits, and callees folded.

import { renderValue, type ValueDesc } from '../format/values.js';
import { parseCallId } from '../query/ids.js';
import type { QueryTrace } from '../query/open.js';
import { argsOf } from '../tools/calls.js';
import { whereOf } from '../tools/text.js';
import { nullable } from './params.js';

function shown(desc: unknown, maxChars = 400): string {
  return renderValue(desc as ValueDesc, maxChars);
}

export function callDetails(q: QueryTrace, id: string): unknown {
  const { engine } = q;
  const c = engine.call(id);
  const entry = engine.functions.get(c.fn);
  const params = entry?.params ?? [];
  const args = argsOf(c.values);
  const values: { label: string; text: string }[] = [];
  if (args) args.forEach((arg, i) => values.push({ label: params[i] ? params[i]! : `arg ${i}`, text: shown(arg) }));
  const thisValue = c.values.find((v) => v.body.this !== undefined);
  if (thisValue) values.push({ label: 'this', text: shown(thisValue.body.this) });
  const ret = c.values.find((v) => v.body.ret !== undefined);
  if (ret) values.push({ label: 'returned', text: shown(ret.body.ret) });
  const error = c.values.find((v) => v.body.error !== undefined);
  if (error) values.push({ label: 'threw', text: shown(error.body.error) });
  const ref = parseCallId(c.id);
  // Callers innermost first, across awaits (resumed: the frame runs again after an await, and
  // the frames after it are the calls that started it).
  const logical = engine.logicalStackAt(ref.thread, { position: ref.position });
  const callers = logical.frames
    .filter((f) => f.id !== c.id)
    .map((f) => ({ id: f.id, name: f.name, where: whereOf(engine.functions.get(f.fn), q.manifest.cwd), resumed: f.resumed }));
  return {
    id: c.id,
    thread: c.thread,
    threadId: c.threadId,
    fn: c.fn,
    name: c.name,
    where: whereOf(entry, q.manifest.cwd),
    file: c.file,
    line: c.line,
    column: entry?.column ?? 0,
    enterNs: nullable(c.enterNs),
    exitNs: nullable(c.exitNs),
    durationNs: nullable(c.durationNs),
    selfNs: nullable(c.selfNs),
    timed: c.timed,
    outcome: c.outcome,
    values,
    recorded: c.values.length > 0,
    callers,
    children: [...c.children].sort((a, b) => b.totalNs - a.totalNs || b.calls - a.calls).map((f) => ({ fn: f.fn, name: f.name, calls: f.calls, totalNs: nullable(f.totalNs), selfNs: nullable(f.selfNs), throws: f.throws })),
  };
}

