"""``python -m bpnet._worker_main FD``: a training worker process (see :mod:`bpnet._workers`).

A module of its own so that running it does not re-execute a module the package already
imported."""

from bpnet._workers import main

if __name__ == "__main__":
    main()
