"""FingerprintML: machine-learning identification of materials and radioactive samples by their fingerprints."""

__version__ = "0.1.0"
