"""Running the model under scan contained: the worker, its sandbox, the scanner's side (README "Containment")."""
