"""Reconstruction attacks and vicious (joint F+G) training; installed as modelscan_vicious.attacks."""
