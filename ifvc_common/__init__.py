"""Command-line plumbing shared by every IFVC console script (standard library only).

- ``exit_codes``: the exit statuses every command documents, and the help epilog that lists them;
- ``errors``: one-line errors (``prog: error: message``) and the exceptions that carry an exit status;
- ``parser``: the argument parser of every command (defaults in --help, the exit-code epilog,
  --version, usage errors on one line) and the ``command`` wrapper of a ``main``;
- ``argtypes``: argparse ``type=`` helpers that check numeric ranges;
- ``paths``: checks made before a command reads or writes anything (an output must not be the
  same file as an input; the folder of an output file must exist);
- ``outputs``: transactional writing of every output of a run (all renamed at the end, or none);
- ``interrupts``: SIGINT and SIGTERM end a run through the same clean exit path;
- ``version``: the text of --version (package, specification, git revision).

Every package may import it (encoder, decoder, tools, anchors, conformance); it imports none of them
(``version`` reads the specification version from ``bitstream`` lazily, when --version is asked).
"""
