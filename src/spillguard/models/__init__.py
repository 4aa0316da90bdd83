"""Pure networks (``nn.Module``s), the registry that builds them by name, the capability Protocols
they declare (``capabilities``), inference fusion (``fusion``) and the training losses by name (``losses``)."""

from spillguard.models import ae_head as ae_head
from spillguard.models import autoencoder as autoencoder
from spillguard.models import memory_ae as memory_ae
from spillguard.models import seg_head as seg_head
from spillguard.models import vae as vae
from spillguard.models.registry import MODELS, build_model, register

__all__ = ["MODELS", "build_model", "register"]
