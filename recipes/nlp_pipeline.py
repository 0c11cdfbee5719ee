"""An NLP pipeline: TF-IDF features and a linear classifier, tuned together.

The text comes with Python itself (no download): the docstrings of the standard
library's packages, labelled by package (is this sentence from `asyncio`, `email`,
`unittest`...?). The pipeline's tokenisation and the classifier's regularisation are
tuned jointly, scored by cross-validated macro-F1:

    python recipes/nlp_pipeline.py --backend optuna:tpe --n-trials 40
    python recipes/nlp_pipeline.py --backend skopt:gp --n-trials 40
"""

from __future__ import annotations

import argparse
import importlib
import inspect
import pkgutil
from functools import lru_cache

import unitune as ut

PACKAGES = ("asyncio", "concurrent", "email", "http", "importlib", "json", "logging",
            "multiprocessing", "unittest", "urllib", "xml")

SPACE = ut.Space(
    ngram_max=ut.Int(1, 3),
    min_df=ut.Int(1, 5),
    sublinear_tf=ut.Categorical([True, False]),
    max_features=ut.Int(2000, 20000, step=2000),
    classifier=ut.Categorical(["ridge", "linear_svm"]),
    C=ut.Float(1e-2, 1e2, log=True),
)


@lru_cache(maxsize=1)
def corpus() -> tuple[list[str], list[str]]:
    """(docstrings, package) of the classes and functions of the packages above."""
    texts, labels, seen = [], [], set()
    for package in PACKAGES:
        root = importlib.import_module(package)
        names = [package] + [m.name for m in pkgutil.walk_packages(
            root.__path__, prefix=f"{package}.", onerror=lambda name: None)
            if ".test" not in m.name and "__main__" not in m.name]
        for name in names:
            try:
                module = importlib.import_module(name)
            except Exception:  # noqa: BLE001 - platform-specific submodules
                continue
            for _, obj in inspect.getmembers(module, lambda o: inspect.isclass(o)
                                             or inspect.isfunction(o)):
                doc = inspect.getdoc(obj)
                if (getattr(obj, "__module__", "") or "").split(".")[0] != package:
                    continue
                if doc and len(doc) > 40 and doc not in seen:
                    seen.add(doc)
                    texts.append(doc)
                    labels.append(package)
    return texts, labels


def make_pipeline(params: dict):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import RidgeClassifier
    from sklearn.pipeline import make_pipeline as pipeline
    from sklearn.svm import LinearSVC

    vectorizer = TfidfVectorizer(ngram_range=(1, params["ngram_max"]), min_df=params["min_df"],
                                 sublinear_tf=params["sublinear_tf"],
                                 max_features=params["max_features"])
    if params["classifier"] == "ridge":
        model = RidgeClassifier(alpha=1.0 / params["C"])
    else:
        model = LinearSVC(C=params["C"])
    return pipeline(vectorizer, model)


def objective(params: dict, cv: int = 3) -> float:
    """Cross-validated macro-F1 of the pipeline."""
    from sklearn.model_selection import StratifiedKFold, cross_val_score

    texts, labels = corpus()
    folds = StratifiedKFold(n_splits=cv, shuffle=True, random_state=0)
    return float(cross_val_score(make_pipeline(params), texts, labels, cv=folds,
                                 scoring="f1_macro").mean())


def main(argv: list[str] | None = None) -> ut.Result:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", default="optuna:tpe")
    parser.add_argument("--n-trials", type=int, default=40)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cv", type=int, default=3)
    args = parser.parse_args(argv)
    texts, labels = corpus()
    print(f"{len(texts)} docstrings from {len(set(labels))} packages")
    result = ut.optimize(lambda p: objective(p, args.cv), SPACE, backend=args.backend,
                         direction="maximize", n_trials=args.n_trials, seed=args.seed)
    print(f"{args.backend}: best macro-F1 {result.best_value:.4f} with {result.best_params}")
    return result


if __name__ == "__main__":
    main()
