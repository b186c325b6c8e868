"""Pseudo-labels kept per panorama when the network that makes them never changes (`goodsam.label_cache`).

A frozen labeler (`train_ta: false`, or `label_ta: frozen`) gives every panorama the same E, E_H,
boundary map and whole-image target at every epoch: the target panoramas are not augmented and
their masks come from the prior cache. Computing them once saves the labeler's window forward
and the CPU fusion on every later visit. Labels are kept on the CPU as uint8 (class ids < 255,
255 = ignored), one entry per dataset index, in this process only (rebuilt after a resume).
"""
from __future__ import annotations

import torch

_KEYS = ("ensemble", "high_conf", "boundary", "image")


class LabelCache:
    def __init__(self) -> None:
        self._items: dict[int, dict[str, torch.Tensor]] = {}

    def __len__(self) -> int:
        return len(self._items)

    def get(self, indices: torch.Tensor, device: torch.device) -> dict[str, torch.Tensor] | None:
        """The batch's labels, windows flattened as the step uses them — `ensemble`, `high_conf`,
        `boundary` `(B*K, h, w)` and `image` `(B, H, W)` — or None unless every panorama is cached."""
        keys = [int(i) for i in indices]
        if not all(k in self._items for k in keys):
            return None
        out = {}
        for name in _KEYS:
            stacked = torch.cat([self._items[k][name] for k in keys]) if name != "image" else \
                torch.stack([self._items[k][name] for k in keys])
            out[name] = stacked.to(device=device, dtype=torch.bool if name == "boundary" else torch.long)
        return out

    def put(self, indices: torch.Tensor, labels: dict[str, torch.Tensor], image: torch.Tensor) -> None:
        """Store `labels` (`ensemble`, `high_conf`, `boundary`: `(B*K, h, w)`) and the whole-image target
        `image` `(B, H, W)` of panoramas `indices` `(B,)`."""
        b = len(indices)
        for n, idx in enumerate(indices):
            entry = {name: labels[name].unflatten(0, (b, -1))[n] for name in _KEYS[:3]}
            entry["image"] = image[n]
            if any(int(v.max()) > 255 for v in entry.values() if v.numel()):
                raise ValueError("label ids above 255 cannot be cached as uint8")
            self._items[int(idx)] = {k: v.detach().to("cpu", torch.uint8) for k, v in entry.items()}
