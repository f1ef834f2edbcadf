"""``exception_chain``: the walk the CLI (was Ctrl-C behind this error?) and the local executor (was a failure
reported while Ctrl-C was being handled?) both take down an exception's causes and contexts."""

from scratchlstm.errors import exception_chain


def _raised(make):
    try:
        make()
    except BaseException as exc:  # noqa: BLE001 - the test looks at whatever was raised
        return exc
    raise AssertionError("nothing was raised")


def _import_failed_under_ctrl_c():
    try:
        raise KeyboardInterrupt
    except KeyboardInterrupt:
        raise ImportError("partially initialised module")


def _cause_over_context():
    try:
        raise KeyError("handled")
    except KeyError:
        raise RuntimeError("outer") from ValueError("cause")


def test_the_chain_follows_the_context_of_an_error_raised_while_handling_another():
    exc = _raised(_import_failed_under_ctrl_c)
    assert [type(e) for e in exception_chain(exc)] == [ImportError, KeyboardInterrupt]


def test_an_explicit_cause_comes_before_the_context_unless_causes_are_left_out():
    exc = _raised(_cause_over_context)
    assert [type(e) for e in exception_chain(exc)] == [RuntimeError, ValueError]
    assert [type(e) for e in exception_chain(exc, causes=False)] == [RuntimeError, KeyError]


def test_a_chain_that_loops_ends_and_none_is_empty():
    a, b = ValueError("a"), ValueError("b")
    a.__context__, b.__context__ = b, a
    assert list(exception_chain(a)) == [a, b]
    assert list(exception_chain(None)) == []
