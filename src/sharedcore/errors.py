"""The one exception type for mistakes a user can make (bad file, bad value, missing data)."""

from __future__ import annotations


class UserError(Exception):
    """A problem the user can fix. The message is one line naming the file/row/value and the fix.

    The CLIs print it as ``error: <message>`` and exit with code 2; bugs still raise normally.
    """

    exit_code = 2

    def __init__(self, message: str) -> None:
        super().__init__(" ".join(str(message).split()))
