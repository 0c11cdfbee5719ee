"""NLP pipeline: TF-IDF features and an MLP classifier, tuned together on a held-out split.

Follows slide 13: ``TfidfVectorizer(max_features, ngram_range=(1, max_ngram), min_df)``
then ``MLPClassifier(hidden_size, learning_rate, max_iter=100, early_stopping=True,
validation_fraction=0.1, n_iter_no_change=5)``, with the slide's ranges, scored by the
accuracy on a 20% validation split. The slide's 1,000 identical "Sample text document
i" strings with random labels carry nothing to learn, and scikit-learn ships no text
offline (20 newsgroups is a download), so the text comes with Python itself: the
docstrings of the classes, functions and methods of eleven standard-library packages,
each labelled by its package (is this text from ``asyncio``, ``email``,
``unittest``...?). The slide's hand-written random search is the engine's search.

Every engine runs it (``optuna:tpe`` by default, ``skopt:gp``, ``pymoo:ga``, ``ray:*``).

    python recipes/nlp_pipeline.py                      # optuna:tpe, 20 trials
    python recipes/nlp_pipeline.py --backend skopt:gp    # a Gaussian process instead
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from functools import lru_cache, partial

import unitune as ut

SLIDE = 13
BACKEND = "optuna:tpe"
DIRECTION = "maximize"
SPACE = ut.Space(
    max_features=ut.Int(1000, 10000),
    max_ngram=ut.Int(1, 3),
    min_df=ut.Categorical([1, 2, 3, 5]),
    hidden_size=ut.Categorical([32, 64, 128, 256]),
    # the slide draws it uniformly; a log scale gives each decade the same share
    learning_rate=ut.Float(1e-4, 1e-2, log=True),
)
GRID_REFUSAL = "learning_rate is continuous: a grid cannot list it (grid.py is the grid recipe)"
PACKAGES = ("asyncio", "concurrent", "email", "http", "importlib", "json", "logging",
            "multiprocessing", "unittest", "urllib", "xml")


def _documented(module, package: str) -> list:
    """The classes and functions a module defines in ``package``, and their methods."""
    def own(obj) -> bool:
        return (getattr(obj, "__module__", "") or "").split(".")[0] == package

    found = []
    for _, obj in inspect.getmembers(module, lambda o: inspect.isclass(o)
                                     or inspect.isfunction(o)):
        if own(obj):
            found.append(obj)
            if inspect.isclass(obj):
                found += [f for _, f in inspect.getmembers(obj, inspect.isfunction) if own(f)]
    return found


@lru_cache(maxsize=1)
def corpus() -> tuple[list[str], list[str]]:
    """(docstrings, package): each docstring over 40 characters once, labelled by the
    package that defines it."""
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
            for obj in _documented(module, package):
                doc = inspect.getdoc(obj)
                if doc and len(doc) > 40 and doc not in seen:
                    seen.add(doc)
                    texts.append(doc)
                    labels.append(package)
    return texts, labels


@lru_cache(maxsize=1)
def split() -> tuple[list[str], list[str], list[str], list[str]]:
    """The slide's 80/20 train/validation split (random_state=42), stratified: the
    smallest packages have a few dozen texts and must appear on both sides."""
    from sklearn.model_selection import train_test_split

    texts, labels = corpus()
    return train_test_split(texts, labels, test_size=0.2, random_state=42, stratify=labels)


def make_pipeline(params: dict, max_iter: int = 100):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline as pipeline

    vectorizer = TfidfVectorizer(max_features=params["max_features"],
                                 ngram_range=(1, params["max_ngram"]), min_df=params["min_df"])
    model = MLPClassifier(hidden_layer_sizes=(params["hidden_size"],),
                          learning_rate_init=params["learning_rate"], max_iter=max_iter,
                          early_stopping=True, validation_fraction=0.1, n_iter_no_change=5,
                          random_state=0)  # seeded: a trial's score depends on its params only
    return pipeline(vectorizer, model)


def objective(params: dict, max_iter: int = 100) -> float:
    """Validation accuracy of the pipeline trained on the training split."""
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from threadpoolctl import threadpool_limits

    X_tr, X_va, y_tr, y_va = split()
    pipe = make_pipeline(params, max_iter)
    with warnings.catch_warnings(), threadpool_limits(1):  # one BLAS thread per fit
        warnings.simplefilter("ignore", ConvergenceWarning)  # --max-iter may cut it short
        pipe.fit(X_tr, y_tr)
    return float(pipe.score(X_va, y_va))


def main(argv: list[str] | None = None) -> ut.Result:
    parser = ut.ScriptParser(__doc__, backend=BACKEND, n_trials=20,  # the slide's default
                             refuse={"optuna:grid": GRID_REFUSAL}, execution=True)
    parser.add_argument("--max-iter", type=int, default=100,
                        help="the MLP's epoch limit (default 100, the slide's)")
    args = parser.parse_args(argv)
    print(parser.banner(args, "maximize validation accuracy of TF-IDF + MLP"))
    texts, labels = corpus()
    X_tr, X_va, _, _ = split()
    print(f"{len(texts)} docstrings from {len(set(labels))} packages: {len(X_tr)} to train, "
          f"{len(X_va)} to validate (the most common package: {max(map(labels.count, set(labels))) / len(labels):.3f})")
    result = ut.optimize(partial(objective, max_iter=args.max_iter), SPACE,
                         direction=DIRECTION, backend=args.backend, n_trials=args.n_trials,
                         n_workers=args.workers, seed=args.seed, storage=args.storage, study_name=args.study,
                         callbacks=parser.callbacks(args), **parser.execution(args))
    print(f"{result.backend}: {len(result.trials)} trials, best validation accuracy "
          f"{result.best_value:.4f} with {result.best_params}")
    return result


if __name__ == "__main__":
    main()
