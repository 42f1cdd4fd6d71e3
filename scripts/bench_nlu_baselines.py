"""Reference baselines for scripts/bench-nlu, and the side-by-side table.

Reads the Baton results (JSON from the baton-nlu benchmark) given as the
second argument, runs the scikit-learn TF-IDF logistic regression and the
vaderSentiment package on the same files, and prints both with ratios.
"""
import csv
import json
import platform
import sys
import time

import numpy as np
from scipy.stats import pearsonr
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_union
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

NEUTRAL_BAND = 0.5  # the same band Baton uses for sign accuracy
OOS_THRESHOLD = 0.3


def load_csv(path):
    with open(path, newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    return [r["text"] for r in rows], [r["category"] for r in rows]


def load_clinc(path, keys):
    with open(path, encoding="utf-8") as f:
        d = json.load(f)
    pairs = [p for k in keys for p in d.get(k, [])]
    return [p[0] for p in pairs], [p[1] for p in pairs]


def tfidf_lr(train_x, train_y, test_x, test_y, oos=None):
    started = time.perf_counter()
    feats = make_union(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
    )
    clf = LogisticRegression(C=10, max_iter=2000)
    clf.fit(feats.fit_transform(train_x), train_y)
    train_s = time.perf_counter() - started
    started = time.perf_counter()
    proba = clf.predict_proba(feats.transform(test_x))
    pred_s = time.perf_counter() - started
    classes = clf.classes_
    pred = classes[proba.argmax(1)]
    truth = np.array(test_y)
    out = {"train_seconds": train_s, "predictions_per_second": len(test_x) / pred_s}
    if oos is None:
        out["accuracy"] = float((pred == truth).mean())
        return out
    in_scope = np.array([c != oos for c in classes])
    best = np.where(in_scope, proba, -1).argmax(1)
    top_in_scope = proba[np.arange(len(best)), best]
    called_oos = (classes[proba.argmax(1)] == oos) | (top_in_scope < OOS_THRESHOLD)
    final = np.where(called_oos, oos, classes[best])
    is_oos = truth == oos
    out["accuracy"] = float((final == truth).mean())
    out["in_scope_accuracy"] = float((final[~is_oos] == truth[~is_oos]).mean())
    out["out_of_scope_recall"] = float((final[is_oos] == oos).mean())
    return out


def vader(path):
    items = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            parts = line.rstrip("\n").split("\t", 2)
            if len(parts) == 3:
                items.append((float(parts[1]), parts[2]))
    sia = SentimentIntensityAnalyzer()
    started = time.perf_counter()
    scores = [sia.polarity_scores(t)["compound"] for _, t in items]
    secs = time.perf_counter() - started
    ratings = np.array([r for r, _ in items])
    scores = np.array(scores)
    mask = np.abs(ratings) >= NEUTRAL_BAND
    sign_ok = (np.sign(scores[mask]) == np.sign(ratings[mask])) & (scores[mask] != 0)
    return {
        "pearson": float(pearsonr(scores, ratings)[0]),
        "sign_accuracy": float(sign_ok.mean()),
        "messages_per_second": len(items) / secs,
    }


def ratio(a, b):
    return f"{a / b:.2f}x" if b else "-"


def main():
    data, baton_path = sys.argv[1], sys.argv[2]
    with open(baton_path, encoding="utf-8") as f:
        baton = json.loads(f.read().strip().splitlines()[-1])

    b77 = tfidf_lr(
        *load_csv(f"{data}/banking77/train.csv"), *load_csv(f"{data}/banking77/test.csv")
    )
    clinc_file = f"{data}/clinc150/train_val.json"
    clinc = tfidf_lr(
        *load_clinc(clinc_file, ["train", "oos_train"]),
        *load_clinc(clinc_file, ["val", "oos_val"]),
        oos="oos",
    )
    tweets = vader(f"{data}/sentiment/tweets_GroundTruth.txt")
    movies = vader(f"{data}/sentiment/movieReviewSnippets_GroundTruth.txt")

    print(f"machine: {platform.machine()}; python {platform.python_version()}")
    rows = []
    bb, bc = baton["banking77"], baton["clinc150"]
    rows.append(("Banking77 accuracy", bb["accuracy"], b77["accuracy"], "pct"))
    rows.append(("Banking77 train s", bb["train_seconds"], b77["train_seconds"], "s"))
    rows.append(
        ("Banking77 pred/s", bb["predictions_per_second"], b77["predictions_per_second"], "rate")
    )
    rows.append(("CLINC150 accuracy", bc["accuracy"], clinc["accuracy"], "pct"))
    rows.append(
        ("CLINC150 in-scope acc", bc["in_scope_accuracy"], clinc["in_scope_accuracy"], "pct")
    )
    rows.append(
        ("CLINC150 OOS recall", bc["out_of_scope_recall"], clinc["out_of_scope_recall"], "pct")
    )
    rows.append(("CLINC150 train s", bc["train_seconds"], clinc["train_seconds"], "s"))
    rows.append(
        ("CLINC150 pred/s", bc["predictions_per_second"], clinc["predictions_per_second"], "rate")
    )
    pairs = (("tweets", baton["tweets"], tweets), ("movies", baton["movies"], movies))
    for name, ours, theirs in pairs:
        rows.append((f"{name} Pearson r", ours["pearson"], theirs["pearson"], "r"))
        rows.append(
            (f"{name} sign accuracy", ours["sign_accuracy"], theirs["sign_accuracy"], "pct")
        )
        rows.append(
            (f"{name} msgs/s", ours["messages_per_second"], theirs["messages_per_second"], "rate")
        )

    fmt = {
        "pct": lambda v: f"{v * 100:.2f} %",
        "s": lambda v: f"{v:.1f} s",
        "rate": lambda v: f"{v:,.0f}",
        "r": lambda v: f"{v:.3f}",
    }
    print(f"{'measure':<26}{'Baton':>14}{'baseline':>14}{'ratio':>9}")
    for name, ours, theirs, kind in rows:
        print(f"{name:<26}{fmt[kind](ours):>14}{fmt[kind](theirs):>14}{ratio(ours, theirs):>9}")
    s = baton["speed"]
    cpu = s.get("messages_per_cpu_second")
    if cpu:
        print(f"\nBaton full lexical analysis, per CPU-second of one thread: {cpu:,.0f} msgs")
    print(
        f"Baton full lexical analysis, one core: {s['messages_per_second']:,.0f} msgs/s, "
        f"p50 {s['p50_us']:.0f} us, p99 {s['p99_us']:.0f} us, max {s['max_us']:.0f} us"
    )
    if "cpu_p99_us" in s:
        print(
            f"Baton full lexical analysis, CPU time of one message: p50 {s['cpu_p50_us']:.0f} us, "
            f"p99 {s['cpu_p99_us']:.0f} us, max {s['cpu_max_us']:.0f} us"
        )
    for name in ("banking77", "clinc150"):
        cpu_s = baton.get(name, {}).get("cpu_seconds")
        if cpu_s:
            print(f"Baton {name} training and evaluation, CPU time of all threads: {cpu_s:.1f} s")
    print(
        "baselines: intents = scikit-learn TF-IDF word 1-2 + char_wb 2-5,"
        " LogisticRegression(C=10); sentiment = vaderSentiment compound score"
    )


if __name__ == "__main__":
    main()
