"""benchmarks/results/readme_demo_check.py reads the README's demo table and the demo's printed lines, and
reports every figure that differs (run on a saved output here; the demo itself takes minutes)."""
import importlib.util
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("readme_demo_check", ROOT / "benchmarks" / "results" / "readme_demo_check.py")
check = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check)


def _printed(figures):
    """What `samdistill demo` prints for these figures (its format, values as the README rounds them)."""
    lines = ["", "embedded-rain (quick, 150 steps, offline prior)"]
    for label, cell in figures.items():
        lines.append(f"  {label:<18} PSNR {float(cell['psnr']):8.3f} dB   SSIM {float(cell['ssim']):.4f}")
    lines.append("  gain               PSNR    0.060 dB   SSIM -0.0030")
    return "\n".join(lines)


def test_readme_table_is_read_for_both_profiles():
    figures = check.readme_figures((ROOT / "README.md").read_text(encoding="utf-8"))
    for profile in ("quick", "full"):
        assert set(figures[profile]) == {"input (rainy)", "baseline", "SAM4IR framework"}
        for cell in figures[profile].values():
            assert 0 < float(cell["psnr"]) < 60 and 0 < float(cell["ssim"]) <= 1


def _run(tmp_path, output):
    saved = tmp_path / "demo.log"
    saved.write_text(output)
    return subprocess.run([sys.executable, str(ROOT / "benchmarks" / "results" / "readme_demo_check.py"), "--output", str(saved)],
                          capture_output=True, text=True)


def test_matching_output_passes_and_one_changed_figure_fails(tmp_path):
    expected = check.readme_figures((ROOT / "README.md").read_text(encoding="utf-8"))["quick"]
    ok = _run(tmp_path, _printed(expected))
    assert ok.returncode == 0, ok.stdout + ok.stderr

    changed = {k: dict(v) for k, v in expected.items()}
    changed["baseline"]["psnr"] = f"{float(changed['baseline']['psnr']) + 0.01:.2f}"
    bad = _run(tmp_path, _printed(changed))
    assert bad.returncode == 1
    assert f"baseline PSNR: README {expected['baseline']['psnr']}, demo prints {changed['baseline']['psnr']}" in bad.stdout
    assert "SSIM" not in bad.stdout.split("differ")[1]  # only the changed figure is listed


def test_output_without_the_figures_is_an_error(tmp_path):
    result = _run(tmp_path, "Traceback (most recent call last):\n  ...\nRuntimeError: boom\n")
    assert result.returncode == 2 and "no 'LABEL  PSNR x dB  SSIM y' line" in result.stderr
