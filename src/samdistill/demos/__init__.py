"""The demos: experiments that train models and report on them (`samdistill demo`). `rain.py` trains
the experiment of `rain_baseline.yaml` / `rain_sam4ir.yaml` (shipped with the package, to copy and
train with `samdistill train -c`); `report/` only draws and tabulates."""
