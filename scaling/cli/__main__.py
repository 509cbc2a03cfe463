"""``python -m scaling.cli``: the same as the ``scaling`` command."""

from scaling.cli import main

main()
