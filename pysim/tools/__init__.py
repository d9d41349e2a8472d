"""Tools over the model and the RTL: benchmarks and synthesis figures (not the spec)."""
