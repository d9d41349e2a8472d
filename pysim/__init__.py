"""pysim — golden model for low-rank training (LRT) on non-volatile memory.

Float level (the algorithm as a researcher states it):
    pysim.lrt     streaming rank-r gradient accumulator (SKS / LRT)
    pysim.nvm     NVM crossbar: levels, write-on-change, wear, energy
    pysim.rules   weight-update rules (SGD, mini-batch, mixed precision, LRT)
    pysim.config  YAML loading and validation (every config enters here)
"""

__version__ = "0.1.0"
