"""One module per area; each exposes run() -> list of result dicts (see bench.meter.measure)."""
