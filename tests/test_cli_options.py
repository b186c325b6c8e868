"""A short option means one thing in every command (users should never guess what -c is)."""
import typer

from samdistill.cli.main import app


def _commands(group, prefix=()):
    for name, cmd in group.commands.items():
        if hasattr(cmd, "commands"):  # a group (typer vendors its own click: duck typing)
            yield from _commands(cmd, prefix + (name,))
        else:
            yield prefix + (name,), cmd


def test_short_options_are_consistent_across_commands():
    meaning: dict[str, set[str]] = {}
    where: dict[str, list[str]] = {}
    for path, cmd in _commands(typer.main.get_command(app)):
        for param in cmd.params:
            if getattr(param, "param_type_name", "") != "option":
                continue
            longs = [o for o in param.opts if o.startswith("--")]
            for short in (o for o in param.opts if len(o) == 2):
                meaning.setdefault(short, set()).update(longs)
                where.setdefault(short, []).append(" ".join(path))
    assert meaning["-c"] == {"--config"}, where["-c"]
    assert meaning["-m"] == {"--checkpoint"}, where["-m"]
    # -o writes somewhere: --out or train's --output-dir
    assert meaning["-o"] <= {"--out", "--output-dir"}
    for short, longs in meaning.items():
        assert len(longs) == 1 or short == "-o", (short, longs, where[short])


def test_help_paragraphs_wrap_to_the_terminal_not_to_the_source():
    """A docstring's line breaks inside a paragraph must not reach --help (it printed 'packages or' alone)."""
    from samdistill.cli.main import _reflow

    assert _reflow("one two\nthree.\n\nA list:\n- a\n- b") == "one two three.\n\nA list:\n- a\n- b"
    for path, cmd in _commands(typer.main.get_command(app)):
        if cmd.help:
            for para in cmd.help.split("\n\n"):
                lines = para.splitlines()
                if not any(ln.lstrip().startswith(("-", "*", "samdistill ")) or ln.startswith("  ") for ln in lines):
                    assert len(lines) == 1, (" ".join(path), para)
