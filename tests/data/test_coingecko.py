"""CoinGecko documents that are not prices: refused, and nothing written."""

import json

import pytest

from scratchlstm.data import load_prices
from scratchlstm.data.coingecko import fetch_to_csv
from scratchlstm.errors import DataError
from tests.helpers import RecordedResponse

BAD_DOCUMENTS = [
    ({"prices": [], "market_caps": [], "total_volumes": []}, "'prices' list is empty"),
    ({"error": "coin not found"}, "answered with an error instead of prices \\(coin not found\\)"),
    ({"status": {"error_code": 429, "error_message": "You've exceeded the Rate Limit."}}, "exceeded the Rate Limit"),
    ({"prices": [[1e20, 5.0]]}, "not unix times between 1973 and 2200"),
    ({"prices": [[-1704067200000, 5.0]]}, "not unix times"),
    ({"prices": [[None, 5.0]]}, "not unix times"),
    # stamps in seconds: the advice was "use unix seconds or milliseconds", which they were
    ({"prices": [[1704067200, 5.0]]}, "not unix times .*CoinGecko stamps its points in unix milliseconds; .*multiply them by 1000"),
    ({"prices": [[1704067200000, 5.0, 1.0]]}, "not a list of \\[milliseconds, value\\] pairs"),
    ({"prices": [["x", 5.0]]}, "not a list of \\[milliseconds, value\\] pairs"),
    ({"prices": "none"}, "not a list of \\[milliseconds, value\\] pairs"),
    # prices that are no prices: written to the CSV with exit 0 (null as an empty cell, true as 1.0)
    *[({"prices": [[1704067200000, 1.0], [1704153600000, value]]}, f"the price at 2024-01-02 00:00 UTC is {shown}, not a positive "
       "number") for value, shown in ((None, "null"), (True, "true"), (0.0, "0.0"), (-5.0, "-5.0"), (float("inf"), "Infinity"))],
]


@pytest.mark.parametrize("doc, message", BAD_DOCUMENTS)
def test_fetch_refuses_and_writes_nothing(tmp_path, doc, message):
    out = tmp_path / "bitcoin.csv"
    with pytest.raises(DataError, match=message):
        fetch_to_csv("bitcoin", 30, out, opener=lambda request, timeout: RecordedResponse(json.dumps(doc).encode()))
    assert not out.exists()


@pytest.mark.parametrize("doc, message", BAD_DOCUMENTS)
def test_saved_documents_are_refused_naming_the_file(tmp_path, doc, message):
    path = tmp_path / "cg.json"
    path.write_text(json.dumps(doc))
    with pytest.raises(DataError, match=message) as info:
        load_prices(path)
    assert str(info.value).startswith(str(path))


def test_only_the_unfinished_day_is_not_a_series(tmp_path):
    out = tmp_path / "x.csv"
    doc = {"prices": [[1704067200000, 41000.0], [1704067200000 + 5 * 3_600_000, 42000.0]]}  # one day's 00:00 and its running price
    with pytest.raises(DataError, match=r"CoinGecko sent 1 finished day\(s\) \(a price at 00:00 UTC\); ask for more --days"):
        fetch_to_csv("bitcoin", 2, out, opener=lambda request, timeout: RecordedResponse(json.dumps(doc).encode()))
    assert not out.exists()


@pytest.mark.parametrize("body", [b"<html>rate limited</html>", b"\xff\xfe\x00", b"[" * 100000])
def test_answers_that_are_not_json(tmp_path, body):
    with pytest.raises(DataError, match="not JSON"):
        fetch_to_csv("bitcoin", 30, tmp_path / "x.csv", opener=lambda request, timeout: RecordedResponse(body))


def test_offline_the_advice_names_the_commands_that_take_a_file(tmp_path):
    """It said "pass them with --csv", a flag fetch does not have."""
    import urllib.error

    def offline(request, timeout):
        raise urllib.error.URLError("Temporary failure in name resolution")

    out = tmp_path / "bitcoin.csv"
    with pytest.raises(DataError, match=r"you seem to be offline: download the prices elsewhere and give the file to "
                                        r"forecast or predict \(--csv FILE\)$"):
        fetch_to_csv("bitcoin", 30, out, opener=offline)
    assert not out.exists()


DAY, T0 = 86_400_000, 1_711_843_200_000  # 2024-03-31 00:00 UTC


def fetched(tmp_path, doc, days=30, **kwargs):
    """``fetch_to_csv`` on a recorded answer: the frame, and the CSV read back by the loader."""
    out = tmp_path / "coin.csv"
    frame = fetch_to_csv("bitcoin", days, out, opener=lambda request, timeout: RecordedResponse(json.dumps(doc).encode()), **kwargs)
    return frame, load_prices(out)


def test_todays_point_at_midnight_is_kept_and_only_the_running_price_dropped(tmp_path):
    """CoinGecko's own sample answer: 03-31 00:00, 04-01 00:00 and the running price at 04-01 15:01. fetch kept 03-31
    alone (the running price took 04-01's place, then the last day was dropped), while the loader, given the same
    answer saved as a file, kept both days."""
    doc = {"prices": [[T0, 69702.31], [T0 + DAY, 71246.95], [T0 + DAY + 54_082_000, 68887.75]]}
    frame, reread = fetched(tmp_path, doc)
    assert [f"{d:%Y-%m-%d}" for d in frame["date"]] == ["2024-03-31", "2024-04-01"]
    assert list(reread.prices) == [69702.31, 71246.95]
    saved = tmp_path / "answer.json"
    saved.write_text(json.dumps(doc))
    assert list(load_prices(saved).prices) == list(reread.prices)


def test_points_within_a_day_and_two_prices_of_one_day_are_refused(tmp_path):
    hourly = {"prices": [[T0 + k * 3_600_000, 100.0 + k] for k in range(60)]}
    with pytest.raises(DataError, match=r"CoinGecko sent points within a day \(2024-03-31 01:00 UTC, 56 in all\) where daily "):
        fetched(tmp_path, hourly)
    twice = {"prices": [[T0, 1.0], [T0 + DAY, 2.0], [T0 + DAY, 2.5], [T0 + 2 * DAY, 3.0]]}
    with pytest.raises(DataError, match=r"CoinGecko sent two prices for 2024-04-01: 2, 2.5; fetch again"):
        fetched(tmp_path, twice)
    later = {"prices": [[T0, 1.0], [T0, 1.0], [T0 + DAY, 2.0], [T0 + DAY, 2.5], [T0 + 2 * DAY, 3.0]]}  # the first day agrees
    with pytest.raises(DataError, match=r"CoinGecko sent two prices for 2024-04-01: 2, 2.5; fetch again"):
        fetched(tmp_path, later)
    once = {"prices": [[T0, 1.0], [T0 + DAY, 2.0], [T0 + DAY, 2.0], [T0 + 2 * DAY, 3.0]]}  # the same point twice
    assert list(fetched(tmp_path, once)[0]["close"]) == [1.0, 2.0, 3.0]


def test_volumes_are_matched_to_prices_by_time_stamp(tmp_path):
    prices = [[T0 + k * DAY, 100.0 + k] for k in range(5)]
    doc = {"prices": prices, "total_volumes": [[t, 10 * p] for t, p in reversed(prices)],  # another order
           "market_caps": [[t, 7 * p] for t, p in prices[:3]], "error": None}  # shorter; an empty error is no error
    frame, _ = fetched(tmp_path, doc)
    assert list(frame["volume"]) == [1000.0, 1010.0, 1020.0, 1030.0, 1040.0]
    assert list(frame["market_cap"][:3]) == [700.0, 707.0, 714.0] and frame["market_cap"][3:].isna().all()


def http_error(code, body=b"", headers=None):
    import email.message
    import io
    import urllib.error

    message = email.message.Message()
    for key, value in (headers or {}).items():
        message[key] = value
    return urllib.error.HTTPError("https://api.coingecko.com/x", code, "refused", message, io.BytesIO(body))


@pytest.mark.parametrize("error, days, expected", [
    (http_error(401, json.dumps({"error": {"status": {"error_code": 10012, "error_message": "Your request exceeds the allowed time "
                                                       "range. Public API users are limited to querying historical data within "
                                                       "the past 365 days."}}}).encode()), 400,
     r"HTTP 401 for 'bitcoin' \(.*limited to querying historical data within the past 365 days.*\); the public API without a key "
     r"serves the past 365 days at most: use --days 365 or fewer$"),
    (http_error(429, headers={"Retry-After": "42"}), 30, r"HTTP 429 for 'bitcoin'; wait 42 s and retry \(rate limit\)$"),
    (http_error(429), 30, r"HTTP 429 for 'bitcoin'; wait a minute and retry \(rate limit\)$"),
    (http_error(400, b'{"error": "invalid vs_currency"}'), 30, r"HTTP 400 for 'bitcoin' \(\"invalid vs_currency\"\); check the coin "
     r"id and --vs"),
    (http_error(503, b"<html>down</html>"), 30, r"HTTP 503 for 'bitcoin'; retry later$"),
])
def test_an_http_error_gives_coingeckos_words_and_advice_that_can_work(tmp_path, error, days, expected):
    """Every refusal but 404 and 429 said "retry later", which cannot mend a range beyond the keyless 365 days."""
    def refused(request, timeout):
        raise error

    with pytest.raises(DataError, match=expected):
        fetch_to_csv("bitcoin", days, tmp_path / "x.csv", opener=refused)


@pytest.mark.parametrize("failure, expected", [
    ("cut", r"^the connection to CoinGecko was cut mid-answer \(IncompleteRead\); fetch again$"),
    ("silent", r"^CoinGecko did not answer within 30 s; retry later, or download the prices elsewhere"),
])
def test_a_cut_or_silent_connection_is_the_environments_not_a_bug(tmp_path, failure, expected):
    """A body cut short raised http.client.IncompleteRead, which is no OSError: "internal error", exit 3."""
    import http.client
    import socket
    import urllib.error

    class Cut(RecordedResponse):
        def read(self, size=-1):
            raise http.client.IncompleteRead(b"{", 9999)

    def opener(request, timeout):
        if failure == "silent":
            raise urllib.error.URLError(socket.timeout("timed out"))
        return Cut(b"")

    with pytest.raises(DataError, match=expected):
        fetch_to_csv("bitcoin", 30, tmp_path / "x.csv", opener=opener)


def test_an_output_path_that_cannot_be_a_file_is_refused_before_the_download(tmp_path):
    """A folder was named only after the download, by its temporary file's name; a pipe (or, as root, /dev/null) was
    replaced by a regular file."""
    import os

    asked = []

    def opener(request, timeout):
        asked.append(request)
        return RecordedResponse(b"{}")

    (tmp_path / "folder").mkdir()
    os.mkfifo(tmp_path / "pipe")
    (tmp_path / "file").write_text("mine")
    for out, expected in (("folder", r"a folder, not a file"), ("pipe", r"not a regular file \(a pipe or a device\)"),
                          ("file/x.csv", r"is a file, so nothing can be written under it")):
        with pytest.raises(OSError, match=expected) as info:
            fetch_to_csv("bitcoin", 30, tmp_path / out, opener=opener)
        assert info.value.filename == str(tmp_path / out)
    assert asked == [] and (tmp_path / "pipe").is_fifo() and (tmp_path / "file").read_text() == "mine"


def test_the_notes_say_when_the_history_is_shorter_or_ends_long_ago():
    import pandas as pd

    from scratchlstm.data.coingecko import fetch_notes

    frame = pd.DataFrame({"date": pd.date_range("2022-01-01", periods=20, freq="D"), "close": 1.0})
    notes = fetch_notes(frame, 365, today=pd.Timestamp("2024-06-01"))
    assert notes == ["CoinGecko has 20 days of 365 asked: its prices of this coin start on 2022-01-01",
                     "the prices end on 2022-01-20, 863 days ago: CoinGecko has no later ones (a coin no longer traded?); a "
                     "forecast from them is for a day long past"]
    assert fetch_notes(frame, 20, today=pd.Timestamp("2022-01-21")) == []


def test_a_server_that_sends_a_byte_at_a_time_is_given_up_at_the_timeout(tmp_path, monkeypatch):
    """The 30 s timeout bounded each read, not the download: one byte every 20 ms took 83 s, and one every 0.5 s would
    have taken half an hour."""
    from scratchlstm.data import coingecko

    clock = iter(range(0, 10_000, 7))  # each read takes 7 s
    monkeypatch.setattr(coingecko.time, "monotonic", lambda: next(clock))

    class Drip(RecordedResponse):
        def read(self, size=-1):
            return super().read(1)

    body = json.dumps({"prices": [[T0 + k * DAY, 1.0 + k] for k in range(5)]}).encode()
    with pytest.raises(DataError, match=r"^CoinGecko did not answer within 30 s"):
        fetch_to_csv("bitcoin", 30, tmp_path / "x.csv", opener=lambda request, timeout: Drip(body))
    assert len(fetched(tmp_path, json.loads(body))[0]) == 5  # the same answer at once is read
