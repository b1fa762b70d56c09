"""Named cohorts in a curriculum (synthetic first, then real): stages resolve their cohorts by name,
and every mistake in naming them is one line through the CLI, before any training."""

import pytest

from retinavlm.cli import main
from retinavlm.resources import curricula_dir
from retinavlm.train.curriculum import load_curriculum

REAL = str(curricula_dir() / "curriculum_real.yaml")


def test_stages_draw_from_their_named_cohorts_with_their_shares(tmp_path):
    synthetic, real = tmp_path / "synthetic", tmp_path / "real"
    synthetic.mkdir(), real.mkdir()
    cur, stages = load_curriculum(REAL, {"synthetic": str(synthetic), "real": str(real)}, str(tmp_path / "out"))
    assert cur.evaluation_cohort == "real"
    drawn = {s.name: {e.name: (e.path, e.weight) for e in s.data.cohort} for s in stages}
    assert drawn["stage0_synthetic_encoder"] == {"synthetic": (str(synthetic), 1.0)}
    assert drawn["stage4_real_specialism"] == {"synthetic": (str(synthetic), 1.0), "real": (str(real), 1.0)}
    # The real encoder stage keeps its best step, chosen on the real cohort's validation patients alone.
    stage3 = next(s for s in stages if s.name == "stage3_real_encoder")
    assert drawn["stage3_real_encoder"] == {"real": (str(real), 1.0)}
    assert (stage3.checkpoint.keep_best.metric, stage3.checkpoint.keep_best.mode) == ("heads_macro_f1", "max")
    assert len({s.output_dir for s in stages}) == len(stages)  # a stage YAML used twice gets its own folder


@pytest.mark.parametrize(
    "cohorts, message",
    [
        (["synthetic={tmp}"], "cohort 'real' has no folder; give it with --cohort real=DIR"),
        (["synthetic={tmp}", "bogus={tmp}"], "no cohort named 'bogus'"),
        (["{tmp}", "real={tmp}"], "--cohort: give one folder, or NAME=DIR for each named cohort"),
        (["synthetic={tmp}/missing", "real={tmp}"], "not found"),
    ],
)
def test_named_cohort_mistakes_are_one_line(tmp_path, capsys, cohorts, message):
    argv = ["curriculum", REAL, "--output-dir", str(tmp_path / "out")]
    for cohort in cohorts:
        argv += ["--cohort", cohort.format(tmp=tmp_path)]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1, err
    assert not (tmp_path / "out").exists()  # nothing trained
