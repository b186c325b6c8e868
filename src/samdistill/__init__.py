"""samdistill: SAM at training time only (SAM4IR, GoodSAM)."""
__version__ = "0.1.0"
