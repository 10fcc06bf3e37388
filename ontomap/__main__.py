"""``python -m ontomap`` and the ``ontomap`` command: the command line, with Ctrl-C during
start-up (importing it) ending as it does later, with one line and exit code 130."""

import gc
import sys

#: The cyclic garbage collector's thresholds for a command. ontomap's work makes many small
#: objects (model objects, lines, tuples) and few reference cycles; Python's default of a young
#: collection every 700 allocations cost a tenth to a sixth of an export: in-process
#: ``write_stream`` of the corpus to Turtle, 4 runs alternated, CPU median 3.79 s -> 3.25 s
#: (1x), 11.43 s -> 10.38 s (3x); whole processes, 3 runs alternated, ``export`` of 3x to
#: Turtle 11.30 s -> 10.74 s and ``build`` of 1x 5.70 s -> 5.46 s, peak memory +10 MB.
GC_THRESHOLDS = (100_000, 20, 100)


def run() -> None:
    """Import and run the command line (:func:`ontomap.cli.main`)."""
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        from ontomap.cli import main
    except KeyboardInterrupt:
        sys.stderr.write("ontomap: error: interrupted\n")
        raise SystemExit(130) from None
    main()


if __name__ == "__main__":
    run()
