/**
 * V8 flags for the long-running processes (serve, monitor). Each round allocates a few MB that die
 * young; V8 answers a steady allocation rate by growing the young generation towards its 16 MB
 * semi-space maximum, and serve's RSS crept from ~65 MB to ~117 MB over 600 rounds of a 75 ms
 * agent while the heap that survives a full GC stayed flat at ~6 MB (nothing is retained). A 1 MB
 * semi-space keeps it at ~65-70 MB, at the cost of more (sub-millisecond) scavenges.
 * See docs/benchmarks.md (the memory soak) for the curves.
 */
export const LONG_RUNNING_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];
