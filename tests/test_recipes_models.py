"""The model recipes (TPE, multi-objective, evolutionary, vision) with tiny budgets: the
flags are honoured, every trial lands in the slide's space, and each technique is
visibly at work (TPE leaves random search after its start-up trials, a Pareto front
with each point once, generations, epochs and early stopping)."""

from __future__ import annotations

import re

import pytest

import unitune as ut
from recipes import evolutionary, multi_objective, tpe, vision

COMPLETE, PRUNED = ut.TrialState.COMPLETE, ut.TrialState.PRUNED


def in_space(space: ut.Space, params: dict) -> bool:
    """Every parameter of the space is present and inside its bounds, step or choices."""
    return set(params) == set(space) and space.contains(params)


# -- slide 7: TPE --------------------------------------------------------------------------

def test_tpe_leaves_random_search_after_its_startup_and_shows_its_split(capsys):
    from optuna.samplers._tpe.sampler import default_gamma

    result = tpe.main(["--n-trials", "12", "--cv", "2", "--quiet"])
    assert result.backend == "optuna:tpe" and len(result.trials) == 12
    assert all(t.state is COMPLETE and in_space(tpe.SPACE, t.params) for t in result.trials)
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("maximize 2-fold accuracy")
    assert "against optuna:random with the same budget and seed" in out.splitlines()[0]
    # TPE's start-up is random search with the same seed: the same 10 points, then its own
    assert "the first 10 trials of both runs are the same points" in out
    # the split: Optuna's own rule, the best of the run's trials
    n_good = default_gamma(12)
    assert n_good == 2 and f"good: the best {n_good}, " in out and "bad: the other 10" in out
    ranked = sorted((t.values[0] for t in result.trials), reverse=True)
    assert f"accuracy {ranked[n_good - 1]:.4f} to {ranked[0]:.4f}" in out
    # best so far of the TPE run, as printed
    row = re.search(r"^  optuna:tpe +([\d. ]+)$", out, re.M).group(1).split()
    marks = tpe.checkpoints(12)
    assert [float(v) for v in row] == [round(tpe.best_so_far(result, m), 4) for m in marks]
    # a histogram per parameter covers every trial of the split, and the last 6 of each
    # method (a bar "### 3" per method and bin)
    rows = re.findall(r"^  \[.*?\) +(\d+) +(\d+)(.*)$", out, re.M)
    assert len(rows) == 10 + 6  # half-decade bins of C (1e-2..1e3) and gamma (1e-4..1e-1)
    assert sum(int(g) + int(b) for g, b, _ in rows) == 2 * 12
    assert sum(int(g) for g, _, _ in rows) == 2 * n_good
    assert sum(int(n) for *_, rest in rows for n in re.findall(r"#+ (\d+)", rest)) == 2 * 2 * 6
    # after its start-up TPE samples where the good trials are; random search does not
    tpe_mean, random_mean = map(float, re.search(
        r"mean accuracy of the last 6 trials: optuna:tpe (\S+), optuna:random (\S+)$",
        out, re.M).groups())
    assert tpe_mean > random_mean


def test_tpe_refuses_the_baseline_as_its_backend(capsys):
    with pytest.raises(SystemExit) as stop:
        tpe.main(["--backend", "optuna:random"])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "optuna:random" in err and "compared with" in err


# -- slide 8: multi-objective --------------------------------------------------------------

@pytest.mark.parametrize("backend", ["pymoo:nsga2", "optuna:nsga2"])
def test_multi_objective_gives_a_front_of_accuracy_against_weights(backend, capsys):
    result = multi_objective.main(["--backend", backend, "--n-trials", "12", "--pop-size", "6",
                                   "--max-iter", "5"])
    assert result.backend == backend and len(result.trials) == 12
    assert result.metrics == ("accuracy", "n_weights")
    assert all(t.state is COMPLETE and in_space(multi_objective.SPACE, t.params)
               for t in result.trials)
    for t in result.trials:  # the cost is the network's own number of weights
        assert t.values[1] == multi_objective.n_weights(t.params["num_layers"],
                                                        t.params["hidden_size"])
    out = capsys.readouterr().out
    points = sorted({t.values for t in result.pareto_front}, key=lambda v: v[1])
    # more weights only where they buy accuracy
    assert all(a[0] < b[0] for a, b in zip(points, points[1:]))
    assert f"Pareto front of {len(points)} distinct points" in out
    # one hypervolume per generation of 6, never shrinking
    hv = [float(v) for v in re.findall(r"(\d+) \(\d+\)", out.split("trials: ")[1].splitlines()[0])]
    assert len(hv) == 2 and hv == sorted(hv) and hv[-1] > 0
    assert round(result.hypervolume(multi_objective.REF_POINT)) == hv[-1]


def test_multi_objective_prints_each_point_of_the_front_once_with_its_count():
    # the defect: the recipe printed one line per trial of the front (26 copies of one point)
    def trial(number: int, accuracy: float, layers: int, size: int, lr: float):
        return ut.TrialRecord(number=number, state=COMPLETE, params={
            "num_layers": layers, "hidden_size": size, "learning_rate": lr},
            values=(accuracy, multi_objective.n_weights(layers, size)))

    trials = (trial(0, 0.7, 1, 32, 0.01), trial(1, 0.7, 1, 32, 0.02), trial(2, 0.7, 1, 32, 0.01),
              trial(3, 0.8, 2, 64, 0.003), trial(4, 0.6, 2, 64, 0.1))
    result = ut.Result(study_name="s", directions=("maximize", "minimize"), trials=trials,
                       metrics=("accuracy", "n_weights"), backend="pymoo:nsga2")
    lines = multi_objective.front_lines(result)
    assert lines[0] == "pymoo:nsga2: 5 trials, Pareto front of 2 distinct points (4 trials)"
    rows = [line.split() for line in lines[2:]]
    assert [(r[0], r[1], r[2]) for r in rows] == [
        ("0.7000", str(multi_objective.n_weights(1, 32)), "3"),
        ("0.8000", str(multi_objective.n_weights(2, 64)), "1")]


def test_multi_objective_refuses_single_objective_backends_up_front(capsys):
    with pytest.raises(SystemExit) as stop:
        multi_objective.main(["--backend", "skopt:gp"])
    assert stop.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "several objectives" in err and "pymoo:nsga2" in err


# -- slide 10: evolutionary ----------------------------------------------------------------

def test_evolutionary_prints_the_best_fitness_of_each_generation(capsys):
    result = evolutionary.main(["--n-trials", "6", "--pop-size", "3", "--max-iter", "3",
                                "--seed", "1"])
    assert result.backend == "pymoo:ga" and len(result.trials) == 6
    assert all(t.state is COMPLETE and in_space(evolutionary.SPACE, t.params)
               for t in result.trials)
    out = capsys.readouterr().out
    lines = re.findall(r"generation +(\d): best fitness (\S+), mean (\S+), best so far (\S+)$",
                       out, re.M)
    assert [g for g, *_ in lines] == ["1", "2"]
    for (_, best, mean, so_far), start in zip(lines, (0, 3)):
        values = [t.values[0] for t in result.trials[start:start + 3]]
        assert float(best) == round(max(values), 4)
        assert float(mean) == round(sum(values) / 3, 4)
        assert float(so_far) == round(max(t.values[0] for t in result.trials[:start + 3]), 4)
    # the second generation is bred from the first, not drawn afresh
    first = {tuple(sorted(t.params.items())) for t in result.trials[:3]}
    assert any(tuple(sorted(t.params.items())) not in first for t in result.trials[3:])
    assert result.best_value == max(t.values[0] for t in result.trials)


def test_evolutionary_on_a_backend_without_generations_says_so(capsys):
    result = evolutionary.main(["--backend", "optuna:tpe", "--n-trials", "2", "--pop-size",
                                "2", "--max-iter", "2", "--quiet"])
    assert result.backend == "optuna:tpe" and len(result.trials) == 2
    out = capsys.readouterr().out
    assert "optuna:tpe breeds no generations" in out and "  block  1: best fitness" in out
    assert "trial " not in out  # --quiet


# -- slide 14: vision ----------------------------------------------------------------------

def test_vision_tunes_three_cnns_and_trains_each_trial_its_epochs(capsys):
    result = vision.main(["--n-trials", "3", "--epoch-scale", "0.03"])
    assert result.backend == "optuna:tpe" and len(result.trials) == 3
    assert all(in_space(vision.SPACE, t.params) for t in result.trials)
    for t in result.trials:  # 30, 50, 100 epochs of the slide are 1, 2, 3 here
        epochs = vision.epochs_trained(t.params, 0.03)
        assert epochs == {30: 1, 50: 2, 100: 3}[t.params["epochs"]]
        if t.state is COMPLETE:
            assert sorted(t.intermediate) == list(range(1, epochs + 1))
            assert t.value == t.intermediate[epochs]
        else:
            assert t.state is PRUNED and len(t.intermediate) <= epochs
    assert 0.0 < result.best_value <= 1.0
    # three architectures of different sizes, in the slide's order of complexity
    sizes = [vision.n_weights(n) for n in ("resnet", "efficientnet", "mobilenet")]
    assert sizes == sorted(sizes, reverse=True)
    out = capsys.readouterr().out
    assert "Optuna's median pruner" in out
    counted = re.findall(r"^  (\w+) +\d+ weights: +(\d+) trials", out, re.M)
    assert sum(int(n) for _, n in counted) == 3 and len(counted) == 3


def test_vision_cnn_learns_the_digits():
    params = {"base_model": "mobilenet", "learning_rate": 5e-3, "batch_size": 32,
              "dropout": 0.1, "epochs": 30}
    assert vision.objective(params, epoch_scale=0.1) > 0.5  # chance is 0.1


def test_vision_names_what_stops_trials_on_each_engine():
    assert vision.early_stopping("optuna:tpe", "hyperband", 10) == (
        {"pruner": "hyperband"}, "Optuna's hyperband pruner stops trials that fall behind")
    assert vision.early_stopping("ray:asha", "median", 10)[0] == {"max_t": 10}
    options, line = vision.early_stopping("skopt:gp", "median", 10)
    assert options == {} and "does not stop trials early" in line
