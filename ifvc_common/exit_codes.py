"""The exit statuses of every IFVC command, settled once (README "Exit codes")."""
from __future__ import annotations

import signal

EXIT_OK = 0
EXIT_ERROR = 1              # the run failed: an input that cannot be read or decoded, a tool that failed, I/O
EXIT_USAGE = 2              # the command line cannot be run as given (argparse errors, out-of-range values,
                            # an output that is an input, a missing output folder)
EXIT_HASH_MISMATCH = 2      # ifvc-decode: decoded, but a hash unit disagrees (Annex C's protocol)
EXIT_SIGINT = 128 + signal.SIGINT      # 130, as shells report a process ended by SIGINT
EXIT_SIGTERM = 128 + signal.SIGTERM    # 143

EXIT_CODES_EPILOG = f"""exit codes:
  {EXIT_OK}    success
  {EXIT_ERROR}    error (an input that cannot be read or decoded, a failed tool, a write that failed)
  {EXIT_USAGE}    usage error (bad option or value, output is the same file as an input, missing output
       folder)
  {EXIT_SIGINT}  interrupted by SIGINT (Ctrl-C); {EXIT_SIGTERM} terminated by SIGTERM
A failed or interrupted run leaves no partial output file."""
