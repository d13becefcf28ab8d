// Token counting for budgeted answers: the o200k_base encoding (gpt-tokenizer), loaded on first
// use (it takes ~0.4 s and 30 MB of tables, so commands that never budget never load it).
// Trace text runs about 2.3–2.7 characters per token, so characters / 4 would overrun budgets.

type Counter = (text: string) => number;

let counter: Counter | null = null;

/** Load the tokenizer (once); every budgeted answer awaits this before rendering. */
export async function loadTokenizer(): Promise<Counter> {
  if (counter === null) {
    const { countTokens } = await import('gpt-tokenizer/encoding/o200k_base');
    counter = (text: string) => (text.length === 0 ? 0 : countTokens(text));
  }
  return counter;
}

/** Tokens in text; loadTokenizer() must have resolved. */
export function countTokens(text: string): number {
  if (counter === null) throw new Error('countTokens before loadTokenizer');
  return counter(text);
}
