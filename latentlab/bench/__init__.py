"""The benchmark report (issue 5): `python -m latentlab.bench` regenerates BENCHMARKS.md.

One module per section, each a `run(ctx) -> Section` (see `core`): disentangle (β sweep on
shapes), anomaly (one-class mnist), probes (few-label linear probes), restoration (denoising and
inpainting), likelihood (importance-weighted NLL), throughput (AE vs PCA, training speed), peer
(pythae). `report` turns sections into markdown.
"""
