// Recorded values in words, where more than one part of recall says them: an error (or any
// thrown value) in one line.

import { renderValue, type ValueDesc } from '../format/values.js';

/** `TypeError: message`, or the thrown value. */
export function errorLine(error: ValueDesc | null | undefined, maxChars = 160): string {
  if (error === null || error === undefined) return '(error value not recorded)';
  const e = error as { $?: string; name?: unknown; class?: unknown; message?: unknown };
  if (e.$ === 'error') {
    const message = typeof e.message === 'string' ? e.message : renderValue(e.message as ValueDesc, maxChars);
    return `${String(e.name ?? e.class ?? 'Error')}: ${message.length > maxChars ? message.slice(0, maxChars) + '…' : message}`;
  }
  return `thrown value ${renderValue(error, maxChars)}`;
}
