"""The free-text helpers of registry.names do what their docstrings show."""
import doctest

from registry.names import one_line


def test_one_line_docstring_examples_run_and_hold():
    # the example was in a plain docstring: its \n was a real line break and doctest could not even parse it
    runner = doctest.DocTestRunner()
    for test in doctest.DocTestFinder().find(one_line):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert (result.attempted, result.failed) == (2, 0)


def test_one_line_collapses_every_whitespace_run_and_trims_the_ends():
    assert one_line(" a  b\u00a0\u00a0c\r\n\t d ") == "a b c d"
