from __future__ import annotations


class ConfigError(Exception):
    """A document that cannot be applied; ``path`` names the place, as
    ``monitors[3].interval_seconds``. Nothing of the import is applied."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message

    def as_dict(self) -> dict[str, str]:
        return {"path": self.path, "message": self.message}
