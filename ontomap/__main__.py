"""``python -m ontomap`` and the ``ontomap`` command: the command line, with Ctrl-C during
start-up (importing it) ending as it does later, with one line and exit code 130."""

import sys


def run() -> None:
    """Import and run the command line (:func:`ontomap.cli.main`)."""
    try:
        from ontomap.cli import main
    except KeyboardInterrupt:
        sys.stderr.write("ontomap: error: interrupted\n")
        raise SystemExit(130) from None
    main()


if __name__ == "__main__":
    run()
