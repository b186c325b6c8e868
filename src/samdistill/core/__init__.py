"""The ground floor: what every package needs and that knows nothing of samdistill.

    errors.py           ConfigError, DataError, ImageReadError, CheckpointError (the user's mistakes
                        the CLI turns into one line and exit code 2)
    fileperm.py         outputs get the permissions the user's umask asks for
    atomic.py           the one atomic file write (temporary sibling, then os.replace)
    json_safe.py        nested results as strict JSON (inf / nan as strings)
    safetensors_io.py   safetensors read / atomic write, state-dict fit checks
    model_file.py       the model file's bytes: a state dict + (backbone, args) written, the spec read
    labels.py           the Cityscapes label table (train ids, palette, CS13) every layer speaks
    cache_dir.py        where built-on-first-use data lives; a folder built atomically

Nothing here imports another samdistill module, and nothing imports torch when the module is
imported (the safetensors helpers import it inside the functions that need it), so importing an
error class costs nothing. tests/test_layers.py holds both rules.
"""
