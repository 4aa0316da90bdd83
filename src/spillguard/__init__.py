"""spillguard: flags metal spills in pit images with a convolutional autoencoder."""

__version__ = "0.1.0"
