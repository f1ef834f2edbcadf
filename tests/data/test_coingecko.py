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
    doc = {"prices": [[1704067200000, 42000.0]]}
    with pytest.raises(DataError, match="no finished day"):
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
