"""The NLP recipe: a TF-IDF + linear-classifier pipeline tuned on the standard library's
docstrings (text that ships with Python)."""

from __future__ import annotations

from recipes import nlp_pipeline


def test_nlp_pipeline_recipe_tunes_the_whole_pipeline():
    texts, labels = nlp_pipeline.corpus()
    assert len(texts) > 300 and set(labels) == set(nlp_pipeline.PACKAGES)
    result = nlp_pipeline.main(["--n-trials", "4", "--cv", "2", "--backend", "optuna:random"])
    assert len(result.completed) == 4 and result.backend == "optuna:random"
    assert nlp_pipeline.SPACE.contains(result.best_params)
    # eleven classes: chance macro-F1 is about 0.09
    assert result.best_value > 0.4
