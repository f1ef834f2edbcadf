"""One shape for every refusal of the data package: the input, the problem, the fix, on one line."""

from ..errors import DataError


def refuse(source, problem: str, fix: str) -> DataError:
    """A ``DataError`` reading ``"{source}: {problem}. {fix}"``.

    Parameters
    ----------
    source : str or path
        The file, or a description of the in-memory data.
    problem : str
        What is wrong, without a final full stop.
    fix : str
        What to do about it.
    """
    return DataError(f"{source}: {problem}. {fix}")
