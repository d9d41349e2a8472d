"""cocotb harness: build and run one RTL block against its pysim.hw golden model."""
