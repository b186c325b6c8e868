"""Every command line the CLI shows (in --help texts) and every `samdistill` line of README.md's
```bash blocks parses with the current command line (issue 22, item 7). Parsing only: options,
arguments and subcommands are checked by click; nothing runs.

The README is read as it is when the test runs (it gets rewritten), so the extraction is generic:
continuation lines joined, comments dropped, `[--opt X]` read as an optional `--opt X`, and
`accelerate launch ... -m samdistill.cli.main ARGS` read as `samdistill ARGS`.
"""
from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import typer

from samdistill.cli.main import app

try:  # typer >= 0.2x carries its own copy of click; older ones use click itself
    from typer._click import exceptions as cli_errors
except ImportError:  # pragma: no cover - depends on the installed typer
    from click import exceptions as cli_errors

UsageError = cli_errors.UsageError
ClickException = cli_errors.ClickException

ROOT = Path(__file__).resolve().parents[1]
_BACKTICKED = re.compile(r"`(samdistill(?:\s[^`]*)?)`")
_EXAMPLE = re.compile(r"(?:^|\n)\s*(?:Example:|e\.g\.)?\s*(samdistill\s[^\n]*)")
_MODULE_FORM = re.compile(r"-m\s+samdistill\.cli\.main\b")


def root_command():
    return typer.main.get_command(app)


def _is_group(cmd) -> bool:
    return hasattr(cmd, "get_command") and hasattr(cmd, "commands")


def parse_command_line(line: str) -> None:
    """Parse `samdistill ...` without running it; raises click's error on a wrong option,
    a missing required value or an unknown command. A bare command path (`samdistill eval`,
    a reference to a command in prose) only has to name one."""
    argv = shlex.split(line)
    assert argv and argv[0] == "samdistill", line
    args = argv[1:]
    cmd = root_command()
    ctx = typer.Context(cmd, info_name="samdistill")
    while _is_group(cmd) and args and not args[0].startswith("-"):
        sub = cmd.get_command(ctx, args[0])
        if sub is None:
            raise UsageError(f"no such command {args[0]!r}")
        cmd, args = sub, args[1:]
        ctx = typer.Context(cmd, info_name=sub.name, parent=ctx)
    if not args or "--help" in args:
        return  # a command named in prose, a group alone, or --help: the path is all there is to check
    cmd.make_context(ctx.info_name, args, parent=ctx.parent)


def _help_texts(cmd, path: str = "samdistill") -> list[tuple[str, str]]:
    """(command path, text) of everything `--help` shows: the command's help and epilog and each
    parameter's help, for every command and subcommand."""
    texts = [(path, t) for t in (cmd.help, cmd.epilog, cmd.short_help) if t]
    texts += [(f"{path} {p.name}", p.help) for p in cmd.params if getattr(p, "help", None)]
    if _is_group(cmd):
        for name, sub in cmd.commands.items():
            texts += _help_texts(sub, f"{path} {name}")
    return texts


def help_examples() -> list[tuple[str, str]]:
    found = []
    for where, text in _help_texts(root_command()):
        for match in [*_BACKTICKED.finditer(text), *_EXAMPLE.finditer(text)]:
            found.append((where, match.group(1).strip().rstrip(".,;:)")))
    return sorted(set(found))


def readme_command_lines(markdown: str) -> list[str]:
    """The samdistill command lines of the ```bash blocks of a Markdown text."""
    lines = []
    for block in re.findall(r"^```(?:bash|sh|shell)\s*\n(.*?)^```", markdown, flags=re.S | re.M):
        for line in block.replace("\\\n", " ").splitlines():
            line = " ".join(line.split(" #", 1)[0].split())
            line = re.sub(r"\[(-[^\]]*)\]", r"\1", line)  # [--tile 512]: optional, shown as given
            if _MODULE_FORM.search(line):  # accelerate launch ... -m samdistill.cli.main ARGS
                line = "samdistill " + _MODULE_FORM.split(line, maxsplit=1)[1].strip()
            line = re.sub(r"^(?:[A-Z_]+=\S+\s+)*", "", line)  # VAR=value prefixes
            line = re.sub(r"^\S*/?bin/samdistill\b", "samdistill", line)  # .venv/bin/samdistill
            if line.startswith("samdistill"):
                lines.append(line)
    return lines


def test_the_parser_catches_a_wrong_option() -> None:
    with pytest.raises(UsageError):
        parse_command_line("samdistill eval-seg -c run/model.safetensors --root data/DensePASS")
    with pytest.raises(UsageError):
        parse_command_line("samdistill no-such-command --x")
    parse_command_line("samdistill eval-seg -m run/model.safetensors --root data/DensePASS --classes 13")


def test_readme_extraction_reads_continuations_comments_and_accelerate() -> None:
    text = ("```bash\nsamdistill train --config a.yaml \\\n   x.y=1   # note\n"
            "accelerate launch --num_processes 2 -m samdistill.cli.main train -c a.yaml\n"
            "pip install x\nsamdistill restore a/ b/ -m m.safetensors [--tile 512]\n```\n"
            "```python\nsamdistill is not a shell line here\n```\n")
    assert readme_command_lines(text) == ["samdistill train --config a.yaml x.y=1",
                                          "samdistill train -c a.yaml",
                                          "samdistill restore a/ b/ -m m.safetensors --tile 512"]


def test_help_texts_show_examples() -> None:
    assert any(where.startswith("samdistill eval-seg") for where, _ in help_examples())


@pytest.mark.parametrize("where,line", help_examples())
def test_every_command_line_in_help_parses(where: str, line: str) -> None:
    try:
        parse_command_line(line)
    except ClickException as err:
        pytest.fail(f"`{where} --help` shows `{line}`, which does not parse: {err.format_message()}")


def test_every_samdistill_line_of_the_readme_parses() -> None:
    readme = ROOT / "README.md"
    if not readme.is_file():
        pytest.skip("no README.md")
    bad = []
    for line in readme_command_lines(readme.read_text(encoding="utf-8")):
        try:
            parse_command_line(line)
        except ClickException as err:
            bad.append(f"{line}\n    -> {err.format_message()}")
    assert not bad, "README.md command lines that do not parse:\n" + "\n".join(bad)
