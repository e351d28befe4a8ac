"""Viciousness detectors; installed as modelscan_vicious.detectors."""
