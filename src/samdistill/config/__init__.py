from samdistill.config.loader import ConfigError, apply_overrides, load_config, save_config

__all__ = ["ConfigError", "apply_overrides", "load_config", "save_config"]
