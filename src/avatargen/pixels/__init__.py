"""avatargen.pixels."""
