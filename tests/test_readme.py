"""The README is written for users: no references to the project's internal issue tracker or review
findings (a user cannot look them up), and it stays a short page (investigations live in docs/)."""
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"
INTERNAL = re.compile(r"\b(issue|defect|session|item)[\s-]+#?\d+", re.IGNORECASE)


def test_readme_has_no_internal_references():
    hits = [f"{n}: {line.strip()}" for n, line in enumerate(README.read_text(encoding="utf-8").splitlines(), 1)
            if INTERNAL.search(line)]
    assert not hits, "README.md refers to internal issues/defects:\n" + "\n".join(hits)


def test_readme_is_a_short_page():
    assert len(README.read_text(encoding="utf-8").splitlines()) < 300


def test_readme_and_docs_name_every_benchmark_script():
    """Each script under benchmarks/ is in the README's benchmark table (by its path under
    benchmarks/) and in docs/benchmarks.md (by its full path), so no figure's source goes unlisted."""
    root = README.parent / "benchmarks"
    text, docs = README.read_text(encoding="utf-8"), (README.parent / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    scripts = sorted(p.relative_to(root).as_posix() for p in root.rglob("*.py") if not p.name.startswith("_"))
    assert scripts
    assert not [s for s in scripts if f"`{s}`" not in text], "README.md's benchmark table lacks some scripts"
    assert not [s for s in scripts if f"`benchmarks/{s}" not in docs], "docs/benchmarks.md lacks some scripts"


def test_every_benchmark_script_can_write_its_figures_as_json():
    """Figures are traced to a file, not copied from stdout: each script takes --json PATH or --out DIR
    and writes JSON there (`json.dumps` / `write_json`)."""
    root = README.parent / "benchmarks"
    missing = []
    for path in sorted(root.rglob("*.py")):
        if path.name.startswith("_"):
            continue
        src = path.read_text(encoding="utf-8")
        takes_path = re.search(r"add_argument\(\s*\"--(json|out)\"", src)
        writes = re.search(r"json\.dumps?\(|write_json\(", src)
        if not (takes_path and writes):
            missing.append(path.relative_to(root).as_posix())
    assert not missing, f"benchmark scripts that only print: {missing}"
