"""The NLP recipe (slide 13): the slide's TF-IDF + MLPClassifier pipeline, tuned on the
standard library's docstrings (text that ships with Python), scored on a held-out split."""

from __future__ import annotations

import math

from recipes import nlp_pipeline


def test_the_corpus_and_split_come_with_python():
    texts, labels = nlp_pipeline.corpus()
    assert len(texts) > 1000 and len(set(texts)) == len(texts)
    assert set(labels) == set(nlp_pipeline.PACKAGES)
    X_tr, X_va, y_tr, y_va = nlp_pipeline.split()
    assert len(X_va) == math.ceil(0.2 * len(texts)) and len(X_tr) + len(X_va) == len(texts)
    assert set(y_tr) == set(y_va) == set(labels)  # stratified: every package on both sides


def test_the_pipeline_is_the_slides_with_the_trials_params():
    params = {"max_features": 1234, "max_ngram": 2, "min_df": 3, "hidden_size": 64,
              "learning_rate": 2e-3}
    vectorizer, mlp = (step for _, step in nlp_pipeline.make_pipeline(params).steps)
    assert (vectorizer.max_features, vectorizer.ngram_range, vectorizer.min_df) == \
        (1234, (1, 2), 3)
    assert (mlp.hidden_layer_sizes, mlp.learning_rate_init, mlp.max_iter) == ((64,), 2e-3, 100)
    assert (mlp.early_stopping, mlp.validation_fraction, mlp.n_iter_no_change) == \
        (True, 0.1, 5)


def test_nlp_pipeline_recipe_tunes_the_whole_pipeline(capsys):
    result = nlp_pipeline.main(["--n-trials", "3", "--max-iter", "10", "--backend",
                                "optuna:random", "--seed", "3"])
    assert len(result.completed) == 3 and result.backend == "optuna:random"
    assert all(nlp_pipeline.SPACE.contains(t.params) for t in result.trials)
    # eleven packages: the most common is a sixth of the texts
    assert result.best_value > 0.4
    out = capsys.readouterr().out
    assert out.startswith("maximize validation accuracy of TF-IDF + MLP with optuna:random, "
                          "3 trials, seed 3")
    assert out.count("\ntrial ") == 3  # a line per trial
    assert f"best validation accuracy {result.best_value:.4f}" in out
