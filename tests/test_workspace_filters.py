"""The ``/`` filter, the sort, and what the compare panel overlays (pure: made-up summaries)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mnist_tui.training.events import BatchEnd, EpochRecord
from mnist_tui.workspace.columns import BY_KEY, sort_summaries
from mnist_tui.workspace.compare import MAX_POINTS, batch_series, differing_settings, epoch_series
from mnist_tui.workspace.filters import FilterError, parse_filter
from mnist_tui.workspace.index import RunSummary


def run(name, **values) -> RunSummary:
    base = dict(state="finished", dataset="synthetic", recipe="fast", batch_size=512, lr=0.01, schedule="onecycle")
    base |= dict(conv_dropout=0.1, fc_dropout=0.1, precision="fp32", seed=0, world_size=1, device="cpu")
    return RunSummary(name=name, path=Path("/r") / name, **(base | values))


RUNS = [
    run("lr-0.003", lr=0.003, best_test_acc=0.95, time_to_99=None),
    run("lr-0.01", lr=0.01, conv_dropout=0.2, fc_dropout=0.2, best_test_acc=0.991, time_to_99=30.0),
    run("sweep/lr-0.001", lr=0.001, batch_size=128, state="training", best_test_acc=0.9),
    run("mixed", lr=0.02, conv_dropout=0.1, fc_dropout=0.5, device="cuda"),
    RunSummary(name="broken", path=Path("/r/broken"), state="broken", problem="run.json is not JSON"),
]


def names(text: str) -> list[str]:
    return [s.name for s in parse_filter(text).apply(RUNS)]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("", ["lr-0.003", "lr-0.01", "sweep/lr-0.001", "mixed", "broken"]),
        ("lr<0.005", ["lr-0.003", "sweep/lr-0.001"]),
        ("lr<=0.003", ["lr-0.003", "sweep/lr-0.001"]),
        ("lr>=0.01", ["lr-0.01", "mixed"]),
        ("lr>0.01", ["mixed"]),
        ("lr=0.01", ["lr-0.01"]),
        ("dropout=0.1", ["lr-0.003", "sweep/lr-0.001"]),  # both rates; "mixed" has fc 0.5
        ("fc_dropout=0.5", ["mixed"]),
        ("state=finished", ["lr-0.003", "lr-0.01", "mixed"]),
        ("state!=finished", ["sweep/lr-0.001", "broken"]),
        ("STATE=Training", ["sweep/lr-0.001"]),  # text: case-insensitive
        ("name=lr-*", ["lr-0.003", "lr-0.01"]),  # wildcards with = on text
        ("acc>=99", ["lr-0.01"]),  # accuracy in percent, as shown
        ("acc>92%", ["lr-0.003", "lr-0.01"]),
        ("t99<60", ["lr-0.01"]),  # unknown values match only !=
        ("t99!=30", ["lr-0.003", "sweep/lr-0.001", "mixed", "broken"]),
        ("sweep", ["sweep/lr-0.001"]),  # a substring of the name
        ("cuda", ["mixed"]),  # ... or of a setting
        ("lr<0.02 batch=512 fast", ["lr-0.003", "lr-0.01"]),  # words combine with AND
        ("bs=128", ["sweep/lr-0.001"]),  # an alias
        ("lr=0.0101", []),  # a setting is exact
        ("state=broken", ["broken"]),
    ],
)
def test_filter_syntax(text, expected):
    assert names(text) == expected


def test_a_measured_value_equals_what_the_table_shows():
    """`acc=98.94` matched nothing beside a row showing 98.94%: the float test accuracy read back
    from metrics.jsonl is 0.9894000220298767."""
    shown = [run("a", best_test_acc=0.9894000220298767, time_to_99=65.6, samples_per_s=52362.4), run("b")]
    hits = {text: [s.name for s in parse_filter(text).apply(shown)] for text in ("acc=98.94", "acc!=98.94")}
    assert hits == {"acc=98.94": ["a"], "acc!=98.94": ["b"]}
    assert [s.name for s in parse_filter("acc=98.940").apply(shown)] == ["a"]
    assert [s.name for s in parse_filter("acc=98.9").apply(shown)] == []  # shown 98.94, not 98.90
    assert [s.name for s in parse_filter("acc=99").apply(shown)] == []  # = 99 is "99.00%", not 98.60
    assert [s.name for s in parse_filter("acc=98.95").apply(shown)] == []
    assert [s.name for s in parse_filter("sps=52362 t99=65.6").apply(shown)] == ["a"]
    # words as the table heads and shows them: img/s=52,362 (it searched names), best, to 99% as 1:06
    assert [s.name for s in parse_filter("img/s=52,362 best>=98.94 t99=1:06").apply(shown)] == ["a"]
    # the order agrees with = (>= left out the row = matched, < took it in)
    orders = {op: [s.name for s in parse_filter(f"acc{op}98.94").apply(shown)] for op in ("<", "<=", ">", ">=")}
    assert orders == {"<": [], "<=": ["a"], ">": [], ">=": ["a"]}


@pytest.mark.parametrize(
    "text, message",
    [
        ("colour=red", "no column 'colour' (columns: name, state,"),
        ("foo<3", "dataset, conv_dropout, fc_dropout, planned, problem)"),  # the ones only a filter names too
        ("accuracy>98", "no column 'accuracy'; acc? (columns:"),  # the guess first: the line is cut at 80
        ("scheduel=onecycle", "no column 'scheduel'; schedule? (columns:"),
        ("lr<abc", "lr is a number, 'abc' is not one"),
        ("lr<", "no value after '<'"),
        (">3", "a condition needs a column before '>'"),
        ("lr<nan", "is not a number to compare with"),
        ("state=done", "no state 'done' (states: waiting, loading, ready, training, paused, finished, stopped,"),
    ],
)
def test_a_bad_condition_is_a_clear_message(text, message):
    with pytest.raises(FilterError, match=None) as caught:
        parse_filter(text)
    assert message in str(caught.value)


def test_sorting_by_any_column_keeps_unknown_values_last():
    def order(key, descending=False):
        return [s.name for s in sort_summaries(RUNS, BY_KEY[key], descending)]

    assert order("lr") == ["sweep/lr-0.001", "lr-0.003", "lr-0.01", "mixed", "broken"]
    assert order("lr", descending=True) == ["mixed", "lr-0.01", "lr-0.003", "sweep/lr-0.001", "broken"]
    assert order("acc", descending=True)[:3] == ["lr-0.01", "lr-0.003", "sweep/lr-0.001"]
    assert order("t99") == ["lr-0.01", "broken", "lr-0.003", "mixed", "sweep/lr-0.001"]  # then by name
    assert order("state") == ["broken", "lr-0.003", "lr-0.01", "mixed", "sweep/lr-0.001"]
    assert order("batch") == ["sweep/lr-0.001", "lr-0.003", "lr-0.01", "mixed", "broken"]


def test_runs_started_within_one_minute_sort_by_the_second():
    """The column sorted by its shown minute: three runs of one minute came in reverse name order."""
    noon = 1_795_000_020.0  # the start of a minute (in UTC): all three start within it
    runs = [run("lr01", started=noon + 10), run("lr03", started=noon + 28), run("lr005", started=noon + 31)]
    newest_first = [s.name for s in sort_summaries(runs, BY_KEY["started"], descending=True)]
    assert newest_first == ["lr005", "lr03", "lr01"]
    assert [s.name for s in sort_summaries(runs, BY_KEY["started"])] == ["lr01", "lr03", "lr005"]


def record(epoch, acc, loss) -> EpochRecord:
    return EpochRecord(epoch, loss + 0.1, acc - 0.01, loss, acc, 1.0, 100.0, 0.01)


def test_epoch_series_hold_one_point_per_epoch():
    history = [record(1, 0.9, 0.3), record(2, 0.95, 0.2)]
    assert epoch_series("a", history, "acc").ys == pytest.approx((90.0, 95.0))
    assert epoch_series("a", history, "error").ys == pytest.approx((10.0, 5.0))
    assert epoch_series("a", history, "test_loss").xs == (1.0, 2.0)
    assert epoch_series("a", history, "train_loss").ys == pytest.approx((0.4, 0.3))


def test_batch_series_places_each_batch_and_caps_its_points():
    reports = [BatchEnd(1, 2, 4, (1.0, 0.9), 1.0, 2, (0.01, 0.01)), BatchEnd(1, 4, 4, (0.8, 0.7), 1.0, 4, (0.01,) * 2)]
    series = batch_series("a", reports)
    assert series.xs == (0.25, 0.5, 0.75, 1.0) and series.ys == (1.0, 0.9, 0.8, 0.7)
    long = [BatchEnd(e, 100, 100, tuple([float(e)] * 100), 1.0, 100, (0.01,) * 100) for e in range(1, 11)]
    capped = batch_series("b", long)
    assert len(capped.xs) <= MAX_POINTS and capped.xs[-1] == 10.0
    assert capped.ys[0] == 1.0 and capped.ys[-1] == 10.0  # means within an epoch keep its level


def test_a_sprints_half_epoch_spans_half_an_epoch_of_the_batch_axis():
    """Sprint's last epoch reports 2 batches where a whole one has 4: placed by its own count, its
    batches reached x = 3 where the run trained 2.5 epochs."""
    whole = [BatchEnd(e, 4, 4, (1.0,) * 4, 1.0, 4, (0.01,) * 4) for e in (1, 2)]
    series = batch_series("sprint", [*whole, BatchEnd(3, 2, 2, (0.5, 0.4), 1.0, 2, (0.01, 0.01))])
    assert series.xs[-2:] == (2.25, 2.5) and max(series.xs) == 2.5


def test_the_settings_that_differ_and_those_shared():
    differ, same = differing_settings(RUNS[:3])
    assert differ == {
        "batch_size": [512, 512, 128],
        "lr": [0.003, 0.01, 0.001],
        "conv_dropout": [0.1, 0.2, 0.1],
        "fc_dropout": [0.1, 0.2, 0.1],
    }
    assert same["recipe"] == "fast" and same["device"] == "cpu" and "lr" not in same


def test_runs_trained_on_different_amounts_of_data_do_not_share_every_setting():
    """--limit-train 10000 against 20000 read "the runs share every setting"."""
    differ, _same = differing_settings([run("a", train_size=10_000), run("b", train_size=20_000)])
    assert differ == {"train_size": [10_000, 20_000]}


def test_started_takes_a_date_and_refuses_what_is_none():
    """`started>2026-13-45` matched nothing and said nothing; `started=2026-11-26` matched no run
    of that day (the column holds the time too)."""
    import datetime as dt

    def at(day: str, hour: int) -> float:
        return dt.datetime.strptime(f"{day} {hour:02d}:30", "%Y-%m-%d %H:%M").timestamp()

    runs = [run("a", started=at("2026-11-25", 23)), run("b", started=at("2026-11-26", 7)), run("c", started=None)]

    def named(text: str) -> list[str]:
        return [s.name for s in parse_filter(text).apply(runs)]

    assert named("started=2026-11-26") == ["b"] and named("started!=2026-11-26") == ["a", "c"]
    assert named("started>=2026-11-26") == ["b"] and named("started<2026-11-26") == ["a"]
    assert named("started>2026-11-25") == ["b"] and named("started<=2026-11-25") == ["a"]  # the whole day
    assert named("started>2026-11") == [] and named("started<=2026-11") == ["a", "b"]  # the whole month
    assert named("started=2026-11") == ["a", "b"] and named("started=2026-11-2*") == ["a", "b"]
    for bad in ("started>2026-13-45", "started<yesterday", "started=2026-1-5"):
        with pytest.raises(FilterError, match="started takes a date"):
            parse_filter(bad)


def test_the_settings_lines_break_between_items_with_room_for_their_comma():
    """At 120 columns "same: … precision bf16," was one cell too long: the line broke inside the
    item, "precision" above "bf16," on a line of its own."""
    from rich.text import Text

    from mnist_tui.tui.widgets.compare_panel import _fit

    items = [Text(t) for t in ("aaaaaa", "bbbbbbbbb", "cc", "dd")]
    lines = _fit(Text("s: "), items, ", ", 20, 9)  # "s: aaaaaa, bbbbbbbbb" is 20: with its "," 21
    assert [line.plain for line in lines] == ["s: aaaaaa,", "bbbbbbbbb, cc, dd"]
    assert all(line.cell_len <= 20 for line in lines)


def test_every_bad_word_is_named_at_once():
    """It named the first alone: 'state=bogus' and 'lr<abc' went unsaid until 'foo<3' was mended."""
    with pytest.raises(FilterError) as caught:
        parse_filter("foo<3 acc>98 state=bogus lr<abc")
    said = str(caught.value).split("; ")
    assert [part.split(":")[0] for part in said] == ["'foo<3'", "'state=bogus'", "'lr<abc'"], said
    assert said[2] == "'lr<abc': lr is a number, 'abc' is not one"
