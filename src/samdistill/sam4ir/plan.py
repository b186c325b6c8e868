"""What restored priors cost over a run: how many images the segmenter will segment (issue 21, item 5).

`prior_source: restored` re-segments IR1's output of every training and validation pair at each
refresh (`sam4ir/refresh.py`): Rain200L's paper schedule does that 20 times. The count follows
from the schedule alone (no model is built), so `samdistill priors plan` and a run's start-up
line can show it before anything is computed:

- before the warm-up (`restored_prior_warmup` > 0) one pass segments every pair's LQ image;
- a restored refresh runs at `snapshot_start`, then every `refresh_every` steps before the end;
- the first restored refresh segments every pair; with `refresh_fraction` f < 1 each later one
  segments one of ceil(1/f) interleaved shares of the pairs, in turn (`refresh_share`), so a
  pair's masks are at most ceil(1/f) refreshes old.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field


def refresh_cycle(fraction: float) -> int:
    """How many shares the pairs are split into (1: every refresh segments all of them)."""
    return max(1, math.ceil(1.0 / fraction - 1e-9))


def refresh_share(step: int, cfg) -> tuple[int, int]:
    """(share, cycle): the pairs `items[share::cycle]` a restored refresh at `step` segments;
    (0, 1), all of them, at the run's first refresh or with `refresh_fraction` 1."""
    cycle = refresh_cycle(cfg.refresh_fraction)
    index = (step - cfg.snapshot_start) // cfg.refresh_every
    if index <= 0 or cycle == 1:
        return 0, 1
    return index % cycle, cycle


def distinct_pairs(pair_lists: list[list]) -> list:
    """The pairs of several datasets (train, val), each file pair once, in order; a refresh
    segments a pair both datasets hold only once."""
    seen, out = set(), []
    for pairs in pair_lists:
        for pair in pairs:
            ident = (str(pair.lq), pair.lq_box, str(pair.gt), pair.gt_box)
            if ident not in seen:
                seen.add(ident)
                out.append(pair)
    return out


@dataclass
class PriorPlan:
    steps: int
    pairs: int
    cycle: int = 1  # shares the pairs are split into after the first refresh (refresh_fraction)
    lq_pass: int = 0  # images of the LQ pass before the warm-up
    refreshes: list[tuple[int, int]] = field(default_factory=list)  # (step, images) of each restored refresh

    @property
    def images(self) -> int:
        return self.lq_pass + sum(n for _, n in self.refreshes)

    def summary(self) -> str:
        at = ", ".join(str(s) for s, _ in self.refreshes[:6]) + (", ..." if len(self.refreshes) > 6 else "")
        lq = f"{self.lq_pass} LQ images before the warm-up + " if self.lq_pass else ""
        return (f"restored priors: the segmenter will segment {self.images} images over {self.steps} steps "
                f"({lq}{len(self.refreshes)} refreshes of IR1's output{f' at steps {at}' if at else ''}; "
                f"{self.pairs} train + val pairs)")


def plan_restored_priors(cfg, steps: int, pairs: int) -> PriorPlan:
    """The segmentations of a run of `steps` steps over `pairs` distinct pairs, with SAM4IR
    config `cfg` (`prior_source: restored`)."""
    plan = PriorPlan(steps=steps, pairs=pairs, cycle=refresh_cycle(cfg.refresh_fraction))
    start = cfg.snapshot_start
    if start > 0 and steps > 0:
        plan.lq_pass = pairs
    for step in range(start, steps, cfg.refresh_every):
        share, cycle = refresh_share(step, cfg)
        plan.refreshes.append((step, len(range(share, pairs, cycle))))
    return plan
