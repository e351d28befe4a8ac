"""modelscan-vicious: scan image classifiers for training that makes their outputs invertible."""

__version__ = "0.1.0"
