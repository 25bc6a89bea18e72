"""The seed's "before" versions, kept deliberately naive so benchmarks can measure the "after".

Mounted at /bench/baseline/ only when BENCHMARK_BASELINES=1 (the benchmark runner sets it);
never in a normal deployment. Each view names the seed code it reproduces and what is wrong
with it. They authenticate like the API (token) so both sides pay the same auth cost.
"""
