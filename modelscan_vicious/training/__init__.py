"""Classifier architectures and the make-fixture pipeline (train, export, manifest)."""
