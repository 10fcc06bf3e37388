"""Imported first by the server's fork server (see ``ontomap.server.workers``): from here on
that process ignores SIGINT, and so does every worker it forks, which starts with the fork
server's handlers. A Ctrl-C at the terminal reaches the whole process group; the front end
alone handles it (and stops the workers), so a worker never dies half-started with a
traceback."""

import signal

signal.signal(signal.SIGINT, signal.SIG_IGN)
