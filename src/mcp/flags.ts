// The Node flags `recall mcp` runs its server with. A young generation of at most 16 MB: the
// server's answers make short-lived garbage, and with V8's default young generation on a
// large machine a server that keeps ~190 MB alive peaked at ~320 MB RSS on the 46 M-event tsc
// trace (bench/tools.mjs, Node 24); with 16 MB, 231 MB at the same latencies.
export const SERVER_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=16'];
