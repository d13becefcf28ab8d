// Signal names and numbers (for the manifest and for exit codes: 128 + signal number).
import { constants } from 'node:os';

const byNumber = new Map<number, string>();
for (const [name, number] of Object.entries(constants.signals)) byNumber.set(number, name);

export function signalName(signal: number): string | null {
  return byNumber.get(signal) ?? null;
}

export function signalNumber(name: string): number {
  return (constants.signals as Record<string, number>)[name] ?? 0;
}
