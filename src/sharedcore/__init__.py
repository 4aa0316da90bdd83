"""What both tools really share: user errors, atomic output writing, validated image loading,
console output (quiet mode, progress bars) and the HTML report shell."""

from sharedcore.errors import UserError

__all__ = ["UserError"]
