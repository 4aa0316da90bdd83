"""Experiment tracking: local files always (``epochs.jsonl`` in the run folder), Weights & Biases
when asked. wandb is an optional extra, imported only when ``use_wandb`` is true; it honours
WANDB_MODE (default ``offline``: works with no network; ``online`` syncs; ``disabled`` logs nothing)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, cast

from sharedcore.errors import UserError


class Tracker:
    """Logs per-epoch dicts, a final summary and images to local files and optionally to W&B."""

    def __init__(
        self,
        folder: str | os.PathLike[str],
        use_wandb: bool = False,
        name: str = "",
        config: dict[str, Any] | None = None,
    ) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lines = (self.folder / "epochs.jsonl").open("w", encoding="utf-8")
        self._run: Any = None
        if use_wandb:
            try:
                import wandb
            except ImportError:
                raise UserError(
                    "--wandb needs the optional 'wandb' package, which is not installed; "
                    "install it with pip install 'avatargen-spillguard[wandb]' or leave out --wandb"
                ) from None
            self._wandb = wandb
            self._run = wandb.init(
                project=os.environ.get("WANDB_PROJECT", "spillguard"),
                name=name or None,
                config=config or {},
                mode=cast(Any, os.environ.get("WANDB_MODE") or "offline"),  # offline unless the user asks
                dir=str(self.folder),
            )

    def log(self, row: dict[str, Any]) -> None:
        """One epoch's numbers."""
        self._lines.write(json.dumps(row) + "\n")
        self._lines.flush()
        if self._run is not None:
            self._run.log(row)

    def finish(self, summary: dict[str, Any], images: dict[str, Path] | None = None) -> None:
        """Final numbers and figures; closes the local file and the W&B run."""
        self._lines.close()
        if self._run is not None:
            self._run.summary.update({k: v for k, v in summary.items() if isinstance(v, int | float | str)})
            for key, path in (images or {}).items():
                if Path(path).is_file():
                    self._run.log({key: self._wandb.Image(str(path))})
            self._run.finish()
