"""XRD phase identification (XRDidentifier): CIF -> reflection cache -> augmented patterns -> 1D RegNet + AdaCos."""
