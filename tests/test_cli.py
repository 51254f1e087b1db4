"""The command line: each command end to end on generated files, and clear one-line errors."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from facekeypoints.cli import main
from facekeypoints.data import read_submission


def run(capsys, *argv) -> tuple[int, str, str]:
    code = main([str(a) for a in argv])
    out, err = capsys.readouterr()
    return code, out, err


def test_submit_and_score(kaggle_dir, capsys, tmp_path):
    out = tmp_path / "sub.csv"
    code, stdout, _ = run(capsys, "submit", "--data", kaggle_dir, "--out", out, "--model", "mean")
    assert code == 0 and "wrote" in stdout
    row_ids, locations = read_submission(out)
    assert row_ids.tolist() == list(range(1, len(row_ids) + 1))
    assert ((locations >= 0) & (locations <= 96)).all()
    code, stdout, _ = run(capsys, "score", out, kaggle_dir / "solution.csv")
    assert code == 0 and stdout.startswith("RMSE ") and "by keypoint:" in stdout and "4 keypoints" in stdout
    code, stdout, _ = run(capsys, "score", "--quiet", out, out)
    assert code == 0 and float(stdout) == 0.0


def test_submit_refuses_to_overwrite(kaggle_dir, capsys, tmp_path):
    out = tmp_path / "sub.csv"
    out.write_text("precious")
    code, _, err = run(capsys, "submit", "--data", kaggle_dir, "--out", out)
    assert code == 1 and "already exists (use --force" in err
    assert out.read_text() == "precious"
    code, _, _ = run(capsys, "submit", "--data", kaggle_dir, "--out", out, "--force", "-q")
    assert code == 0 and out.read_text().startswith("RowId,Location")


def test_submit_with_unknown_image_in_lookup(kaggle_dir, capsys, tmp_path):
    lookup = kaggle_dir / "IdLookupTable.csv"
    lookup.write_bytes(lookup.read_bytes() + b"999,42,nose_tip_x,\r\n")
    code, _, err = run(capsys, "submit", "--data", kaggle_dir, "--out", tmp_path / "s.csv")
    last = len(lookup.read_bytes().splitlines())
    assert code == 1 and f"IdLookupTable.csv, line {last}: ImageId 42 is not in" in err
    assert not (tmp_path / "s.csv").exists()


def test_unknown_model(kaggle_dir, capsys, tmp_path):
    code, _, err = run(capsys, "submit", "--data", kaggle_dir, "--out", tmp_path / "s.csv", "--model", "nope")
    assert code == 1 and "unknown model 'nope'" in err


def test_show_draws_a_png(kaggle_dir, capsys, tmp_path):
    out = tmp_path / "grid.png"
    code, _, _ = run(capsys, "show", kaggle_dir, "--model", "mean", "--count", "5", "--out", out)
    assert code == 0 and out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    sub = tmp_path / "sub.csv"
    run(capsys, "submit", "--data", kaggle_dir, "--out", sub)
    code, _, _ = run(capsys, "show", kaggle_dir, "--set", "test", "--predictions", sub, "--out", tmp_path / "t.png")
    assert code == 0 and (tmp_path / "t.png").stat().st_size > 1000
    code, _, _ = run(capsys, "show", kaggle_dir, "--set", "test", "--predictions", sub, "--truth",
                     kaggle_dir / "solution.csv", "--worst", "--count", "2", "--out", tmp_path / "w.png")
    assert code == 0 and (tmp_path / "w.png").is_file()
    code, _, err = run(capsys, "show", kaggle_dir, "--out", out)
    assert code == 1 and "already exists" in err


def test_data_check(kaggle_dir, capsys):
    code, stdout, _ = run(capsys, "data", "check", kaggle_dir)
    assert code == 0
    assert "training file, 12 good rows, 0 errors" in stdout and "lookup file" in stdout
    bad = kaggle_dir / "training.csv"
    lines = bad.read_text().splitlines()
    lines[2] = lines[2].rsplit(",", 1)[0] + ",1 2 3"
    lines[5] = lines[5].rsplit(",", 1)[0] + ",1 2 300"
    bad.write_text("\n".join(lines) + "\n")
    code, stdout, _ = run(capsys, "data", "check", bad)
    assert code == 1
    assert "line 3: error: Image has 3 values" in stdout and "line 6: error: Image value 300" in stdout
    code, stdout, _ = run(capsys, "data", "check", kaggle_dir / "solution.csv")
    assert code == 0 and "submission file" in stdout
    code, stdout, err = run(capsys, "data", "check", kaggle_dir / "absent.csv", kaggle_dir / "solution.csv")
    assert code == 1 and "absent.csv: no such file" in err and "submission file" in stdout  # goes on past it


def test_data_convert_and_check_every_format(kaggle_dir, capsys, tmp_path):
    coco, xml = tmp_path / "k.json", tmp_path / "k.xml"
    code, stdout, _ = run(capsys, "data", "convert", kaggle_dir / "training.csv", coco)
    assert code == 0 and f"wrote {coco}: COCO keypoints, 12 faces in 12 images" in stdout
    code, stdout, _ = run(capsys, "data", "check", coco)
    assert code == 0 and "COCO keypoints file, 12 faces, 0 errors" in stdout
    assert "keypoint set kaggle-15: 15 points" in stdout
    assert "flip pairs: 6 (left_eye_center:right_eye_center" in stdout
    assert "labelled points per face: 15 in 8 faces, 4 in 4 faces" in stdout
    assert "unlabelled points: 44 of 180" in stdout
    code, stdout, _ = run(capsys, "data", "convert", coco, tmp_path / "out", "--to", "dlib", "-q")
    assert code == 0 and stdout == "" and (tmp_path / "out").is_file()  # --to, whatever the name says
    code, _, _ = run(capsys, "data", "convert", coco, xml)
    code, stdout, _ = run(capsys, "data", "check", xml, "--flip-pairs", "00:01")
    assert code == 0 and "dlib XML file, 12 faces" in stdout and "flip pairs: 1 (00:01)" in stdout
    code, _, err = run(capsys, "data", "convert", coco, xml)
    assert code == 1 and err == f"facekeypoints: error: {xml} already exists (use --force to overwrite)\n"
    code, _, err = run(capsys, "data", "convert", coco, tmp_path / "w300")
    assert code == 1 and "points are not labelled, and a .pts file holds every point" in err and err.count("\n") == 1
    code, _, err = run(capsys, "data", "convert", coco, xml, "--force", "--flip-pairs", "left_eye_centre:1")
    assert code == 1 and "no point named 'left_eye_centre' in the set (did you mean 'left_eye_center'?)" in err
    coco.write_text(coco.read_text().replace('"image_id": 3,', '"image_id": 99,'))
    code, _, err = run(capsys, "data", "check", coco)
    assert code == 1 and f"{coco}: annotations[2] (id 4): image_id 99 is not in images" in err


def test_train_mean(kaggle_dir, capsys, tmp_path):
    code, stdout, _ = run(capsys, "train", "--model", "mean", "--data", kaggle_dir, "--out", tmp_path / "run",
                          "--val-fraction", "0.25")
    assert code == 0 and "validation RMSE" in stdout
    code, _, _ = run(capsys, "submit", "--data", kaggle_dir, "--out", tmp_path / "s.csv",
                     "--model", tmp_path / "run" / "best.pt")
    assert code == 0
    code, _, err = run(capsys, "train", "--model", "mean", "--data", kaggle_dir, "--out", tmp_path / "run")
    assert code == 1 and "--force" in err


@pytest.mark.parametrize("content, fragment", [
    (b"", "the file is empty"),
    (b"\x00\x01\x02PK", "binary data"),
    (b"RowId,ImageId\n1,2\n", "wrong header"),
])
def test_bad_input_is_one_line_without_traceback(tmp_path, content, fragment):
    (tmp_path / "test.csv").write_bytes(content)
    (tmp_path / "IdLookupTable.csv").write_bytes(b"RowId,ImageId,FeatureName,Location\n")
    proc = subprocess.run(
        [sys.executable, "-m", "facekeypoints", "submit", "--data", str(tmp_path), "--out", str(tmp_path / "s.csv")],
        capture_output=True, text=True,
    )
    assert proc.returncode == 1
    assert proc.stderr.count("\n") == 1 and fragment in proc.stderr and "Traceback" not in proc.stderr
    assert proc.stderr.startswith("facekeypoints: error: ")
    debug = subprocess.run(
        [sys.executable, "-m", "facekeypoints", "submit", "--debug", "--data", str(tmp_path), "--out",
         str(tmp_path / "s.csv")], capture_output=True, text=True,
    )
    assert debug.returncode == 1 and "Traceback" in debug.stderr


def test_missing_data_path(capsys, tmp_path):
    code, _, err = run(capsys, "submit", "--data", tmp_path / "absent", "--out", tmp_path / "s.csv")
    assert code == 1 and "no such file or folder" in err


def test_help_explains(capsys):
    with pytest.raises(SystemExit) as info:
        main(["submit", "--help"])
    assert info.value.code == 0
    assert "IdLookupTable.csv" in capsys.readouterr().out


def test_mean_model_predicts_the_same_shape_everywhere():
    from facekeypoints import KeypointModel

    model = KeypointModel.load("mean")
    out = model.predict(np.zeros((3, 96, 96), np.uint8))
    assert out.shape == (3, 15, 2) and np.all(out == out[0])


def test_the_command_line_needs_no_torch_but_to_train(tmp_path, kaggle_dir):
    """Reading the command line loads no torch; with torch unimportable, score and train --help still work and
    train says in one line what to install."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(f"""
        import sys
        import facekeypoints.cli
        assert "torch" not in sys.modules, "importing the CLI loaded torch"
        facekeypoints.cli.build_parser(["predict", "x.mp4"]).parse_args(["predict", "x.mp4"])
        assert "torch" not in sys.modules, "reading predict's command line loaded torch (a second of start-up)"
        sys.modules["torch"] = None  # any `import torch` now fails
        from facekeypoints.cli import main
        try:
            main(["train", "--help"])
        except SystemExit as stop:
            assert stop.code == 0
        assert main(["train", "--data", r"{kaggle_dir}", "--out", r"{tmp_path / 'run'}"]) == 1
        assert main(["score", r"{kaggle_dir / 'solution.csv'}", r"{kaggle_dir / 'solution.csv'}", "-q"]) == 0
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "usage: facekeypoints train" in result.stdout
    assert "facekeypoints: error: train needs torch: pip install 'facekeypoints[train]'" in result.stderr
    assert result.stdout.strip().endswith("0.00000")


@pytest.mark.parametrize("argv, message", [
    (["submit", "--batch-size", "-1"], "argument --batch-size: must be 1 or more, not -1"),
    (["evaluate", "--batch-size", "-5"], "argument --batch-size: must be 1 or more, not -5"),
    (["submit", "--batch-size", "0"], "argument --batch-size: must be 1 or more, not 0"),
    (["predict", "--workers", "-1"], "argument --workers: must be 0 or more, not -1"),
    (["predict", "--min-face", "-5"], "argument --min-face: must be 0 or more, not -5"),
    (["predict", "--every", "0"], "argument --every: must be 1 or more, not 0"),
    (["predict", "--every", "1.5"], "argument --every: not a whole number: '1.5'"),
    (["train", "--epochs", "0"], "argument --epochs: must be 1 or more, not 0"),
    (["train", "--lr", "nan"], "argument --lr: must be above 0, not nan"),
    (["train", "--val-fraction", "1"], "argument --val-fraction: must be at least 0 and below 1, not 1"),
    (["train", "--model", "hourglas"], "argument --model: invalid choice: 'hourglas' (choose from 'hourglass'"),
    (["show", "--indices", "5,-1"], "argument --indices: not comma-separated whole numbers of 0 or more"),
])
def test_nonsense_numbers_and_typos_are_refused_in_one_line_before_any_work(argv, message, capsys, tmp_path,
                                                                            kaggle_dir):
    out = tmp_path / "out"
    extra = {"submit": ["--data", kaggle_dir, "--out", out], "evaluate": ["--data", kaggle_dir],
             "train": ["--data", kaggle_dir, "--out", out], "show": [kaggle_dir, "--out", out]}.get(argv[0], [])
    with pytest.raises(SystemExit) as stop:
        main([str(a) for a in argv + extra])
    err = capsys.readouterr().err
    assert stop.value.code == 2 and err.count("\n") == 1, err
    assert err.startswith(f"facekeypoints {argv[0]}: error: {message}")
    assert f"(see facekeypoints {argv[0]} --help)" in err
    assert not out.exists()


def test_a_misspelt_shipped_model_gets_a_suggestion(capsys):
    code, _, err = run(capsys, "predict", "--model", "keypointnte")
    assert code == 1 and "unknown model 'keypointnte': did you mean keypointnet?" in err and err.count("\n") == 1
