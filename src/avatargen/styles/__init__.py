"""avatargen.styles."""
