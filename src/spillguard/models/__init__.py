"""Pure reconstruction networks and the registry that builds them by name."""

from spillguard.models import ae_head as ae_head
from spillguard.models import autoencoder as autoencoder
from spillguard.models import memory_ae as memory_ae
from spillguard.models import vae as vae
from spillguard.models.registry import MODELS, build_model, register

__all__ = ["MODELS", "build_model", "register"]
