"""avatargen.render."""
