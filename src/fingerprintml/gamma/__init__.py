"""Gamma-spectrum source detection, multilabel nuclide identification and activity estimation (XGD-MLC)."""
