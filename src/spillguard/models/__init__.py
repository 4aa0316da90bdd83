"""Pure reconstruction networks and the registry that builds them by name."""

from spillguard.models import autoencoder as autoencoder
from spillguard.models.registry import MODELS, build_model, register

__all__ = ["MODELS", "build_model", "register"]
