"""Running the model under scan contained: the worker process, its sandbox, and the scanner's side of it (README "Containment")."""
