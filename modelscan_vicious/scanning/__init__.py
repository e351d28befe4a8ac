"""The scan pipeline: load model -> load data -> detectors and attacks -> verdict."""
