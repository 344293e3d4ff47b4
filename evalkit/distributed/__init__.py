"""Running model engines beyond one process: a pool of Ray actors, one engine replica each."""
