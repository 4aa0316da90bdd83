"""avatargen: character styles learned by maximum likelihood and Bayes, drawn as avatars, and new
avatars generated from pixel colour distributions."""

__version__ = "0.1.0"
