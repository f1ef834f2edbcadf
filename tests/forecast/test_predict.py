"""predict checks that the data fit the model before it forecasts: frequency, window, price range, horizon, finiteness."""


import numpy as np
import pandas as pd
import pytest

from scratchlstm.checkpoint import read_checkpoint, write_checkpoint
from scratchlstm.cli import main
from scratchlstm.errors import CheckpointError, DataError
from scratchlstm.data import load_prices
from scratchlstm.forecast import ForecastConfig, predict_next, run_forecast
from tests.helpers import dated_rows, random_walk, series_from

CONFIG = ForecastConfig(window=5, hidden_sizes=(3,), epochs=2, test_size=20, refit_every=None)


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """A returns model and a price-level model, trained on daily prices around 100."""
    out = tmp_path_factory.mktemp("models")
    series = series_from(random_walk(200, seed=3))
    for target in ("returns", "price"):
        run_forecast(series, CONFIG.updated(target=target)).save(out / target)
    return out


def _write(tmp_path, prices, freq="D", name="p.csv"):
    path = tmp_path / name
    path.write_text(dated_rows(list(prices), freq=freq))
    return path


def test_a_fitting_file_gets_a_forecast(models, tmp_path):
    prediction = predict_next(models / "returns" / "model.npz", _write(tmp_path, random_walk(30, seed=5)))
    assert np.isfinite(prediction.forecast) and prediction.horizon == 1 and "naive" in prediction.describe()


def test_another_frequency_is_refused(models, tmp_path):
    weekly = _write(tmp_path, random_walk(30, seed=5), freq="W")
    with pytest.raises(DataError, match="the prices are weekly but the model was trained on daily prices"):
        predict_next(models / "returns" / "model.npz", weekly)


def _jittered(path, step_seconds: int, n: int, seed: int):
    """Prices stamped every ``step_seconds`` plus up to a minute's jitter, as CoinGecko stamps its hourly points: the
    frequency is irregular (no kind)."""
    rng = np.random.default_rng(seed)
    stamps = pd.Timestamp("2024-03-31") + pd.to_timedelta(np.arange(n) * step_seconds + rng.integers(0, 60, n), unit="s")
    pd.DataFrame({"Date": stamps.strftime("%Y-%m-%d %H:%M:%S"), "Close": 100 * random_walk(n, seed=seed)}).to_csv(path, index=False)
    return path


def test_irregular_prices_of_another_median_spacing_are_refused(tmp_path):
    """Jittered hourly and 5-minute prices are both irregular: the kinds (None) matched, and an hourly model forecast
    a 5-minute step with its hourly interval, without a note."""
    hourly = _jittered(tmp_path / "hourly.csv", 3600, 200, seed=1)
    run_forecast(hourly, CONFIG).save(tmp_path / "out")
    model = tmp_path / "out" / "model.npz"
    with pytest.raises(DataError, match=r"the prices are irregular \(median spacing .* but the model was trained on prices 36\d\d seconds apart \(median\)"):
        predict_next(model, _jittered(tmp_path / "five.csv", 300, 100, seed=2))
    prediction = predict_next(model, _jittered(tmp_path / "hourly2.csv", 3600, 60, seed=3))  # the same spacing: forecast
    assert np.isfinite(prediction.forecast)
    # a model file written before the median spacing was recorded: a note that it cannot be checked, not a refusal
    # (its word holds the median rounded, "1 hour" against this file's "3604 seconds")
    arrays, meta = read_checkpoint(model)
    del meta["data"]["frequency"]["median_seconds"]
    old = tmp_path / "old.npz"
    write_checkpoint(old, arrays, {k: v for k, v in meta.items() if k not in ("format", "format_version")})
    prediction = predict_next(old, _jittered(tmp_path / "five.csv", 300, 100, seed=2))
    assert any("does not record their median spacing to the second" in n for n in prediction.notes)


def test_a_price_level_model_refuses_prices_far_outside_its_training_range(models, tmp_path, capsys):
    stock = _write(tmp_path, 100 * random_walk(30, seed=5))  # about 10,000: a hundred times the training prices
    with pytest.raises(DataError, match=r"far outside the prices this price-level model was trained on \(\d+.* to \d+"):
        predict_next(models / "price" / "model.npz", stock)
    assert main(["predict", "--checkpoint", str(models / "price" / "model.npz"), "--csv", str(stock)]) == 2
    assert "--force" in capsys.readouterr().err
    forced = predict_next(models / "price" / "model.npz", stock, force=True)
    assert np.isfinite(forced.forecast)
    # a returns model sees scale-free returns: the same file is fine
    assert np.isfinite(predict_next(models / "returns" / "model.npz", stock).forecast)


def test_a_horizon_that_differs_from_the_head_is_refused(models, tmp_path):
    arrays, meta = read_checkpoint(models / "returns" / "model.npz")
    meta["forecast"]["horizon"] = 5
    altered = tmp_path / "altered.npz"
    write_checkpoint(altered, arrays, {k: v for k, v in meta.items() if k not in ("format", "format_version")})
    with pytest.raises(CheckpointError, match="its settings say horizon 5 but its head has 1 output"):
        predict_next(altered, _write(tmp_path, random_walk(30, seed=5)))


def test_a_forecast_that_is_not_finite_is_an_error(models, tmp_path, capsys):
    arrays, meta = read_checkpoint(models / "returns" / "model.npz")
    arrays["member0/head.c"] = np.array([np.inf], np.float32)
    broken = tmp_path / "broken.npz"
    write_checkpoint(broken, arrays, {k: v for k, v in meta.items() if k not in ("format", "format_version")})
    prices = _write(tmp_path, random_walk(30, seed=5))
    with pytest.raises(DataError, match="not a number; its weights hold NaN or inf"):  # the weights, not the data
        predict_next(broken, prices)
    assert main(["predict", "--checkpoint", str(broken), "--csv", str(prices)]) == 2


@pytest.mark.parametrize("change, message", [
    (lambda m: m.update(forecast={"window": "five"}), "not a forecast model"),
    (lambda m: m.update(scaling={"center": 0.0}), "data scaling is missing or malformed"),
    (lambda m: m.pop("data"), "description of the training data is missing"),
    (lambda m: m.update(model=[1, 2]), "must be a JSON object"),
])
def test_malformed_model_metadata_is_refused(models, tmp_path, change, message):
    arrays, meta = read_checkpoint(models / "returns" / "model.npz")
    change(meta)
    bad = tmp_path / "bad.npz"
    write_checkpoint(bad, arrays, {k: v for k, v in meta.items() if k not in ("format", "format_version")})
    with pytest.raises(CheckpointError, match=message):
        predict_next(bad, _write(tmp_path, random_walk(30, seed=5)))


def test_run_forecast_takes_pandas_objects_and_checks_them():
    import pandas as pd

    index = pd.date_range("2020-01-01", periods=200, freq="D")
    prices = pd.Series(random_walk(200, seed=1), index=index)
    config = CONFIG.updated(epochs=1)
    from_series = run_forecast(prices, config)
    from_frame = run_forecast(pd.DataFrame({"Date": index.strftime("%Y-%m-%d"), "Close": prices.to_numpy()}), config)
    assert np.array_equal(from_series.forecasts["model"], from_frame.forecasts["model"])
    with pytest.raises(DataError, match="missing"):
        run_forecast(prices.where(prices.index != index[50]), config)
    with pytest.raises(DataError):
        run_forecast(prices.iloc[::-1].reset_index(drop=True), config)  # no time stamps at all


def test_no_file_is_refused_for_a_model_not_trained_on_the_embedded_series(models):
    """Without a file, predict read the embedded MSFT series whatever the model was trained on, and
    forecast MSFT's 2013 price with a model of other prices (these end 2010-07-19)."""
    with pytest.raises(DataError, match=r"trained on other prices \(to 2010-07-19\).*--csv FILE"):
        predict_next(models / "returns" / "model.npz")


def test_the_first_line_says_how_the_file_was_read(models, tmp_path, capsys):
    """predict said nothing of what it assumed: a day-first file with decimal commas (13.01.2010;
    1.234,5) read with no word of the reading; now its first line says it, as forecast's does."""
    prices = 1000 + 10 * random_walk(30, seed=5)
    dates = pd.date_range("2010-01-01", periods=30, freq="D")
    rows = "".join(f"{d:%d.%m.%Y};" + f"{p:,.2f}\n".replace(",", " ").replace(".", ",").replace(" ", ".")
                   for d, p in zip(dates, prices))
    path = tmp_path / "de.csv"
    path.write_text("Date;Close\n" + rows)
    assert main(["predict", str(path), "--checkpoint", str(models / "returns" / "model.npz")]) == 0
    first, second, third = capsys.readouterr().out.splitlines()[:3]
    assert first.startswith("data: ") and "delimiter ';'" in first and "decimal ','" in first, first
    assert second.startswith(f"model: {models / 'returns' / 'model.npz'}, trained on synthetic, prices to 2010-07-19"), second
    assert third.startswith("its run's verdict: ") and "naive" in third, third
    assert "day-first (%d.%m.%Y)" in first and "30 rows 2010-01-01 to 2010-01-30" in first, first


def test_what_the_loader_fixed_is_a_note_not_a_python_warning(models, tmp_path, capsys, recwarn):
    """A file newest first with a repeated row made predict print Python's warning text (the
    source line of predict.py among it) on stderr; it is one note each, as forecast says them."""
    text = dated_rows(list(100 * random_walk(30, seed=5)))
    header, *rows = text.splitlines()
    path = tmp_path / "newest-first.csv"
    path.write_text("\n".join([header, *reversed(rows), rows[3]]) + "\n")
    assert main(["predict", str(path), "--checkpoint", str(models / "returns" / "model.npz")]) == 0
    out, err = capsys.readouterr()
    assert err == "" and not [w for w in recwarn if "duplicated" in str(w.message)]
    assert "note: 1 duplicated time stamp(s) dropped" in out and "note: rows were not in time order; sorted" in out, out


def test_a_file_that_ends_before_the_training_data_gets_a_note(models, tmp_path):
    """A file ending before the model's own data (a stale download, or another asset's history) was
    forecast from without a word; the model was trained on 200 days to 2010-07-19."""
    path = tmp_path / "old.csv"
    path.write_text(dated_rows(list(100 * random_walk(30, seed=5)), start="2010-01-01"))
    notes = predict_next(models / "returns" / "model.npz", path).notes
    assert any("ends on 2010-01-30, before the prices the model was trained on ended (2010-07-19)" in n for n in notes), notes
    later = tmp_path / "later.csv"
    later.write_text(dated_rows(list(100 * random_walk(30, seed=5)), start="2010-07-01"))
    assert not any("ends on" in n for n in predict_next(models / "returns" / "model.npz", later).notes)


def test_prices_unlike_the_training_data_get_a_note(models, tmp_path):
    """A model trained on one series gave confident forecasts and intervals on another, without a word."""
    like = predict_next(models / "returns" / "model.npz", _write(tmp_path, random_walk(40, seed=5)))
    assert not any("latest prices move" in n or "outside the prices" in n for n in like.notes), like.notes
    log_prices = np.cumsum(np.random.default_rng(6).normal(0, 0.2, 40))  # steps about ten times the training data's
    wild = predict_next(models / "returns" / "model.npz", _write(tmp_path, 100 * np.exp(log_prices), name="wild.csv"))
    assert any(n.startswith("the latest prices move") and "times as much" in n and "another series" in n for n in wild.notes)
    calm = predict_next(models / "returns" / "model.npz", _write(tmp_path, 100 + np.arange(40) * 1e-4, name="calm.csv"))
    assert any(n.startswith("the latest prices move 1/") for n in calm.notes)
    above = 3 * random_walk(40, seed=5)  # within ten times the training range, outside it
    note = predict_next(models / "price" / "model.npz", _write(tmp_path, above, name="above.csv")).notes
    assert any("is outside the prices the model was trained on" in n and "extrapolates" in n for n in note)
    inside = predict_next(models / "price" / "model.npz", _write(tmp_path, random_walk(200, seed=3)[100:140], name="in.csv")).notes
    assert not any("outside the prices" in n for n in inside)


@pytest.fixture(scope="module")
def weekday_model(tmp_path_factory):
    """A model with a season of 5, trained on business days."""
    out = tmp_path_factory.mktemp("weekday")
    rng = np.random.default_rng(8)
    effect = np.tile([0.02, -0.01, 0.0, -0.015, 0.005], 40)
    prices = 100 * np.exp(np.cumsum(effect + 0.003 * rng.standard_normal(200)))
    path = out / "b.csv"
    path.write_text(dated_rows(list(prices), start="2018-01-01", freq="B"))
    run_forecast(load_prices(path), CONFIG.updated(season=5)).save(out / "model")
    return out / "model" / "model.npz"


def test_a_season_of_business_days_is_not_applied_to_days_seven_a_week(weekday_model, tmp_path):
    """The two share a kind of step, so the model's week of 5 rows was applied to calendar days without a word."""
    daily = _write(tmp_path, random_walk(60, seed=5), freq="D")
    with pytest.raises(DataError, match="the prices are daily but the model was trained on business daily prices, and its "
                                        "season of 5 rows is a week of those"):
        predict_next(weekday_model, daily)
    assert np.isfinite(predict_next(weekday_model, _write(tmp_path, random_walk(60, seed=5), freq="B")).forecast)


def test_a_model_without_a_season_notes_days_against_business_days(models, tmp_path):
    business = _write(tmp_path, random_walk(30, seed=5), freq="B")
    prediction = predict_next(models / "returns" / "model.npz", business)
    assert any("the prices are business daily, the model's were daily" in n for n in prediction.notes)


def test_too_few_rows_for_the_seasonal_index_are_refused_and_fewer_than_the_runs_are_noted(weekday_model, tmp_path):
    """With 30 rows of a monthly model the index was dropped without a word: another forecast from the same window."""
    with pytest.raises(DataError, match=r"season of 5 rows, whose index needs three seasons of prices \(15 rows\); the "
                                        r"file has 12"):
        predict_next(weekday_model, _write(tmp_path, random_walk(12, seed=5), freq="B"))
    short = predict_next(weekday_model, _write(tmp_path, random_walk(20, seed=5), freq="B"))
    assert any("estimated from 20 rows, fewer than the 34 the model's run estimated it from at its last forecast (6 seasons "
               "and a half season at each end)" in n for n in short.notes)
    enough = predict_next(weekday_model, _write(tmp_path, random_walk(34, seed=5), freq="B"))
    assert not any("seasonal index" in n for n in enough.notes)


def test_a_model_file_edited_since_its_run_wrote_it_gets_a_note(tmp_path):
    """Its scaling, window or interval widths edited by hand changed the forecast without a word, though the run's
    manifest records the file's SHA-256."""
    import io
    import json
    import zipfile

    prices = _write(tmp_path, random_walk(120, seed=6))
    out = tmp_path / "run"
    assert main(["forecast", "--csv", str(prices), "--out", str(out), "--quiet", "--epochs", "1", "--window", "5",
                 "--hidden", "3", "--test-size", "20", "--refit-every", "none"]) == 0
    untouched = predict_next(out / "model.npz", prices)
    assert not any("is not the file its run wrote" in n for n in untouched.notes)
    with zipfile.ZipFile(out / "model.npz") as z:
        members = {i.filename: z.read(i) for i in z.infolist()}
    doc = json.loads(np.load(io.BytesIO(members["__meta__.npy"])).tobytes())
    doc["scaling"]["scale"] *= 10
    buffer = io.BytesIO()
    np.save(buffer, np.frombuffer(json.dumps(doc).encode(), dtype=np.uint8))
    members["__meta__.npy"] = buffer.getvalue()
    with zipfile.ZipFile(out / "model.npz", "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    edited = predict_next(out / "model.npz", prices)
    assert any(f"{out / 'model.npz'} is not the file its run wrote ({out / 'run.json'} records another SHA-256)" in n
               for n in edited.notes)


def test_a_seasonal_model_file_forecasts_from_the_smoothed_level_and_an_older_one_from_the_last_value(tmp_path):
    """An untrained seasonal model (lr 1e-9 keeps the untrained weights) forecasts the smoothed level moved by the
    seasonal index; a model file written before the smoothed level (its settings lack ``smooth_level``) was trained
    and evaluated from the last value, and predict must forecast as its run did: the adjusted naive."""
    from scratchlstm.forecast.baselines import adjusted_naive_forecast, smoothed_level_forecast

    rng = np.random.default_rng(4)
    s = np.arange(144)
    prices = 100 * np.exp(0.004 * s + 0.15 * np.sin(2 * np.pi * s / 12) + 0.05 * rng.standard_normal(144))
    csv = tmp_path / "monthly.csv"
    csv.write_text(dated_rows(prices, freq="MS"))
    result = run_forecast(csv, ForecastConfig(season=12, lr=1e-9, epochs=1, test_size=24), quiet=True)
    assert result.untrained_everywhere and result.untrained_name == "smoothed_level"
    result.save(tmp_path / "out")
    model = tmp_path / "out" / "model.npz"
    last = np.array([len(prices) - 1])
    expected = smoothed_level_forecast(prices, last, 1, 12)[0]
    assert predict_next(model, csv).forecast == pytest.approx(expected, rel=1e-12)
    arrays, meta = read_checkpoint(model)
    del meta["forecast"]["smooth_level"]
    old = tmp_path / "old.npz"
    write_checkpoint(old, arrays, {k: v for k, v in meta.items() if k not in ("format", "format_version")})
    before = adjusted_naive_forecast(prices, last, 1, 12)[0]
    assert predict_next(old, csv).forecast == pytest.approx(before, rel=1e-12) and abs(before - expected) > 1e-6 * expected


def test_a_run_shorter_than_six_seasons_is_the_measure_of_a_short_file(tmp_path):
    """72 monthly rows (USAccDeaths' length): the run itself estimated its index from at most 71, so the same file
    was told it had "fewer than the 84 of the model's run"; now only a file shorter than the run's last forecast had
    is noted, and it names that count."""
    rng = np.random.default_rng(3)
    prices = 100 * np.exp(np.tile(0.1 * np.sin(np.arange(12) * np.pi / 6), 6) + np.cumsum(0.01 * rng.standard_normal(72)))
    path = tmp_path / "m.csv"
    path.write_text(dated_rows(list(prices), start="2000-01-01", freq="MS"))
    run_forecast(load_prices(path), CONFIG.updated(season=12, test_size=12)).save(tmp_path / "model")
    model = tmp_path / "model" / "model.npz"
    prediction = predict_next(model, path)
    assert not any("seasonal index" in n for n in prediction.notes)
    assert prediction.target == "2006-01" and "forecast 1 step(s) ahead, for 2006-01: " in prediction.describe()
    cut = tmp_path / "cut.csv"
    cut.write_text(dated_rows(list(prices[:60]), start="2000-01-01", freq="MS"))
    assert any("estimated from 60 rows, fewer than the 71 the model's run estimated it from at its last forecast (all its "
               "rows up to its last origin)" in n for n in predict_next(model, cut).notes)


def test_another_series_that_ends_on_the_runs_last_date_is_noted_by_its_price_there(models, tmp_path):
    """The run's last price is recorded: a file of another instrument over the same dates was forecast from with the
    run's intervals and not a word (its steps were alike, so the spread check was silent)."""
    model = models / "returns" / "model.npz"
    own = random_walk(200, seed=3)  # the run's prices (series_from: daily from 2010-01-01)
    start = "2010-01-01"
    said = "the last date of the model's run, this file's price is"

    def notes(prices, name):
        path = tmp_path / name
        path.write_text(dated_rows(list(prices), start=start))
        return predict_next(model, path).notes

    assert not any(said in n for n in notes(own, "same.csv"))
    assert not any(said in n for n in notes(np.round(own, 2), "two-decimals.csv"))  # saved with fewer decimals: one price
    assert not any(said in n for n in notes(np.append(own, own[-1] * 1.01), "longer.csv"))  # new rows after it
    other = own[::-1] * 0.3  # the same dates, another level and path
    found = [n for n in notes(other, "other.csv") if said in n]
    assert found == [f"on 2010-07-19, the last date of the model's run, this file's price is {other[-1]:.6g} and the run's was "
                     f"{own[-1]:.6g} ({other[-1] / own[-1] - 1:+.2%}): another series, or prices adjusted again since (a "
                     "dividend or split); the model and its interval were measured on the run's prices"]
    adjusted = own * 0.995  # re-downloaded after a dividend: every adjusted price 0.5% lower
    assert any(f"({-0.005:+.2%})" in n for n in notes(adjusted, "adjusted.csv") if said in n)


@pytest.mark.parametrize("target", ["returns", "price"])
def test_predict_repeats_the_verdict_of_the_run_that_made_the_model(models, tmp_path, target):
    """A price-level model 4.8 times worse than naive forecast on with no reminder of how its run went."""
    import json

    report = json.loads((models / target / "report.json").read_text())
    prediction = predict_next(models / target / "model.npz", _write(tmp_path, random_walk(200, seed=3)))
    assert prediction.run_verdict == report["verdict"] and prediction.run_verdict.startswith(("beats", "does not beat"))


def _altered(models, tmp_path, target, edit):
    """The model file of ``target`` with ``edit(meta)`` applied and its manifest rewritten, as a hand edit would."""
    arrays, meta = read_checkpoint(models / target / "model.npz")
    edit(meta)
    path = tmp_path / f"altered-{target}.npz"
    write_checkpoint(path, arrays, {k: v for k, v in meta.items() if k not in ("format", "format_version")})
    return path


def _set(*keys_and_value):
    *keys, value = keys_and_value

    def edit(meta):
        node = meta
        for key in keys[:-1]:
            node = node[key]
        node[keys[-1]] = value
    return edit


@pytest.mark.parametrize("edit, message", [
    # each was an "internal error" (exit 3): an overflow, a division by zero, a comparison with text or None
    (_set("intervals", "log_half_width", "80", 1e6), "its interval half-widths must be numbers from 0 to 20"),
    (_set("intervals", "log_half_width", "80", "0.1"), "its interval half-widths must be numbers from 0 to 20"),
    (_set("intervals", "levels", [150]), "its interval description is malformed"),
    (_set("data", "last_price", 0), r"its description of the training data is malformed \(last_price\)"),
    (_set("data", "train_min", None), r"malformed \(train_min\)"),
    (_set("data", "train_min", "a"), r"malformed \(train_min\)"),
    (_set("data", "train_max", 1.0), r"malformed \(train_min above train_max\)"),
    (_set("data", "train_typical_change", "x"), r"malformed \(train_typical_change\)"),
    (_set("data", "last_date", [1, 2]), r"malformed \(last_date\)"),
    (_set("data", "frequency", "daily"), r"malformed \(frequency\)"),
    (_set("data", "rows", True), r"malformed \(rows\)"),
    # read as numbers before: True as 1
    (_set("scaling", "center", True), "its data scaling is missing or malformed"),
    (_set("seasonal", "season", True), "its seasonal description is malformed"),
    (_set("forecast", "hidden_sizes", [16]), r"its settings say hidden sizes \[16\] but its weights are layers of \[3\]"),
])
def test_an_altered_model_file_is_refused_in_one_line(models, tmp_path, capsys, edit, message):
    altered = _altered(models, tmp_path, "price", edit)
    prices = _write(tmp_path, random_walk(30, seed=5))
    with pytest.raises(CheckpointError, match=message):
        predict_next(altered, prices)
    assert main(["predict", "--checkpoint", str(altered), "--csv", str(prices)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "internal error" not in err


def test_a_forecast_that_is_not_a_price_is_an_error(models, tmp_path):
    """A scale of 1e300 forecast -1.2e299 'dollars' (-5e298 %), with an interval, and exit 0."""
    altered = _altered(models, tmp_path, "price", _set("scaling", "scale", 1e300))
    with pytest.raises(DataError, match=r"the model's forecast is -?[\d.]+e\+\d+, not a price \(prices are above 0\)"):
        predict_next(altered, _write(tmp_path, random_walk(30, seed=5)))


def test_a_model_file_without_the_training_frequency_says_it_is_not_checked(models, tmp_path):
    """Files written before the frequency was recorded: a daily model forecast monthly prices without a word."""
    def edit(meta):
        del meta["data"]["frequency"]
    prediction = predict_next(_altered(models, tmp_path, "returns", edit), _write(tmp_path, random_walk(30, seed=5), freq="MS"))
    assert any("does not record the frequency of its training prices, so these monthly prices are not checked" in n
               for n in prediction.notes)


def test_a_model_file_with_no_interval_level_shows_no_calibration_line(models, tmp_path):
    prediction = predict_next(_altered(models, tmp_path, "returns", _set("intervals", "levels", [])),
                              _write(tmp_path, random_walk(30, seed=5)))
    assert prediction.intervals == {} and "intervals:" not in prediction.describe()
    assert any("records no interval calibration" in n for n in prediction.notes)


def test_one_mistyped_price_among_the_latest_is_named(models, tmp_path):
    """A price 1.5 times what it was, three rows before the last, moved a seasonal forecast 4.6% (18 times its step)
    with an interval of 0.1%, and no note: the median of the latest steps does not see one step."""
    prices = 100 * random_walk(40, seed=5)
    clean = predict_next(models / "returns" / "model.npz", _write(tmp_path, prices))
    assert not any("from the one before" in n for n in clean.notes)
    prices[-3] *= 1.5
    typo = predict_next(models / "returns" / "model.npz", _write(tmp_path, prices, name="typo.csv"))
    dates = pd.date_range("2020-01-01", periods=40, freq="D")
    [note] = [n for n in typo.notes if "from the one before" in n]
    assert note.startswith(f"the price on {dates[-3].date()} is +") and " to the one after, " in note
    assert "times the training prices' typical step" in note


def test_a_lasting_jump_among_the_latest_prices_is_named_as_such(models, tmp_path):
    """A split not adjusted for, say: the prices stay at the new level, and the note names the step, not a spike."""
    prices = 100 * random_walk(40, seed=5)
    prices[-5:] *= 2
    note = next(n for n in predict_next(models / "returns" / "model.npz", _write(tmp_path, prices)).notes if "from the one before" in n)
    assert f"the price on {pd.date_range('2020-01-01', periods=40, freq='D')[-5].date()} is +" in note and "to the one after" not in note


def test_prices_in_memory_are_read_as_run_forecast_reads_them(models, tmp_path):
    """A pandas Series raised TypeError ('expected str, bytes or os.PathLike'), though run_forecast takes one."""
    path = _write(tmp_path, random_walk(30, seed=5))
    frame = pd.read_csv(path, parse_dates=["Date"], index_col="Date")
    from_file = predict_next(models / "returns" / "model.npz", path).forecast
    assert predict_next(models / "returns" / "model.npz", frame["Close"]).forecast == from_file
    assert predict_next(models / "returns" / "model.npz", frame).forecast == from_file


def test_a_training_state_is_named_as_one(tmp_path):
    """It was refused as a model file whose "description of the training data is missing"."""
    run_forecast(series_from(random_walk(200, seed=3)), CONFIG, checkpoint_dir=tmp_path / "checkpoints", quiet=True)
    [state] = (tmp_path / "checkpoints").glob("*.npz")
    with pytest.raises(CheckpointError, match="is a training state .* not a model; use the model.npz"):
        predict_next(state, _write(tmp_path, random_walk(30, seed=5)))
