from samdistill.models.registry import create_backbone, list_backbones, register_backbone

__all__ = ["create_backbone", "list_backbones", "register_backbone"]
